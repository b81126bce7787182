// The breakpoint rule against tests/fixtures/breakpoints.json: the seqs where the server's pacing stops.

import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { judgeEvent, firedUpTo, breaksOfView } from '../../../static/js/breakpoints.js';

/** Every seq at which a run of these events (in order) stops for these breakpoints. */
function stopsAt(events, breaks) {
  let fired = new Set();
  const stops = [];
  for (const ev of events) {
    const judged = judgeEvent(fired, ev, breaks);
    fired = judged.fired;
    if (judged.stop) stops.push(ev.seq);
  }
  return stops;
}

/** The kind of breakpoint an event meets on its own (nothing fired yet), or null. */
const breakpointHit = (ev, breaks) => judgeEvent(new Set(), ev, breaks).stop;

const CASES = JSON.parse(readFileSync(new URL('../../fixtures/breakpoints.json', import.meta.url), 'utf8'));

/** A fixture case's breakpoints ({kind: value}, as the server keeps them) as the page's list [{on, value}]. */
const breaksOf = (c) => Object.entries(c.break).map(([on, value]) => ({ on, value }));

test('the fixture has cases of every kind', () => {
  assert.ok(CASES.length >= 8);
  assert.deepEqual(new Set(CASES.flatMap((c) => Object.keys(c.break))), new Set(['nonfinite', 'grad_below', 'grad_above']));
});

for (const [i, c] of CASES.entries()) {
  test(`fixture case ${i}${c.name ? `: ${c.name}` : ''}`, () => {
    assert.deepEqual(stopsAt(c.events, breaksOf(c)), c.stops_at);
  });
}

const ev = (phase, node, norm, norms = {}) => ({ seq: 0, phase, node, t: 0, norm, norms });

test('"nonfinite" is judged on the event norm alone, as on the server', () => {
  const bps = [{ on: 'nonfinite', value: null }];
  assert.equal(breakpointHit(ev('forward', 'h_l0', NaN), bps), 'nonfinite');
  assert.equal(breakpointHit(ev('forward', 'h_l0', 1, { h: 1, c: NaN }), bps), null);
});

test('with several breakpoints one stop names the first; all that crossed count as stopped there', () => {
  const bps = [{ on: 'grad_above', value: 5 }, { on: 'nonfinite', value: null }];
  let fired = new Set();
  let judged = judgeEvent(fired, ev('backward', 'h_l0', Infinity), bps);
  assert.equal(judged.stop, 'nonfinite');            // rule order, not list order
  assert.equal(fired.size, 0);                       // the caller's set is left untouched
  fired = judged.fired;
  // ∞ crossed grad_above too: neither stops again at this node
  assert.equal(judgeEvent(fired, ev('backward', 'h_l0', Infinity), bps).stop, null);
  assert.equal(judgeEvent(fired, ev('backward', 'h_l0', 9), bps).stop, null);
  // another node stops on its own
  assert.equal(judgeEvent(fired, ev('backward', 'h_l1', 9), bps).stop, 'grad_above');
});

test('replay from a cursor remembers the stops at or before it', () => {
  const c = CASES.find((x) => x.stops_at.length >= 2);
  const [first, second] = c.stops_at;
  const bps = breaksOf(c);
  let fired = firedUpTo(c.events, bps, first);       // paused at the first stop: play goes on to the next
  const seen = [];
  for (const e of c.events.slice(first + 1)) {
    const judged = judgeEvent(fired, e, bps);
    fired = judged.fired;
    if (judged.stop) seen.push(e.seq);
  }
  assert.equal(seen[0], second);
  assert.deepEqual(firedUpTo(c.events, bps, first - 1).size, 0);
});

test('view settings become breakpoints (a missing threshold is no breakpoint)', () => {
  assert.deepEqual(breaksOfView({ break_nan: true, break_below: 0.001, break_above: null }),
    [{ on: 'nonfinite', value: null }, { on: 'grad_below', value: 0.001 }]);
  assert.deepEqual(breaksOfView({ break_nan: false, break_below: null, break_above: 1e3 }), [{ on: 'grad_above', value: 1e3 }]);
  assert.deepEqual(breaksOfView({}), []);
});
