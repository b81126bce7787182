// The recorded runs' socket: the server's messages in the server's order and pacing rules.

import test from 'node:test';
import assert from 'node:assert/strict';

import { OfflineSocket, findRecording, RECORDING_ONLY } from '../../../static/js/offline_socket.js';
import { PLAIN, wireEvent } from './metas.mjs';

function recording(request, config, norms = {}) {
  const events = Array.from({ length: PLAIN.schedule.total }, (_, seq) => {
    const phase = seq < PLAIN.schedule.forward_events ? 'forward' : 'backward';
    return wireEvent(seq, phase, seq >= 16 ? 'h_l0' : 'logits', seq % 4, norms[seq] ?? 1, {});
  });
  return { request, meta: { ...PLAIN, config }, events, summary: { type: 'summary', loss: 1 } };
}

const A = recording({ preset: 'p' }, { preset: 'p', seq_len: 4, cell: 'rnn_tanh' });
const B = recording({ preset: 'p', seq_len: 5 }, { preset: 'p', seq_len: 5, cell: 'rnn_tanh' }, { 17: 'NaN' });
const LOADED = recording(null, null);

/** A socket over `recordings` and the messages it delivered (after the pending timers ran). */
function socketOf(recordings) {
  const got = [];
  const socket = new OfflineSocket({ recordings }, { onMessage: (m) => got.push(m), onClose: () => {} });
  return { socket, got };
}
const settle = () => new Promise((resolve) => setTimeout(resolve, 5));
const types = (got) => got.map((m) => (m.type === 'event' ? m.seq : m.type));

test('a start finds its recording: the exact request, else a full config agreeing field by field', () => {
  const recs = [A, B, LOADED];
  assert.equal(findRecording(recs, { config: { preset: 'p', seq_len: 5 } }), B);
  assert.equal(findRecording(recs, { config: { seq_len: 5, preset: 'p' } }), B);
  assert.equal(findRecording(recs, { config: { preset: 'p', seq_len: 4, cell: 'rnn_tanh' } }), A);
  assert.equal(findRecording(recs, { config: { preset: 'p', seq_len: 6 } }), null);
  assert.equal(findRecording(recs, { config: {}, source: 'loaded' }), LOADED);
  assert.equal(findRecording([A], { config: {} }), A);
  assert.equal(findRecording(recs, { config: A.request, source: 'trained' }), null);
  assert.equal(findRecording(recs, { source: 'model' }), null);
});

test('play at delay 0: meta, every event in order, summary, done', async () => {
  const { socket, got } = socketOf([A]);
  socket.start({ config: { preset: 'p' }, mode: 'play', delayMs: 0, breakpoints: [] });
  assert.deepEqual(got, [], 'nothing arrives inside start(), as with a real socket');
  await settle();
  assert.deepEqual(types(got), ['meta', ...Array.from({ length: 20 }, (_, i) => i), 'summary', 'done']);
  assert.ok(socket.connected);
});

test('step mode: one event per step; pause names the last event sent; play resumes', async () => {
  const { socket, got } = socketOf([A]);
  socket.start({ config: { preset: 'p' }, mode: 'step', delayMs: 0, breakpoints: [] });
  socket.step();   // asked before the meta has arrived: still after it
  await settle();
  assert.deepEqual(types(got), ['meta', 0]);
  socket.step();
  socket.pause();
  await settle();
  assert.deepEqual(got.at(-1), { type: 'paused', reason: 'pause', seq: 1, detail: 'paused by the client' });
  socket.play(0);
  await settle();
  assert.deepEqual(types(got).slice(-3), [19, 'summary', 'done']);
});

test('a breakpoint stops the stream at its first crossing, once per (kind, node)', async () => {
  const { socket, got } = socketOf([B]);
  socket.start({ config: { preset: 'p', seq_len: 5 }, mode: 'play', delayMs: 0, breakpoints: [{ on: 'nonfinite', value: null }] });
  await settle();
  assert.deepEqual(got.at(-1), { type: 'paused', reason: 'nonfinite', seq: 17, detail: 'breakpoint nonfinite at h_l0 t=1 (recorded run)' });
  socket.play(0);
  await settle();
  assert.equal(got.at(-1).type, 'done');
  assert.equal(got.filter((m) => m.type === 'paused').length, 1);
});

test('a run the page does not hold is an error saying it cannot compute; a new start drops the old run', async () => {
  const { socket, got } = socketOf([A]);
  socket.start({ config: { preset: 'other' }, mode: 'play', delayMs: 0, breakpoints: [] });
  await settle();
  assert.deepEqual(got, [{ type: 'error', detail: RECORDING_ONLY, field: null }]);
  got.length = 0;
  socket.start({ config: { preset: 'p' }, mode: 'play', delayMs: 5, breakpoints: [] });
  await settle();
  socket.start({ config: { preset: 'p' }, mode: 'step', delayMs: 0, breakpoints: [] });
  const before = got.length;
  await settle();
  assert.deepEqual(types(got.slice(before)), ['meta']);
  socket.close();
  assert.equal(socket.connected, false);
});
