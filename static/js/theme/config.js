// Colours, sizes and timings in one place: every drawing module reads them from here.

/** Geometry of the unrolled graph (SVG user units; 1 unit = 1 CSS px at zoom 1). */
export const GRAPH = {
  columnWidth: 74,      // distance between two timesteps
  rowHeight: 78,        // distance between two rows
  denseRowHeight: 60,   // ... when there are more than 8 rows (stacked, bidirectional LSTMs)
  nodeRadius: 21,
  marginLeft: 96,       // room for the row labels
  marginTop: 18,
  marginBottom: 40,     // room for the time axis
  minRecurrentWidth: 1.5,
  maxRecurrentWidth: 9,
  followMargin: 2,      // columns kept visible around the current step when following it
  minFitZoom: 0.8,      // 'fit' never shrinks below this: beyond it the window follows the step
  presentFitZoom: 1.1,  // the same floor in presenter mode (a projector needs bigger nodes)
  maxLabelChars: 5,     // input/target labels longer than this are shortened on the node
};

/** Colour stops (0 → 1) for the two phases; interpolated in sRGB. The first stop is a visible tint
 * (issue 20): the smallest gradient still reads as "arrived", unlike a pending node (an outline). */
export const SCALES = {
  forward: ['#d6e4f3', '#c6dbef', '#6baed6', '#2171b5', '#08306b'],
  backward: ['#fdd9b5', '#fdd0a2', '#fd8d3c', '#d94801', '#7f2704'],
  // plotly colourscales (names plotly knows, or explicit stops)
  heatDiverging: 'RdBu',
  heatSequential: 'Viridis',
};

/** Colours that do not depend on a value. */
export const COLORS = {
  nan: '#c2185b',
  inf: '#4a0000',
  highlight: '#e6a700',
  lines: ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'],
  bound: '#d62728',
};

/** Timings (ms). */
export const TIMING = {
  defaultDelayMs: 40,   // pause between two streamed events at normal speed
  plotThrottleMs: 150,  // plots are redrawn at most this often while events stream in
  streamFrameMs: 50,    // while events stream faster than this, the page is drawn at most this often (issue 17)
  plotlyIdleMs: 1000,   // plotly.js is loaded this long after first paint when no event asks for it sooner (issue 17)
};

/** Plot sizes and fonts (presenter mode multiplies the font). */
export const PLOTS = {
  height: 300,
  font: 14,
  presentFontScale: 1.35,
  maxContributionBins: 40,  // longer sequences are grouped into this many bins of steps
};

/** Read a CSS custom property of the current theme (plots follow light/dark). */
export function cssVar(name) {
  return getComputedStyle(document.body).getPropertyValue(name).trim();
}
