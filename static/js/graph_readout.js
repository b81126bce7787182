// The final-state readout in the unrolled graph (issue 19; pure: no DOM). With meta.readout
// "final_state" the head reads cat(h_n[-2], h_n[-1]) once per sequence (engine/readout.py): the top
// layer's forward state at its last real step (meta.length − 1, or T − 1) and the reverse direction's
// state at t = 0 (it reads the sequence backwards, so t = 0 is the last state it computes). The engine
// records that one output, and its loss, at row T − 1, so the graph draws one ŷ and one L in the last
// column, fed by one edge from each final state, and no per-step outputs.

import { nodeKey } from './graph_layout.js';

/** True when the run's head reads the final states (meta.readout, from the server's meta message). */
export function isFinalState(meta) {
  return meta?.readout === 'final_state';
}

/** The column holding the one ŷ and L: T − 1, where the engine records them. */
export function outputColumn(meta) {
  return meta.T - 1;
}

/** The step of a top-layer row's final state: the forward direction's last real step of the shown
 * element (meta.length − 1 in a padded batch, else T − 1); t = 0 for a row that runs in reverse. */
export function finalStep(meta, direction) {
  if (direction === 1) return 0;
  return (Number.isInteger(meta.length) ? Math.min(meta.length, meta.T) : meta.T) - 1;
}

/** Where the graph has an output (and a loss): only the output column under a final-state readout. */
export function outputAt(meta, hasTarget) {
  if (!isFinalState(meta)) return hasTarget;
  const last = outputColumn(meta);
  return (t) => t === last;
}

/** The path of a final state's edge into ŷ: a straight drop from the row right under ŷ; from a row
 * further down in ŷ's column, a bow to the left past the rows between (as graph_layout.js's skip
 * edges); from an earlier column, a curve that leaves upwards and arrives from the lower left. */
function finalEdgePath(x0, y0, x1, y1, adjacent, G) {
  const R = G.nodeRadius;
  if (Math.abs(x1 - x0) < 1) {
    if (adjacent) return `M${x0},${y0} L${x1},${y1}`;
    const dx = -G.columnWidth * 0.34;
    return `M${x0 + dx * 0.45},${y0} C${x0 + dx},${y0 - (y0 - y1) * 0.3} ${x1 + dx},${y1 + (y0 - y1) * 0.3} ${x1 + dx * 0.45},${y1}`;
  }
  const rise = (y0 - y1) * 0.5;
  return `M${x0 + R * 0.5},${y0} C${x0},${y0 - rise} ${x1 - Math.min(G.columnWidth, (x1 - x0) * 0.3)},${y1 + rise * 0.4} ${x1 - R * 0.55},${y1 - R * 0.1}`;
}

/** The edges from each top-layer state row's final state into the one ŷ, with their labels V / V′,
 * added to `layout`; the ŷ and L nodes are never drawn as padding (they sit at T − 1 by convention,
 * also when the shown element is shorter). ctx: graph_layout.js's {meta, rows, cx, cy, G}. */
export function addFinalStateEdges(layout, { meta, rows, cx, cy, G }) {
  if (!isFinalState(meta)) return;
  const R = G.nodeRadius;
  const outRow = rows.find((r) => r.kind === 'out');
  const last = outputColumn(meta);
  const top = rows.filter((r) => r.kind === 'h' && r.layer === meta.layers - 1);
  for (const node of layout.nodes) if (node.kind === 'out' || node.kind === 'loss') node.padded = false;
  for (const row of top) {
    const t = finalStep(meta, row.direction);
    const [x0, y0] = [cx(t), cy(row) - R];
    const [x1, y1] = [cx(last), cy(outRow) + R + 2];
    const d = finalEdgePath(x0, y0, x1, y1, row.index - outRow.index === 1, G);
    const reverse = row.direction === 1;
    layout.edges.push({
      kind: 'final-state', cls: 'edge vertical final-state', d,
      from: nodeKey('h', row.node, t), to: nodeKey('out', 'logits', last),
      title: reverse
        ? `h←(0): the reverse direction's final state (it reads the sequence from the end down to t = 0), half of the head's input`
        : `h(${t}): the forward direction's final state${t < meta.T - 1 ? ` (the sequence's last real step, length ${t + 1})` : ''}, half of the head's input`,
    });
    const label = `${reverse && meta.directions === 2 ? 'V′' : 'V'}`;
    const sameColumn = Math.abs(x1 - x0) < 1;
    layout.labels.push({ x: sameColumn ? x0 - G.columnWidth * 0.34 : x0 + R + 8, y: sameColumn ? (y0 + y1) / 2 : y0 - R * 0.6, text: label, cls: 'edge-label final-state-label' });
  }
}
