// The breakpoint rule, the same as the server's pacing (unrolled.server.sockets.breakpoints; see
// docs/DESIGN.md, "Socket protocol"), so local replay stops where the live stream would:
//   * "nonfinite" is crossed by an event of either phase and any node whose norm is NaN or ±∞;
//   * "grad_below" / "grad_above" (value v) by a backward event of an h-node (h_*) whose norm is
//     strictly below / above v (plain comparisons: NaN crosses neither, ∞ crosses grad_above) and
//     that is not marked `padding` (a step that is padding for every batch element);
//   * each breakpoint stops at the first crossing event of each node, once per node per run; at an
//     event where several cross for the first time there is one stop, named by the first in the
//     order nonfinite, grad_below, grad_above, and all of them count as having stopped there.
// Breakpoints are a list [{on, value}]; the permalink holds them as view settings. The cases both
// implementations are tested against: tests/fixtures/breakpoints.json.

import { num } from './format.js';

/** The breakpoint kinds, in the order that names a stop where several cross at once. */
export const KINDS = ['nonfinite', 'grad_below', 'grad_above'];

/** True when the event crosses breakpoint `on` at `value`. */
function crosses(on, value, ev) {
  const norm = num(ev.norm);
  if (on === 'nonfinite') return !Number.isFinite(norm);
  if (ev.phase !== 'backward' || !ev.node.startsWith('h_') || value === null || value === undefined || ev.padding) {
    return false;
  }
  return on === 'grad_below' ? norm < value : norm > value;
}

/**
 * Judge one event against the breakpoints, given which (kind, node) pairs already stopped the run
 * (`fired`, a Set of "kind|node" keys, left untouched). Returns {stop: kind or null, fired}, `fired`
 * being a new Set when the event stops the run.
 */
export function judgeEvent(fired, ev, breaks) {
  const first = KINDS.filter((on) => breaks.some((b) => b.on === on && crosses(on, b.value, ev))
    && !fired.has(`${on}|${ev.node}`));
  if (!first.length) return { stop: null, fired };
  const next = new Set(fired);
  for (const on of first) next.add(`${on}|${ev.node}`);
  return { stop: first[0], fired: next };
}

/** The (kind, node) pairs that have stopped a run whose events are `events` (by seq) up to `lastSeq`. */
export function firedUpTo(events, breaks, lastSeq) {
  let fired = new Set();
  for (let seq = 0; seq <= lastSeq && seq < events.length; seq += 1) {
    if (events[seq]) fired = judgeEvent(fired, events[seq], breaks).fired;
  }
  return fired;
}

/** The breakpoints held by view settings {break_nan, break_below, break_above}, as [{on, value}]. */
export function breaksOfView(view) {
  const breaks = [];
  if (view.break_nan) breaks.push({ on: 'nonfinite', value: null });
  if (Number.isFinite(view.break_below)) breaks.push({ on: 'grad_below', value: view.break_below });
  if (Number.isFinite(view.break_above)) breaks.push({ on: 'grad_above', value: view.break_above });
  return breaks;
}
