// Colour scales of the graph: value magnitude (forward) and log gradient norm (backward).

import { SCALES, COLORS } from './theme/config.js';

function hexToRgb(hex) {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

const STOPS = { forward: SCALES.forward.map(hexToRgb), backward: SCALES.backward.map(hexToRgb) };

/** Colour at u ∈ [0, 1] of a named scale ("forward" | "backward"), as "rgb(r,g,b)". */
export function scaleColor(scale, u) {
  const stops = STOPS[scale];
  const x = Math.min(1, Math.max(0, Number.isFinite(u) ? u : 0)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const rgb = stops[i].map((c, k) => Math.round(c + f * (stops[i + 1][k] - c)));
  return `rgb(${rgb[0]},${rgb[1]},${rgb[2]})`;
}

/** The CSS gradient of a scale (for the legend bar). */
export function scaleGradient(scale) {
  return `linear-gradient(to right, ${SCALES[scale].join(', ')})`;
}

/** Position u ∈ [0, 1] of `value` on a log scale spanning [lo, hi]. */
export function logPosition(value, [lo, hi]) {
  if (!(value > 0)) return 0;
  const span = Math.log10(hi) - Math.log10(lo);
  return span > 0 ? (Math.log10(value) - Math.log10(lo)) / span : 1;
}

/** Fill of a node for a value: NaN and ±∞ get their own colours, others come from the scale. */
export function fillFor(scale, value, u) {
  if (Number.isNaN(value)) return COLORS.nan;
  if (!Number.isFinite(value)) return COLORS.inf;
  return scaleColor(scale, u);
}

/** Whether text drawn on a fill at u (of either scale) for `value` should be light (dark fill). */
export function lightText(u, value) {
  if (!Number.isFinite(value)) return true;
  return u > 0.55;
}

/** Above this per-unit size the forward scale turns logarithmic (unbounded ReLU states explode). */
export const FORWARD_LOG_ABOVE = 10;

/** Position u ∈ [0, 1] of a per-unit forward size on a scale topping at `top` (log when top is huge). */
export function forwardPosition(size, top) {
  if (top > FORWARD_LOG_ABOVE) return logPosition(size, [1e-2, top]);
  return size / top;
}
