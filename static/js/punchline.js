// The punchline of a run in numbers (issue 20): ‖∂L/∂h_t‖ over t on a log axis and the factor the
// gradient is multiplied by per step back in time, fitted to what has arrived so far. Pure: no DOM.
//
//   import { fitFactor, factorWords, logSafe } from './punchline.js';
//   const fit = fitFactor([null, 0.01, 0.1, 1])   // {factor: 0.1, n: 3, ...}: ×0.1 per step back
//   factorWords(fit)                              // "×0.1 per step back: vanishing"

/** The series with what a log axis cannot show (zero at padding, non-finite, unseen) as null: a gap,
 * never a drop to the axis floor. */
export function logSafe(series) {
  return series.map((v) => (Number.isFinite(v) && v > 0 ? v : null));
}

/**
 * Least-squares fit of log10 ‖∂L/∂h_t‖ against t over the positive finite values of `series`
 * (index = t). Returns {factor, slope, intercept, n, first, last}: `factor` is what one step back in
 * time multiplies the norm by (10^−slope), first/last the fitted t range; null under 2 points.
 */
export function fitFactor(series) {
  const pts = [];
  series.forEach((v, t) => { if (Number.isFinite(v) && v > 0) pts.push([t, Math.log10(v)]); });
  if (pts.length < 2) return null;
  const n = pts.length;
  const mx = pts.reduce((s, [x]) => s + x, 0) / n;
  const my = pts.reduce((s, [, y]) => s + y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const [x, y] of pts) { sxx += (x - mx) ** 2; sxy += (x - mx) * (y - my); }
  const slope = sxy / sxx;
  return { factor: 10 ** -slope, slope, intercept: my - slope * mx, n, first: pts[0][0], last: pts[n - 1][0] };
}

/** The fitted line's values at t = fit.first … fit.last (for drawing it), as {x, y}. */
export function fitLine(fit) {
  const x = [];
  const y = [];
  if (!fit) return { x, y };
  for (let t = fit.first; t <= fit.last; t += 1) { x.push(t); y.push(10 ** (fit.intercept + fit.slope * t)); }
  return { x, y };
}

/** What a per-step factor means over `steps` fitted steps: steady within 0.95–1.05 per step; beyond,
 * vanishing / exploding only when the whole fit changes the gradient by 10× or more (a diagnosis
 * would flag that), else merely shrinking / growing (×0.91 over 12 steps is ×0.35: not a problem). */
export function factorVerdict(factor, steps = Infinity) {
  if (!Number.isFinite(factor)) return 'no fit';
  const overall = factor ** Math.max(1, steps - 1);      // over the fit (unbounded steps: 0 or ∞)
  if (factor < 0.95) return overall <= 0.1 ? 'vanishing' : 'shrinking';
  if (factor > 1.05) return overall >= 10 ? 'exploding' : 'growing';
  return 'steady';
}

/** "×0.62 per step back: vanishing" (or a note that the fit waits for the backward pass). */
export function factorWords(fit) {
  if (!fit) return 'The fitted factor per step appears as the backward pass arrives.';
  const f = fit.factor;
  const shown = f >= 100 || f < 0.01 ? f.toExponential(1) : f.toPrecision(2);
  return `×${shown} per step back: ${factorVerdict(f, fit.n)} (fit over ${fit.n} steps)`;
}
