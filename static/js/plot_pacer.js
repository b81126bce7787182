// When the plots may be redrawn (pure: times are handed in). A plot of a T = 1000 run costs tens of
// milliseconds or more per draw, so drawing it on a fixed throttle while events stream in, or on
// every cursor move while the user scrubs, took most of each frame. Instead:
//   - while the user moves the cursor (step, scrub, jump) no plot is drawn: they wait until the
//     cursor has rested for `restMs`;
//   - while events stream in (or replay), plots are drawn at most every max(throttleMs,
//     costFactor × the last draw's duration), so they never take more than ~1/costFactor of the time.

export const PLOT_PACING = { restMs: 150, throttleMs: 150, costFactor: 4 };

/** Decides when the plots may be drawn next. */
export class PlotPacer {
  /** opts: {restMs, throttleMs, costFactor} (PLOT_PACING by default). */
  constructor(opts = PLOT_PACING) {
    this.opts = opts;
    this.lastUserMove = -Infinity;   // when the user last moved the cursor (ms)
    this.lastDrawEnd = -Infinity;    // when the last draw ended (ms)
    this.lastCost = 0;               // how long it took (ms)
  }

  /** The cursor moved at `now`; byUser: stepped, scrubbed or jumped (not following the stream). */
  moved(now, byUser) {
    if (byUser) this.lastUserMove = now;
  }

  /** The plots were drawn from `start` to `end` (ms). */
  drew(start, end) {
    this.lastCost = Math.max(0, end - start);
    this.lastDrawEnd = end;
  }

  /** Milliseconds to wait before the plots may be drawn at `now` (0: now). */
  wait(now) {
    const { restMs, throttleMs, costFactor } = this.opts;
    const resting = now - this.lastUserMove;
    if (resting < restMs) return restMs - resting;
    const gap = Math.max(throttleMs, costFactor * this.lastCost);
    return Math.max(0, gap - (now - this.lastDrawEnd));
  }
}
