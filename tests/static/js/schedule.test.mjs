// The schedule helpers: phase boundaries, blocks, segments, for a plain, a bidirectional 2-layer and an
// encoder–decoder run.

import test from 'node:test';
import assert from 'node:assert/strict';

import {
  EMPTY_SCHEDULE, scheduleOf, firstBackward, phaseBounds, phaseEdge, blockOf, phaseOf, segmentAt,
} from '../../../static/js/schedule.js';
import { PLAIN, BIDIRECTIONAL, SEQ2SEQ } from './metas.mjs';

test('a meta without a schedule (no run yet) has no events', () => {
  assert.equal(scheduleOf(null), EMPTY_SCHEDULE);
  assert.equal(scheduleOf(null).total, 0);
  assert.equal(blockOf(EMPTY_SCHEDULE, 0), null);
});

test('plain run: forward is h steps then logits and loss, backward the rest', () => {
  const s = scheduleOf(PLAIN);
  assert.equal(firstBackward(s), 12);
  assert.deepEqual(phaseBounds(s), { forward: [0, 11], backward: [12, 19] });
  assert.equal(phaseEdge(s, 'forward', 'start'), 0);
  assert.equal(phaseEdge(s, 'backward', 'end'), 19);
  assert.equal(blockOf(s, 3).kind, 'hidden');
  assert.equal(blockOf(s, 4).kind, 'outputs');
  assert.equal(blockOf(s, 20), null);
  assert.equal(segmentAt(s, 3), 'all');
  assert.equal(segmentAt(s, 4), null);
});

test('bidirectional 2-layer run: 4 h events a step', () => {
  const s = scheduleOf(BIDIRECTIONAL);
  assert.deepEqual(phaseBounds(s), { forward: [0, 17], backward: [18, 32] });
  assert.deepEqual(blockOf(s, 11), BIDIRECTIONAL.schedule.blocks[0]);
  assert.equal(blockOf(s, 21).phase, 'backward');
  assert.equal(blockOf(s, 21).kind, 'hidden');
});

test('encoder–decoder: the encoder emits nothing, so backward starts at 32 of 56', () => {
  const s = scheduleOf(SEQ2SEQ);
  assert.equal(firstBackward(s), 32);
  assert.equal(phaseEdge(s, 'backward', 'start'), 32);
  assert.equal(phaseEdge(s, 'forward', 'end'), 31);
  assert.equal(phaseOf(s, 31), 'forward');
  assert.equal(phaseOf(s, 32), 'backward');
  assert.equal(phaseOf(s, -1), 'forward');
  assert.equal(phaseOf(s, 56), null);
  assert.equal(blockOf(s, 7).segment, 'encoder');
  assert.equal(blockOf(s, 8).segment, 'decoder');
  assert.equal(blockOf(s, 47).segment, 'decoder');
  assert.equal(blockOf(s, 48).segment, 'encoder');
  assert.equal(segmentAt(s, 7), 'encoder');
  assert.equal(segmentAt(s, 8), 'decoder');
  assert.equal(segmentAt(s, 16), null);
});

test('every schedule\'s blocks tile [0, total) in order, forward first', () => {
  for (const meta of [PLAIN, BIDIRECTIONAL, SEQ2SEQ]) {
    const s = scheduleOf(meta);
    let seq = 0;
    for (const b of s.blocks) {
      assert.equal(b.start, seq);
      assert.equal(phaseOf(s, b.start), b.phase);
      seq = b.stop;
    }
    assert.equal(seq, s.total);
  }
});
