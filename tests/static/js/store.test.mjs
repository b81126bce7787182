// The event store: phase bounds from meta.schedule (the encoder–decoder's jump bug), decoding and indexing.

import test from 'node:test';
import assert from 'node:assert/strict';

import { EventStore } from '../../../static/js/store.js';
import { phaseBounds } from '../../../static/js/schedule.js';
import { PLAIN, BIDIRECTIONAL, SEQ2SEQ, wireEvent } from './metas.mjs';

for (const [name, meta] of Object.entries({ PLAIN, BIDIRECTIONAL, SEQ2SEQ })) {
  test(`${name}: the store's total and phase bounds are its schedule's`, () => {
    const store = new EventStore();
    store.reset(meta);
    const fwd = meta.schedule.forward_events;
    assert.equal(store.total, meta.schedule.total);
    assert.deepEqual(phaseBounds(store.schedule), { forward: [0, fwd - 1], backward: [fwd, meta.schedule.total - 1] });
  });
}

test('seq2seq: "start of backward" is event 32, not 48, and "end of forward" is a forward event', () => {
  const store = new EventStore();
  store.reset(SEQ2SEQ);
  assert.equal(phaseBounds(store.schedule).backward[0], 32);
  assert.equal(phaseBounds(store.schedule).forward[1], 31);
  assert.equal(store.phaseAt(31), 'forward');
  assert.equal(store.phaseAt(32), 'backward');
});

test('before any run the store has no events and empty bounds', () => {
  const store = new EventStore();
  assert.equal(store.total, 0);
  assert.equal(store.count, 0);
  assert.equal(store.phaseAt(-1), 'forward');
});

test('events are decoded once (NaN/Infinity strings) and indexed by seq, key and node', () => {
  const store = new EventStore();
  store.reset(PLAIN);
  store.add(wireEvent(0, 'forward', 'h_l0', 0, 1.5, { h: [0.1, 'NaN', 'Infinity'] }));
  store.add(wireEvent(1, 'forward', 'h_l0', 1, 'NaN', { h: [0, 0, 0] }));
  store.add(wireEvent(16, 'backward', 'h_l0', 3, 0.02, { dh: [1, 2, 3] }));
  assert.equal(store.count, 17);
  assert.ok(Number.isNaN(store.get(0).values.h[1]));
  assert.equal(store.get(0).values.h[2], Infinity);
  assert.ok(Number.isNaN(store.get(1).norm));
  assert.equal(store.find('forward', 'h_l0', 1).seq, 1);
  assert.equal(store.find('forward', 'h_l0', 1, 0), undefined);       // not yet shown at cursor 0
  assert.deepEqual(store.normSeries('forward', 'h_l0', 0), [1.5, null, null, null]);
  assert.deepEqual(store.valueMatrix('backward', 'h_l0', 'dh')[3], [1, 2, 3]);
  assert.equal(store.forwardScale(), 1.5 / Math.sqrt(3));
  assert.deepEqual(store.backwardDomain(), [0.02 / 100, 0.02]);
});

test('a new run forgets the last one and gets a new run id', () => {
  const store = new EventStore();
  store.reset(PLAIN);
  store.add(wireEvent(0, 'forward', 'h_l0', 0, 1));
  const id = store.runId;
  store.reset(SEQ2SEQ);
  assert.equal(store.count, 0);
  assert.notEqual(store.runId, id);
  assert.equal(store.find('forward', 'h_l0', 0), undefined);
});
