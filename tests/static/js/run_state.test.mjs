// The run reducer: following the live edge, jumps by the schedule, the server's pauses, local replay.

import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { initialRunState, runReducer, isPlaying, canStepForward, phaseAtCursor } from '../../../static/js/run_state.js';
import { firedUpTo } from '../../../static/js/breakpoints.js';
import { PLAIN, SEQ2SEQ } from './metas.mjs';

/** Apply actions in order, checking that no state is ever modified in place. */
function run(state, ...actions) {
  let s = state;
  for (const a of actions) {
    const frozen = Object.freeze({ ...s });
    s = runReducer(frozen, a);
  }
  return s;
}

const events = (from, to) => Array.from({ length: to - from }, (_, i) => ({ type: 'event', seq: from + i }));
const streamed = (meta, n) => run(initialRunState(), { type: 'start', mode: 'play' }, { type: 'meta', meta }, ...events(0, n));

test('the cursor follows each new event while following the live edge', () => {
  const s = streamed(SEQ2SEQ, 10);
  assert.equal(s.cursor, 9);
  assert.equal(s.received, 10);
  assert.ok(s.followLive && isPlaying(s));
  assert.equal(phaseAtCursor(s), 'forward');
});

test('a whole encoder–decoder stream; PageDown lands on the first backward event (32, not 48)', () => {
  let s = run(streamed(SEQ2SEQ, 56), { type: 'done' });
  assert.equal(s.status, 'done');
  assert.equal(s.cursor, 55);
  s = run(s, { type: 'jumpPhase', phase: 'backward', edge: 'start' });
  assert.equal(s.cursor, 32);
  assert.equal(phaseAtCursor(s), 'backward');
  assert.equal(s.followLive, false);
  s = run(s, { type: 'jumpPhase', phase: 'forward', edge: 'end' });
  assert.equal(s.cursor, 31);
  assert.equal(phaseAtCursor(s), 'forward');
  assert.equal(run(s, { type: 'jumpPhase', phase: 'forward', edge: 'start' }).cursor, 0);
});

test('stepping back stops following: new events no longer move the cursor', () => {
  let s = run(streamed(PLAIN, 5), { type: 'stepBack' });
  assert.deepEqual(s.request, { type: 'pause' });
  assert.equal(s.cursor, 3);
  assert.equal(s.followLive, false);
  s = run(s, ...events(5, 8));
  assert.equal(s.cursor, 3);
  assert.equal(s.received, 8);
});

test('a jump past the received events asks the server for them and pauses on arrival', () => {
  let s = run(streamed(SEQ2SEQ, 5), { type: 'stepBack' });
  s = run(s, { type: 'jumpPhase', phase: 'backward', edge: 'start' });
  assert.deepEqual(s.request, { type: 'play', delay_ms: 0 });
  assert.equal(s.runTo, 32);
  s = run(s, ...events(5, 32));
  assert.equal(s.request, null);
  s = run(s, { type: 'event', seq: 32 });
  assert.deepEqual(s.request, { type: 'pause' });
  assert.equal(s.cursor, 32);
  assert.ok(!s.serverPlaying);
});

test('a breakpoint stop from the server shows its event and pauses', () => {
  const s = run(streamed(PLAIN, 18), { type: 'paused', reason: 'grad_below', seq: 17, detail: 'x' });
  assert.equal(s.status, 'paused');
  assert.equal(s.cursor, 17);
  assert.deepEqual(s.paused, { reason: 'grad_below', seq: 17, detail: 'x' });
  const resumed = run(s, { type: 'togglePlay', delayMs: 50 });
  assert.deepEqual(resumed.request, { type: 'play', delay_ms: 50 });
  assert.equal(resumed.status, 'running');
  assert.equal(resumed.paused, null);
});

test('step forward replays a received event, else asks the server for one more', () => {
  let s = run(streamed(PLAIN, 4), { type: 'stepBack' }, { type: 'stepForward' });
  assert.equal(s.cursor, 3);
  assert.ok(canStepForward(s));
  s = run(s, { type: 'stepForward' });
  assert.deepEqual(s.request, { type: 'step' });
  assert.ok(s.followLive);
  assert.ok(run(initialRunState(), { type: 'stepForward' }).restart);
});

test('local replay stops at breakpoints by the server\'s rule, then plays on to the live edge', () => {
  const cases = JSON.parse(readFileSync(new URL('../../fixtures/breakpoints.json', import.meta.url), 'utf8'));
  const c = cases.find((x) => x.stops_at.length >= 2);
  const total = c.events.length;
  const meta = { schedule: { total, forward_events: c.events.findIndex((e) => e.phase === 'backward'), segments: [], blocks: [] } };
  const breaks = Object.entries(c.break).map(([on, value]) => ({ on, value }));
  let s = run(streamed(meta, total), { type: 'done' }, { type: 'togglePlay', delayMs: 0 });
  assert.ok(s.replaying);
  assert.equal(s.cursor, -1);
  const stops = [];
  for (let guard = 0; guard < 10 * total && (s.replaying || s.cursor < total - 1); guard += 1) {
    if (!s.replaying) {
      s = run(s, { type: 'togglePlay', delayMs: 0, fired: firedUpTo(c.events, breaks, s.cursor) });
      continue;
    }
    const before = s.paused;
    s = run(s, { type: 'replayTick', event: c.events[s.cursor + 1], breaks, delayMs: 0 });
    if (s.paused !== before) stops.push(s.cursor);   // this tick stopped at a breakpoint
  }
  assert.deepEqual(stops, c.stops_at);
  assert.equal(s.cursor, total - 1);
  assert.equal(s.paused.detail, '(replayed locally)');
});

test('a replay that reaches the live edge of an unfinished stream hands over to the server', () => {
  let s = run(streamed(PLAIN, 6), { type: 'paused', reason: 'pause', seq: 5 }, { type: 'stepBack' });
  s = run(s, { type: 'togglePlay', delayMs: 30 });
  assert.ok(s.replaying);
  s = run(s, { type: 'replayTick', event: { seq: 5, phase: 'forward', node: 'h_l0', norm: 1 }, breaks: [], delayMs: 30 });
  assert.equal(s.cursor, 5);
  s = run(s, { type: 'replayTick', breaks: [], delayMs: 30 });
  assert.ok(!s.replaying && s.serverPlaying);
  assert.deepEqual(s.request, { type: 'play', delay_ms: 30 });
});

test('a new meta forgets the last run; a closed socket means the next play restarts', () => {
  let s = run(streamed(PLAIN, 20), { type: 'meta', meta: SEQ2SEQ });
  assert.equal(s.received, 0);
  assert.equal(s.cursor, -1);
  assert.equal(s.schedule.total, 56);
  s = run(s, { type: 'closed' });
  assert.ok(run(s, { type: 'togglePlay', delayMs: 0 }).restart);
  assert.throws(() => runReducer(s, { type: 'nonsense' }));
});
