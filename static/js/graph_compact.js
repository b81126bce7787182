// Presenter mode's compact graph (issue 20): a projector shows every step of a run at once. When the
// chain's full-size layout is wider than the graph's box at presenter zoom, the columns (and the
// nodes) shrink so that all T columns fit, while the text keeps its presenter size (≥ 18 px); the
// labels that repeat per step (the shared U/V/W, t=, ‖∂L/∂h‖) are then kept every k-th step only, k
// chosen so that neighbours cannot collide (graph_overlap.js hides whatever still would). Pure: no DOM.

import { GRAPH } from './theme/config.js';
import { columnAt } from './graph_window.js';

export const COMPACT = {
  labelGapPx: 68,      // screen px a per-step label needs (a "3e-6" or "t=38" at 18 px, plus a gap)
  minColumnPx: 7,      // narrower columns than this: no compact layout (the window follows the step instead)
  minRowPx: 44,        // rows never lower than this (SVG units): a label between two rows needs room
  minTextNodePx: 40,   // nodes narrower than this carry no text (an 18 px glyph would spill out)
  marginLeft: 84,      // room for the row labels (presenter size)
};

/** The geometry of the chain's layout (`rows` rows, T columns) for a graph box `width` px wide and at
 * most `maxHeight` px tall, or null when the full-size layout fits (or the run is too long to compact,
 * or not in presenter mode). The result is GRAPH with narrower columns and/or lower rows, a nodeRadius
 * to match, `labelEvery` (k), `nodeText` (whether nodes are big enough for text) and `compact: true`. */
export function compactGeometry(T, rows, width, maxHeight, present, base = GRAPH) {
  if (!present || !(width > 0) || !(T > 0)) return null;
  const zoom = base.presentFitZoom;
  const rowHeight = rows > 8 ? base.denseRowHeight : base.rowHeight;
  const tall = (h) => (base.marginTop + rows * h + base.marginBottom) * zoom;
  const wideEnough = (base.marginLeft + (T + 2) * base.columnWidth) * zoom <= width;
  const lowEnough = !(maxHeight > 0) || tall(rowHeight) <= maxHeight;
  if (wideEnough && lowEnough) return null;
  const columnWidth = wideEnough ? base.columnWidth
    : (width / zoom - COMPACT.marginLeft) / (T + 2) - 0.01;   // rounding: never a px too wide
  if (columnWidth * zoom < COMPACT.minColumnPx) return null;
  const low = lowEnough ? rowHeight
    : Math.max(COMPACT.minRowPx, (maxHeight / zoom - base.marginTop - base.marginBottom) / rows - 0.01);
  const nodeRadius = Math.min(base.nodeRadius, Math.max(3, columnWidth * 0.42), Math.max(3, low * 0.3));
  return {
    ...base, columnWidth, rowHeight: low, denseRowHeight: low, nodeRadius, compact: true,
    marginLeft: wideEnough ? base.marginLeft : COMPACT.marginLeft,
    labelEvery: labelEvery(columnWidth * zoom),
    nodeText: 2 * nodeRadius * zoom >= COMPACT.minTextNodePx,
  };
}

/** Every how many steps a per-step label is drawn when a column is `columnPx` screen px wide. */
export function labelEvery(columnPx, gapPx = COMPACT.labelGapPx) {
  const every = Math.max(1, Math.ceil(gapPx / columnPx));
  return [1, 2, 3, 4, 5, 10, 20, 50].find((n) => n >= every) ?? every;
}

/** Thin a compact layout's per-step edge labels to every k-th column (in place; returns it). A
 * label tagged (fed back), a context or a final-state label is kept: there are few of them. */
export function thinLabels(layout, geometry) {
  if (!geometry?.compact) return layout;
  const k = geometry.labelEvery;
  layout.labels = layout.labels.filter((label) => label.tag || label.cls.includes('context') || label.cls.includes('final-state')
    || (columnAt(label.x, geometry) - 1) % k === 0);
  // an encoder–decoder's headings: just "Encoder" / "Decoder" when the band is narrower than the sentence
  const zoom = geometry.presentFitZoom;
  for (const seg of layout.segments) {
    if ((seg.x1 - seg.x0) * zoom < seg.heading.length * 11 + 20) seg.heading = seg.name.charAt(0).toUpperCase() + seg.name.slice(1);
  }
  layout.geometry = geometry;
  return layout;
}

/** The geometry of a recursive net's tree (graph_tree.js) for a graph box `width` × `maxHeight` px in
 * presenter mode: leaves closer and levels lower until the whole tree fits at presenter zoom; null
 * when it fits at full size (or not in presenter mode). */
export function compactTreeGeometry(tree, width, maxHeight, present, base = GRAPH) {
  if (!present || !(width > 0) || !tree?.leaves?.length) return null;
  const zoom = base.presentFitZoom;
  const wide = tree.leaves.length > 8 ? 0.65 : 1;   // graph_tree.js's spacing of the leaves
  const spacing = Math.min(base.columnWidth * wide, (width / zoom - COMPACT.marginLeft) / (tree.leaves.length + 1) - 0.01);
  let levelHeight = base.rowHeight * 0.8;
  if (maxHeight > 0) {   // graph_tree.js: height = marginTop + (height + 3.5)·level + R + marginBottom
    const room = maxHeight / zoom - base.marginTop - base.marginBottom - base.nodeRadius - 2;
    levelHeight = Math.min(levelHeight, room / (tree.height + 3.5));
  }
  const columnWidth = spacing / wide;
  if (columnWidth >= base.columnWidth && levelHeight >= base.rowHeight * 0.8) return null;
  const nodeRadius = Math.min(base.nodeRadius, Math.max(3, spacing * 0.4), Math.max(3, levelHeight * 0.32));
  return {
    ...base, columnWidth, rowHeight: levelHeight / 0.8, nodeRadius, marginLeft: COMPACT.marginLeft, compact: true,
    labelEvery: labelEvery(spacing * zoom), nodeText: 2 * nodeRadius * zoom >= COMPACT.minTextNodePx,
  };
}
