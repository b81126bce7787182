// Socket messages applied in batches, once per animation frame: a delay-0 stream of a long run
// delivers hundreds of messages between two frames, and applying them as they arrive interleaved
// the page's work with the socket's. The batcher keeps their order; `flush()` applies what is
// queued at once (before a close is handled), `clear()` drops it (a new run: the old run's late
// messages must never mix in).

/** The default scheduler: the next animation frame, or a timer when frames do not come (a hidden tab);
 * fn(now) gets the frame's timestamp, or undefined from the timer. */
export function nextFrame(fn, fallbackMs = 100) {
  let done = false;
  const once = (now) => { if (!done) { done = true; fn(now); } };
  if (typeof requestAnimationFrame === 'function') requestAnimationFrame(once);
  setTimeout(once, fallbackMs);
}

/** Queues messages and hands them, in order, to `apply(msg)` once per scheduled tick. */
export class EventBatcher {
  /** apply(msg) receives each message; schedule(fn) runs fn later (nextFrame by default). */
  constructor(apply, schedule = nextFrame) {
    this.apply = apply;
    this.schedule = schedule;
    this.queue = [];
    this.generation = 0;   // a scheduled flush of a cleared queue does nothing
    this.scheduled = false;
  }

  /** Queue one message; the first of a batch schedules the flush. */
  push(msg) {
    this.queue.push(msg);
    if (this.scheduled) return;
    this.scheduled = true;
    const generation = this.generation;
    this.schedule(() => { if (generation === this.generation) this.flush(); });
  }

  /** Apply every queued message now, in order (a message applied may queue more: they wait). */
  flush() {
    this.generation += 1;
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    for (const msg of batch) this.apply(msg);
    return batch.length;
  }

  /** Drop every queued message (nothing of them is applied). */
  clear() {
    this.generation += 1;
    this.scheduled = false;
    this.queue = [];
  }

  /** How many messages wait. */
  get pending() { return this.queue.length; }
}
