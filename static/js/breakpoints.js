// The breakpoint rule, the same as the server's pacing (unrolled.server.streaming.breakpoint_hit and its
// once-per-node memory; see docs/DESIGN.md, "Socket protocol"), so local replay stops where the live
// stream would:
//   * "nonfinite" looks at every event: its norm or any of its values' batch norms is NaN or ±∞;
//   * "grad_below" / "grad_above" look at backward events of hidden (h_*) nodes whose norm is not NaN
//     (∞ is above every threshold), strictly below / above the value;
//   * an event meets the first of them that applies, and the stream stops there only if that
//     breakpoint has not yet stopped at an event of the same node in this run.
// Breakpoints are a list [{on, value}]; the permalink holds them as view settings.

import { num } from './format.js';

/** True when the event's norm, or any of its values' norms, is NaN or ±∞. */
function hasNonfinite(ev) {
  if (!Number.isFinite(num(ev.norm))) return true;
  return Object.values(ev.norms ?? {}).some((v) => !Number.isFinite(num(v)));
}

/** The kind ("nonfinite" | "grad_below" | "grad_above") of the first breakpoint `ev` meets, or null. */
function breakpointHit(ev, breaks) {
  const find = (on) => breaks.find((b) => b.on === on);
  if (find('nonfinite') && hasNonfinite(ev)) return 'nonfinite';
  const norm = num(ev.norm);
  if (ev.phase !== 'backward' || !ev.node.startsWith('h_') || Number.isNaN(norm)) return null;
  const below = find('grad_below');
  if (below && below.value !== null && norm < below.value) return 'grad_below';
  const above = find('grad_above');
  if (above && above.value !== null && norm > above.value) return 'grad_above';
  return null;
}

/**
 * Judge one event against the breakpoints, given which (kind, node) pairs already stopped the run
 * (`fired`, a Set of "kind|node" keys, left untouched). Returns {stop: kind or null, fired}, `fired`
 * being a new Set when the event stops the run.
 */
export function judgeEvent(fired, ev, breaks) {
  const kind = breakpointHit(ev, breaks);
  const key = `${kind}|${ev.node}`;
  if (kind === null || fired.has(key)) return { stop: null, fired };
  return { stop: kind, fired: new Set(fired).add(key) };
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
