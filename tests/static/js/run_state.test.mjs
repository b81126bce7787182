// The run reducer: following the live edge, jumps by the schedule, the server's pauses, local replay.

import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { initialRunState, runReducer, isPlaying, canStepForward } from '../../../static/js/run_state.js';
import { phaseOf } from '../../../static/js/schedule.js';
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
  assert.ok(s.cursorFollowsStream && isPlaying(s));
  assert.equal(phaseOf(s.schedule, s.cursor), 'forward');
});

test('a whole encoder–decoder stream; PageDown lands on the first backward event (32, not 48)', () => {
  let s = run(streamed(SEQ2SEQ, 56), { type: 'done' });
  assert.equal(s.status, 'done');
  assert.equal(s.cursor, 55);
  s = run(s, { type: 'jumpPhase', phase: 'backward', edge: 'start' });
  assert.equal(s.cursor, 32);
  assert.equal(phaseOf(s.schedule, s.cursor), 'backward');
  assert.equal(s.cursorFollowsStream, false);
  s = run(s, { type: 'jumpPhase', phase: 'forward', edge: 'end' });
  assert.equal(s.cursor, 31);
  assert.equal(phaseOf(s.schedule, s.cursor), 'forward');
  assert.equal(run(s, { type: 'jumpPhase', phase: 'forward', edge: 'start' }).cursor, 0);
});

test('stepping back stops following: new events no longer move the cursor', () => {
  let s = run(streamed(PLAIN, 5), { type: 'stepBack' });
  assert.deepEqual(s.request, { type: 'pause' });
  assert.equal(s.cursor, 3);
  assert.equal(s.cursorFollowsStream, false);
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

test("the server's acknowledgement of a pause names its last event until the stream plays again", () => {
  let s = run(streamed(PLAIN, 5), { type: 'togglePlay', delayMs: 0 });
  assert.deepEqual(s.request, { type: 'pause' });
  assert.equal(s.serverPausedAt, null);               // asked for, not yet acknowledged
  s = run(s, { type: 'event', seq: 5 }, { type: 'paused', reason: 'pause', seq: 5 });
  assert.equal(s.serverPausedAt, 5);
  assert.equal(s.received, 6);
  assert.equal(run(s, { type: 'stepBack' }, { type: 'togglePlay', delayMs: 0 }).serverPausedAt, 5);   // a local replay
  assert.equal(run(s, { type: 'togglePlay', delayMs: 0 }).serverPausedAt, null);                    // the server plays on
  assert.equal(run(s, { type: 'start', mode: 'play' }).serverPausedAt, null);
});

test('step forward replays a received event, else asks the server for one more', () => {
  let s = run(streamed(PLAIN, 4), { type: 'stepBack' }, { type: 'stepForward' });
  assert.equal(s.cursor, 3);
  assert.ok(canStepForward(s));
  s = run(s, { type: 'stepForward' });
  assert.deepEqual(s.request, { type: 'step' });
  assert.ok(s.cursorFollowsStream);
  assert.equal(run(initialRunState(), { type: 'stepForward' }).restart, 'step');
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
  assert.equal(run(s, { type: 'togglePlay', delayMs: 0 }).restart, 'play');
  assert.throws(() => runReducer(s, { type: 'nonsense' }));
});

test('a stepping run asks for its first event; a playing one does not; both clear the banner', () => {
  const stepping = run(initialRunState(), { type: 'start', mode: 'step' });
  assert.deepEqual(stepping.request, { type: 'step' });
  assert.equal(stepping.notice, 'clear');
  assert.ok(!isPlaying(stepping) && stepping.connected);
  const playing = run(initialRunState(), { type: 'start', mode: 'play' });
  assert.equal(playing.request, null);
  assert.ok(playing.serverPlaying);
});

test('what the last action asked for is never asked again by the next one', () => {
  let s = run(streamed(PLAIN, 5), { type: 'stepBack' });
  assert.deepEqual(s.request, { type: 'pause' });
  s = run(s, { type: 'event', seq: 5 });
  assert.equal(s.request, null);
  s = run(initialRunState(), { type: 'togglePlay', delayMs: 0 });
  assert.equal(s.restart, 'play');
  assert.equal(run(s, { type: 'start', mode: 'play' }).restart, null);
});

test('the banner: a breakpoint stop says so, playing on clears it, a pause request leaves it', () => {
  let s = run(streamed(PLAIN, 18), { type: 'paused', reason: 'grad_above', seq: 17, detail: '' });
  assert.equal(s.notice, 'paused');
  s = run(s, { type: 'stepBack' });
  assert.equal(s.notice, null);
  assert.equal(s.status, 'paused');
  assert.equal(run(s, { type: 'togglePlay', delayMs: 0 }).notice, 'clear');
  s = run(streamed(PLAIN, 3), { type: 'paused', reason: 'pause', seq: 2 });
  assert.equal(s.notice, null);
  assert.equal(s.status, 'running');
  assert.equal(s.paused, null);
  assert.ok(!isPlaying(s));
});

test('a socket that closes mid-run says so; after done or an error it closes quietly', () => {
  assert.equal(run(streamed(PLAIN, 3), { type: 'closed' }).notice, 'closed');
  assert.equal(run(streamed(PLAIN, 20), { type: 'done' }, { type: 'closed' }).notice, null);
  assert.equal(run(streamed(PLAIN, 3), { type: 'error' }, { type: 'closed' }).notice, null);
  assert.equal(run(initialRunState(), { type: 'start', mode: 'play' }, { type: 'closed' }).notice, null);
  const s = run(streamed(PLAIN, 20), { type: 'done' }, { type: 'closed' });
  assert.ok(!canStepForward(s));
  assert.equal(run(s, { type: 'togglePlay', delayMs: 0 }).restart, null);   // a finished run replays locally
});

test('a new speed reaches a playing server at once and nothing else', () => {
  assert.deepEqual(run(streamed(PLAIN, 3), { type: 'setDelay', delayMs: 80 }).request, { type: 'play', delay_ms: 80 });
  assert.equal(run(streamed(PLAIN, 3), { type: 'stepBack' }, { type: 'setDelay', delayMs: 80 }).request, null);
});
