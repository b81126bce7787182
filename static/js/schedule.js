// The event schedule of a run, as the engine publishes it in the stream's meta (meta.schedule; see
// docs/DESIGN.md, "Event schedule"): {total, forward_events, segments: [{name, start, stop, emits}],
// blocks: [{phase, kind, segment, start, stop}]}. The page never counts events itself: every phase
// boundary, jump and "which block is this seq in" question is answered from it here.

/** The schedule of no run (before the first meta): no events at all. */
export const EMPTY_SCHEDULE = Object.freeze({ total: 0, forward_events: 0, segments: [], blocks: [] });

/** The schedule a meta message carries (EMPTY_SCHEDULE for null or a meta without one). */
export function scheduleOf(meta) {
  return meta?.schedule ?? EMPTY_SCHEDULE;
}

/** The seq of the first backward event (= the number of forward events). */
export function firstBackward(schedule) {
  return schedule.forward_events;
}

/** First and last seq of each phase: {forward: [first, last], backward: [first, last]}. */
export function phaseBounds(schedule) {
  const fwd = schedule.forward_events;
  return { forward: [0, fwd - 1], backward: [fwd, schedule.total - 1] };
}

/** The seq a phase jump lands on: edge "start" or "end" of phase "forward" or "backward". */
export function phaseEdge(schedule, phase, edge) {
  const [first, last] = phaseBounds(schedule)[phase];
  return edge === 'start' ? first : last;
}

/** The block {phase, kind, segment, start, stop} that holds event `seq`, or null outside the stream. */
export function blockOf(schedule, seq) {
  return schedule.blocks.find((b) => seq >= b.start && seq < b.stop) ?? null;
}

/** The phase of event `seq` by the schedule ("forward" before the first event, null past the end). */
export function phaseOf(schedule, seq) {
  return seq < 0 ? 'forward' : blockOf(schedule, seq)?.phase ?? null;
}

/** The name of the segment that owns time step t, or null when no segment does. */
export function segmentAt(schedule, t) {
  return schedule.segments.find((s) => t >= s.start && t < s.stop)?.name ?? null;
}
