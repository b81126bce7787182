// Presenter mode (issue 20): ‖∂L/∂h_t‖ printed under each h node whose gradient has arrived, so the
// class reads the numbers the colours stand for. A pass over the drawn graph after each render: it
// adds one <text> per drawn h node (inside the node's group, so it moves with it) and removes them
// outside presenter mode.

import { fmt } from './format.js';

const SVG_NS = 'http://www.w3.org/2000/svg';

/** The label under a node: '' before its backward event, else ‖∂L/∂h‖ in at most ~5 characters
 * ("0.22", "3e-6") so that neighbouring columns' labels do not overlap. */
export function normLabel(ev) {
  if (!ev || typeof ev.norm !== 'number') return '';
  const v = ev.norm;
  if (!Number.isFinite(v)) return fmt(v);
  if (v === 0) return '0';
  return v >= 0.01 && v < 1000 ? String(Number(v.toPrecision(2))) : v.toExponential(0).replace('e+', 'e');
}

/** Write (present) or remove (not present) the ‖∂L/∂h‖ labels of the h nodes drawn in `svg`. */
export function drawNormLabels(svg, { store, cursor, present }) {
  const groups = svg.querySelectorAll('g.node.kind-h[data-node^="h_"]');
  const every = Number(svg.dataset.labelEvery) || 1;   // issue 20: a compact layout labels every k-th step
  for (const g of groups) {
    let label = g.querySelector(':scope > text.norm-label');
    if (!present || Number(g.dataset.t) % every !== 0) { label?.remove(); continue; }
    const ev = store.find('backward', g.dataset.node, Number(g.dataset.t), cursor);
    const text = normLabel(ev);
    if (!label) {
      const shape = g.querySelector(':scope > circle, :scope > rect');
      const r = Number(shape?.getAttribute('r') ?? 20);
      label = document.createElementNS(SVG_NS, 'text');
      label.setAttribute('class', 'norm-label');
      label.setAttribute('y', String(r + 16));
      g.append(label);
    }
    if (label.textContent !== text) label.textContent = text;
  }
}
