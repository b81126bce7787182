// The colour legend of the graph: value magnitude in the forward phase, log ‖∂L/∂node‖ backward.

import { scaleGradient, FORWARD_LOG_ABOVE } from './colors.js';
import { COLORS } from './theme/config.js';
import { fmt } from './format.js';

function span(cls, text) {
  const s = document.createElement('span');
  s.className = cls;
  s.textContent = text;
  return s;
}

const shownKeys = new WeakMap();   // container → the key of the legend it shows

/** Draw the legend for the phase at `cursor` into `container`. */
export function renderLegend(container, store, cursor) {
  const phase = store.phaseAt(cursor);
  const key = phase === 'backward' ? `b|${store.backwardDomain().join('|')}` : `f|${store.forwardScale()}`;
  if (shownKeys.get(container) === key) return;
  shownKeys.set(container, key);
  const bar = span('legend-bar', '');
  bar.style.background = scaleGradient(phase);
  const swatch = (color, text) => {
    const s = span('legend-swatch', text);
    s.style.background = color;
    return s;
  };
  if (phase === 'backward') {
    const [lo, hi] = store.backwardDomain();
    container.replaceChildren(span('legend-title', 'backward: ‖∂L/∂node‖ (log)'), span('legend-tick', fmt(lo, 2)), bar, span('legend-tick', fmt(hi, 2)),
      swatch(COLORS.nan, 'NaN'), swatch(COLORS.inf, '∞'),
      span('legend-note', backwardNote(store.meta)));
  } else {
    const top = store.forwardScale();
    const log = top > FORWARD_LOG_ABOVE;
    container.replaceChildren(span('legend-title', `forward: size of the value (‖h‖/√H${log ? ', log' : ''})`), span('legend-tick', log ? fmt(1e-2) : '0'), bar, span('legend-tick', fmt(top, 2)),
      swatch(COLORS.nan, 'NaN'), swatch(COLORS.inf, '∞'));
  }
}

/** The backward legend's note on edges: a tree's U/W, a feedback net's fed edges (issue 15), else W. */
function backwardNote(meta) {
  if (meta?.tree) return 'thick U / W edge = large gradient carried down to a child';
  if (meta?.topology?.feed) return 'dashed fed edges carry no gradient (the fed value is a constant)';
  return meta?.config?.recurrent_gradient === false
    ? 'dashed W edges carry no gradient (Elman context units)'
    : 'thick W edge = large gradient carried back';
}
