// What the page must say so that it never overstates (issue 20): that an untrained run's predictions
// are guesses, and what a slider with a value beside it really holds. Pure: no DOM.

/** The note on the graph for a run's weights: fresh random weights say "untrained"; a trained network,
 * an uploaded model or a loaded trace say nothing ('' then). `source`: undefined | "trained" | "model"
 * | "loaded"; `seed`: the config's seed. */
export function weightsNote({ source, seed, loaded = false }) {
  if (source === 'trained' || source === 'model' || loaded) return '';
  const which = Number.isInteger(seed) ? ` (seed ${seed})` : '';
  return `Untrained: random weights${which}, so the predictions are guesses (the gradients are exact).`;
}

/** The words beside the recurrent-scale slider: the value the run uses, or the init's default. */
export function scaleWords(value) {
  return value === null || value === undefined || value === '' ? 'default init' : `× ${Number(value)}`;
}
