// The words and switches around the graph (static/js/page_notes.js) and the cell description
// helpers (static/js/cell_spec.js): pure functions of a run's meta.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { patternNotes, teacherComparable, exportButtons, statusLine, noticeBanner } from '../../../static/js/page_notes.js';
import { extraStates, gatesOf, isUnitGate } from '../../../static/js/cell_spec.js';

const plain = { config: { unroll: 'teacher_forced', recurrent_gradient: true }, schedule: { segments: [{ name: 'all', start: 0, stop: 5 }] } };
const halves = [{ name: 'encoder', start: 0, stop: 8 }, { name: 'decoder', start: 8, stop: 16 }];
const seq2seq = { config: { unroll: 'free_running', recurrent_gradient: true }, schedule: { segments: halves }, segments: halves };

test('a plain run has no pattern note; the encoder–decoder names its context step and its feedback', () => {
  assert.deepEqual(patternNotes(plain), []);
  const notes = patternNotes(seq2seq);
  assert.equal(notes.length, 2);
  assert.match(notes[0], /decoder's ŷ\(t\) is fed back/);
  assert.match(notes[1], /last state \(t=7\)/);
  assert.deepEqual(patternNotes({ config: { recurrent_gradient: false } }), ['Elman context units: no gradient through W (dashed)']);
});

test('only a generation run from a config has a teacher-forced twin', () => {
  assert.equal(teacherComparable(plain), false);
  assert.equal(teacherComparable(seq2seq), true);
  assert.equal(teacherComparable({ ...seq2seq, config: null }), false);
  assert.equal(teacherComparable(null), false);
});

test('exports: an upload has no permalink nor .npz, a trained network none, an encoder–decoder both', () => {
  const off = (b) => [b.link.disabled, b.json.disabled, b.npz.disabled];
  assert.deepEqual(off(exportButtons({ source: undefined, loaded: false })), [false, false, false]);
  assert.deepEqual(off(exportButtons({ source: 'model', loaded: false })), [true, false, true]);
  assert.deepEqual(off(exportButtons({ source: 'trained', loaded: false })), [false, true, true]);
  assert.deepEqual(off(exportButtons({ source: undefined, loaded: true })), [false, true, true]);
  const s2s = exportButtons({ source: undefined, loaded: false });
  assert.deepEqual(off(s2s), [false, false, false]);
  assert.equal(s2s.npz.why, undefined);
});

test('the status line says where the cursor is and what has arrived', () => {
  const store = { meta: {}, total: 25, count: 10, summary: null, get: (seq) => (seq === 4 ? { phase: 'forward' } : undefined) };
  assert.equal(statusLine({ meta: null }, -1, 'idle'), 'press Run');
  assert.equal(statusLine({ meta: null }, -1, 'error'), 'error');
  assert.equal(statusLine(store, -1, 'running'), 'ready · 25 events · 10 received');
  assert.equal(statusLine(store, 4, 'running'), 'forward · event 5 of 25 · 10 received');
  assert.equal(statusLine({ ...store, count: 25, summary: { loss: 1.5 } }, 4, 'done'), 'forward · event 5 of 25 · done · L = 1.5');
});

test('the cell description: states beside h, gates, σ gates on a 0…1 scale', () => {
  const lstm = { cell_spec: { name: 'lstm', states: ['h', 'c'], gates: [{ name: 'f', title: 'forget gate', range: [0, 1] }, { name: 'g', title: 'candidate', range: [-1, 1] }] } };
  assert.deepEqual(extraStates(lstm), ['c']);
  assert.deepEqual(gatesOf(lstm).map((g) => g.name), ['f', 'g']);
  assert.equal(isUnitGate(lstm, 'f'), true);
  assert.equal(isUnitGate(lstm, 'g'), false);
  assert.equal(isUnitGate(lstm, 'c'), false);
  assert.deepEqual(extraStates({ cell: 'rnn_tanh' }), []);
  assert.deepEqual(gatesOf({ cell: 'rnn_tanh' }), []);
});

test('the run\'s notices as banners: a breakpoint stop names its event (1-based) and reason', () => {
  assert.deepEqual(noticeBanner('paused', { reason: 'grad_below', seq: 17, detail: '(replayed locally)' }), {
    text: 'Paused at event 18: the gradient norm fell below the threshold. (replayed locally)', kind: 'paused',
  });
  assert.equal(noticeBanner('paused', { reason: 'nonfinite', seq: 0 }).text, 'Paused at event 1: a NaN/∞ appeared. ');
  assert.equal(noticeBanner('closed', null).kind, 'error');
  assert.equal(noticeBanner('clear', null), null);
});
