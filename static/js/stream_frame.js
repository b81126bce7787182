// What a page frame may skip while a run streams faster than frames (issue 17). The events fly by either way,
// so until the last one has arrived the page draws only what follows the cursor (graph, equation, controls):
// the plots (hundreds of milliseconds each for T = 1000) and the graph's edge clip (a forced layout plus a
// bounding box per node) wait for the stream's end. Pure: no DOM.

/**
 * Whether the server is streaming faster than `frameMs` per event and events are still due: `run` is the
 * run state (run_state.js), `delayMs` the delay asked for, `received` / `total` the events so far / of the run.
 */
export function streamingFast(run, delayMs, received, total, frameMs) {
  return Boolean(run?.serverPlaying) && delayMs < frameMs && !(total > 0 && received >= total);
}
