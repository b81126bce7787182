// Pacing for a lecture (issue 20): how long to wait between two streamed events so that a whole run
// plays in about two seconds, and what a run's progress bar shows. Pure: no DOM.
//
//   pacedDelay(200)          // → 10 (ms): 200 events in ~2 s
//   progressOf(120, 400)     // → {fraction: 0.3, text: "120 / 400 events"}

/** A whole run's target duration at the default speed (ms), and the slowest default delay. */
export const PACE = { targetMs: 2000, maxDelayMs: 40 };

/**
 * The default delay (ms, a multiple of 1 down to 0) between two events of a run of `total` events:
 * the run plays in ~PACE.targetMs, never slower than PACE.maxDelayMs per event. A run too long for
 * that streams at full speed (0), with a progress bar and a cancel button.
 */
export function pacedDelay(total) {
  if (!(total > 0)) return PACE.maxDelayMs;
  return Math.min(PACE.maxDelayMs, Math.floor(PACE.targetMs / total));
}

/** The progress bar of a run: {fraction, text} of `received` out of `total` events. */
export function progressOf(received, total) {
  const fraction = total > 0 ? Math.min(1, Math.max(0, received / total)) : 0;
  return { fraction, text: `${received} / ${total} events` };
}
