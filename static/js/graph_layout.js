// The unrolled graph's layout, computed from a run's meta alone (pure: no DOM). A column per
// timestep, a row per quantity, every edge labelled with its shared weight:
//   - rows, top to bottom: L(t), ŷ(t)/o(t), then per layer (top first) and direction (reverse
//     first) one row per recurrent state (meta.cell_spec.states: h, plus c for an LSTM), then x(t);
//   - outputs and losses exist only where a step has a target (many-to-one draws one ŷ and one L);
//   - a free-running run feeds ŷ(t) back as x(t+1) (the decoder's outputs, in an encoder–decoder);
//   - Elman context units draw W as cut (no gradient along it);
//   - an encoder–decoder (meta.segments) draws two shaded halves joined by the context
//     edge, its weights marked ᴱ (encoder) and ᴰ (decoder);
//   - with an embedding (meta.embedding_size) a row e(t) = E[x(t)] sits between x and the first layer;
//   - in a padded batch the shown element's steps t ≥ meta.length are padding: drawn absent.
// The drawing (graph_draw.js) turns this into SVG; see docs/DESIGN.md, "Page (static/js)".

import { GRAPH } from './theme/config.js';
import { subscript } from './format.js';
import { contextStep, weightMark } from './segments.js';
import { extraStates, gatesOf } from './cell_spec.js';
import { addFinalStateEdges, isFinalState, outputAt } from './graph_readout.js';   // issue 19: final-state head

/** The usage pattern a run's meta describes: outputs fed back? gradient through W? an
 * encoder–decoder (meta.segments: its two halves, drawn as shaded bands)? */
export function patternOf(meta) {
  return {
    feedback: meta.config?.unroll === 'free_running',
    cut: meta.config?.recurrent_gradient === false,
    segments: meta.segments?.length === 2 ? meta.segments : null,
  };
}

/** The h node of a layer and direction, as the events name it ("h_l0", "h_l1_reverse"). */
function hNode(layer, direction) {
  return `h_l${layer}${direction === 1 ? '_reverse' : ''}`;
}

// ---- reverse-only layers (ONNX direction="reverse"): a layer's directions come from meta.nodes ----
/** The directions of a layer, in row order (reverse first): [1, 0] for a bidirectional layer, [0]
 * forward, [1] for a layer that runs only in reverse (its one node is h_l{k}_reverse). */
export function layerDirections(meta, layer) {
  const nodes = meta.nodes ?? [];
  const found = [1, 0].filter((d) => nodes.includes(hNode(layer, d)));
  if (found.length) return found;
  return meta.directions === 2 ? [1, 0] : [0];
}
// ---- end of reverse-only layers ----

/** The rows of the graph, top to bottom: {kind, node, layer?, direction?, label, index}. `node` is
 * the events' node name (a state row other than h shares its h node: the events carry both). */
export function graphRows(meta) {
  // issue 20: a run without any target (a loaded trace without one) draws no empty L / ŷ rows
  const rows = hasAnyTarget(meta) ? [
    { kind: 'loss', node: 'loss', label: 'L(t)' },
    { kind: 'out', node: 'logits', label: meta.loss === 'cross_entropy' ? 'ŷ(t)' : 'o(t)' },
  ] : [];
  const stacked = meta.layers > 1;
  const others = extraStates(meta);
  for (let layer = meta.layers - 1; layer >= 0; layer -= 1) {
    for (const direction of layerDirections(meta, layer)) {
      const node = hNode(layer, direction);
      const suffix = `${stacked ? subscript(layer + 1) : ''}${direction === 1 ? '←' : ''}`;
      for (const state of [...others, 'h']) rows.push({ kind: state, node, layer, direction, label: `${state}${suffix}(t)` });
    }
  }
  if (meta.embedding_size) rows.push({ kind: 'e', node: 'embedding', label: 'e(t)' });
  rows.push({ kind: 'x', node: 'x', label: 'x(t)' });
  rows.forEach((r, i) => { r.index = i; });
  return rows;
}

/** False when meta.has_target says that no step carries a target (its L and ŷ rows would be empty). */
export function hasAnyTarget(meta) {
  return !Array.isArray(meta.has_target) || meta.has_target.some(Boolean);
}

/** The events' node carrying a layout row's values in `phase`: the embedding rides on the first
 * layer's events (e on the forward direction's forward events, ∂L/∂e — complete only once every
 * direction has sent its part — on the last direction's backward events). */
export function eventNodeOf(kind, node, phase, meta) {
  if (kind === 'out') return 'logits';
  if (kind === 'loss') return 'loss';
  if (kind === 'e') {   // forward: the first direction's node; backward: the last one's (engine.events)
    const dirs = layerDirections(meta ?? {}, 0);
    return hNode(0, phase === 'backward' ? Math.max(...dirs) : Math.min(...dirs));
  }
  return node;
}

/** True when step t is padding for the shown batch element (meta.length: its real steps). */
export function isPadding(meta, t) {
  return Number.isInteger(meta?.length) && t >= meta.length;
}

/** True for the rows of a recurrent state (h, c, …): they have an initial node and a recurrence. */
function isStateRow(row) {
  return row.layer !== undefined;
}

/** The key of a node in a layout: "kind|node|t" (e.g. "h|h_l0|3", "c|h_l0|3", "out|logits|3"). */
export function nodeKey(kind, node, t) {
  return `${kind}|${node}|${t}`;
}

/** The key of the node an event (or a hover {node, t}) lands on: events of h nodes land on h. */
export function eventNodeKey(node, t) {
  if (node === 'logits') return nodeKey('out', 'logits', t);
  if (node === 'loss') return nodeKey('loss', 'loss', t);
  return nodeKey('h', node, t);
}

/** Lecture name of a weight on an edge: U/W with the layer (when stacked) and a prime for reverse. */
function weightLabel(base, layer, layers, direction) {
  return `${base}${layers > 1 ? subscript(layer + 1) : ''}${direction === 1 ? '′' : ''}`;
}

/** The label on a state's recurrent edge other than h: the gate that scales it ("f⊙" for an LSTM's
 * c, whose forget gate multiplies the previous cell state), else the state's name. */
function carryLabel(meta, state) {
  const forget = gatesOf(meta).find((g) => g.title === 'forget gate');
  return forget ? `${forget.name}⊙` : state;
}

/** The whole layout of a run: rows, nodes, edges, segment bands and axis, in SVG user units. */
export function layoutGraph(meta, geometry = GRAPH) {
  const G = geometry;
  const T = meta.T;
  const rows = graphRows(meta);
  const pattern = patternOf(meta);
  const context = contextStep(meta);
  const rowHeight = rows.length > 8 ? G.denseRowHeight : G.rowHeight;   // deep stacks: denser rows
  const cx = (t) => G.marginLeft + (t + 1.5) * G.columnWidth;
  const cy = (row) => G.marginTop + (row.index + 0.5) * rowHeight;
  const hasTarget = outputAt(meta, (t) => meta.has_target?.[t] ?? true);   // issue 19: one ŷ under final_state
  const fedBackAt = (t) => pattern.feedback && t > (context ?? 0);
  const layout = {
    T, rows, pattern, rowHeight, nodeRadius: G.nodeRadius, rowLabelWidth: G.marginLeft - 8,
    width: G.marginLeft + (T + 2) * G.columnWidth,
    height: G.marginTop + rows.length * rowHeight + G.marginBottom,
    nodes: [], initials: [], edges: [], segments: [], labels: [],
    axis: [...Array(T).keys()].map((t) => ({ t, x: cx(t), y: G.marginTop + rows.length * rowHeight + 18 })),
    rowLabels: rows.map((row) => ({ kind: row.kind, text: row.label, x: 12, y: cy(row) })),
  };
  for (const row of rows) placeNodes(layout, row, { meta, cx, cy, hasTarget, fedBackAt });
  placeSegments(layout, pattern, cx, G, rows.length * rowHeight);
  const ctx = { meta, rows, cx, cy, hasTarget, G, context, pattern };
  verticalEdges(layout, ctx);
  if (pattern.feedback) feedbackEdges(layout, ctx);
  recurrentEdges(layout, ctx);
  addFinalStateEdges(layout, ctx);   // issue 19: the final states into the one ŷ (graph_readout.js)
  return layout;
}

/** Columns holding a node in `row`: outputs and losses only where there is a target (an output
 * without a loss takes no part in training, so the graph leaves it out). */
function columnsOf(row, T, hasTarget) {
  const all = [...Array(T).keys()];
  return row.kind === 'loss' || row.kind === 'out' ? all.filter(hasTarget) : all;
}

function placeNodes(layout, row, { meta, cx, cy, hasTarget, fedBackAt }) {
  const y = cy(row);
  if (isStateRow(row)) {
    // the initial state: s(−1) for the forward direction, s(T) for the reverse one
    const t = row.direction === 1 ? meta.T : -1;
    layout.initials.push({ key: nodeKey(row.kind, row.node, t), kind: row.kind, row: row.index, t, x: cx(t), y });
  }
  for (const t of columnsOf(row, meta.T, hasTarget)) {
    let label = '';
    if (row.kind === 'x') label = meta.input_labels?.[t] ?? '';
    if (row.kind === 'loss') label = meta.target_labels?.[t] ?? '';
    layout.nodes.push({
      key: nodeKey(row.kind, row.node, t), kind: row.kind, row: row.index, node: row.node, t, x: cx(t), y,
      stem: row.label.replace('(t)', ''),   // "h₂←" for the tooltips
      // the data-node hook: the events' node, or "c_l0" for the c row of node "h_l0"
      name: isStateRow(row) && row.kind !== 'h' ? `${row.kind}_${row.node.slice(2)}` : row.node,
      shape: row.kind === 'x' || row.kind === 'loss' ? 'rect' : 'circle',
      label: label ?? '',
      fedBack: row.kind === 'x' && fedBackAt(t),
      padded: isPadding(meta, t),
    });
  }
}

/** Encoder–decoder: a shaded band and a heading over each half. */
function placeSegments(layout, pattern, cx, G, rowsHeight) {
  if (!pattern.segments) return;
  const cw = G.columnWidth;
  const headings = { encoder: 'Encoder: reads the input', decoder: 'Decoder: starts from the context' };
  for (const seg of pattern.segments) {
    const x0 = cx(seg.start) - cw / 2 + 3;
    const x1 = cx(seg.stop - 1) + cw / 2 - 3;
    layout.segments.push({ name: seg.name, x0, x1, y0: 2, y1: G.marginTop + rowsHeight + 4, heading: headings[seg.name] ?? seg.name });
  }
}

function addLabel(layout, x, y, text, cls = '') {
  if (text) layout.labels.push({ x, y, text, cls: `edge-label${cls}` });
}

/** Inputs into every state row, outputs from the top layer's h, and output → loss. */
function verticalEdges(layout, { meta, rows, cx, cy, hasTarget, G }) {
  const R = G.nodeRadius;
  const weight = (base, row, t) => `${weightLabel(base, row.layer, meta.layers, row.direction)}${weightMark(meta, t)}`;
  const vertical = (from, to, t, name, side, kind) => {
    const x = cx(t);
    const y0 = cy(from) - R;
    const y1 = cy(to) + R + 2;
    const adjacent = from.index - to.index === 1;
    const dx = side * G.columnWidth * 0.34;
    const d = adjacent ? `M${x},${y0} L${x},${y1}`
      : `M${x + dx * 0.45},${y0} C${x + dx},${y0 - (y0 - y1) * 0.3} ${x + dx},${y1 + (y0 - y1) * 0.3} ${x + dx * 0.45},${y1}`;
    const padded = isPadding(meta, t) ? ' padded' : '';
    layout.edges.push({ kind, cls: `${adjacent ? 'edge vertical' : 'edge vertical skip'}${padded}`, d, from: nodeKey(from.kind, from.node, t), to: nodeKey(to.kind, to.node, t) });
    if (!padded) addLabel(layout, x + (adjacent ? Math.min(11, G.columnWidth * 0.15) : dx), (y0 + y1) / 2, name);   // compact columns: on the edge
  };
  const hRows = rows.filter((r) => r.kind === 'h');
  const eRow = rows.find((r) => r.kind === 'e');
  const xRow = eRow ?? rows.find((r) => r.kind === 'x');   // what the first layer reads
  const outRow = rows.find((r) => r.kind === 'out');
  const lossRow = rows.find((r) => r.kind === 'loss');
  for (let t = 0; t < meta.T; t += 1) {
    if (eRow) vertical(rows.find((r) => r.kind === 'x'), eRow, t, `E${weightMark(meta, t)}`, -1, 'embedding');
    for (const row of hRows) {
      const side = row.direction === 1 ? 1 : -1;
      const inputs = row.layer === 0 ? [xRow] : hRows.filter((r) => r.layer === row.layer - 1);
      inputs.forEach((src, i) => vertical(src, row, t, i === 0 || src.direction === row.direction ? weight('U', row, t) : '', side, 'input'));
      if (row.layer === meta.layers - 1 && hasTarget(t) && !isFinalState(meta)) vertical(row, outRow, t, row.direction === 0 || meta.directions === 1 ? 'V' : 'V′', side, 'output');
    }
    if (hasTarget(t)) {
      const x = cx(t);
      layout.edges.push({ kind: 'loss', cls: 'edge vertical', d: `M${x},${cy(outRow) - R} L${x},${cy(lossRow) + R * 0.8 + 2}`, from: nodeKey('out', 'logits', t), to: nodeKey('loss', 'loss', t) });
    }
  }
}

/** Free running: ŷ(t) is fed back as x(t+1), a curved arrow from each output to the next input. */
function feedbackEdges(layout, { meta, rows, cx, cy, G, context }) {
  const R = G.nodeRadius;
  const cw = G.columnWidth;
  if (!rows.some((r) => r.kind === 'out')) return;   // no target, no output row (issue 20)
  const yOut = cy(rows.find((r) => r.kind === 'out'));
  const yIn = cy(rows.find((r) => r.kind === 'x'));
  const first = context ?? 0;   // an encoder–decoder feeds back from its first decoder step
  for (let t = first; t + 1 < meta.T; t += 1) {
    const x0 = cx(t) + R * 0.75;
    const y0 = yOut + R * 0.7;
    const x1 = cx(t + 1) - R - 2;
    const y1 = yIn - R * 0.35;
    layout.edges.push({
      kind: 'feedback', cls: 'edge feedback', fromT: t, from: nodeKey('out', 'logits', t), to: nodeKey('x', 'x', t + 1),
      d: `M${x0},${y0} C${x0 + cw * 0.3},${y0 + (yIn - yOut) * 0.35} ${x1 - cw * 0.5},${y1 - (yIn - yOut) * 0.3} ${x1},${y1}`,
      title: `ŷ(${t}) is fed back as x(${t + 1})`,
    });
  }
  if (meta.T > first + 1) layout.labels.push({ x: cx(first) + cw * 0.5, y: yIn + R + 14, text: 'fed back', cls: 'edge-label feedback-label', tag: 'fed-back' });
}

/** Each state row's recurrence from its initial state on (h: W, or the context into the decoder;
 * other states: their gated conveyor), and each extra state's link down to its h. */
function recurrentEdges(layout, { meta, rows, cx, cy, G, context, pattern }) {
  const R = G.nodeRadius;
  const { cut } = pattern;
  for (const row of rows.filter(isStateRow)) {
    const y = cy(row);
    const step = row.direction === 1 ? -1 : 1;
    for (let k = 0; k < meta.T; k += 1) {
      const to = row.direction === 1 ? meta.T - 1 - k : k;
      const from = to - step;
      const x0 = cx(from) + step * (R + 1);
      const x1 = cx(to) - step * (R + 3);
      const isContext = to === context;
      const isH = row.kind === 'h';
      const name = isH ? (isContext ? 'context' : `${weightLabel('W', row.layer, meta.layers, row.direction)}${weightMark(meta, to)}`) : carryLabel(meta, row.kind);
      let title = null;
      if (cut) title = `${name}: the state is treated as an input — no gradient flows back along this edge`;
      if (isContext) title = `the context: the encoder's last ${row.kind}(${to - 1}) starts the decoder (through Wᴰ); every gradient reaching the encoder crosses here`;
      // padding: an edge out of or into a padded step carries nothing (a reverse direction starts at
      // the last real step from its initial state, as torch's pack_padded_sequence)
      const padded = isPadding(meta, to) || (from >= 0 && from < meta.T && isPadding(meta, from));
      if (padded && !isPadding(meta, to)) title = `${row.kind}(${to}) is this sentence's last word: the reverse direction starts here from its initial state, not from the padding`;
      layout.edges.push({
        kind: isH ? (isContext ? 'context' : 'recurrent') : 'cell',
        cls: `edge recurrent kind-${row.kind}${cut ? ' cut' : ''}${isContext ? ' context' : ''}${padded ? ' padded' : ''}`,
        d: `M${x0},${y} L${x1},${y}`, from: nodeKey(row.kind, row.node, from), to: nodeKey(row.kind, row.node, to),
        cut, title,
        // the gradient flowing back along an h edge is ∂L/∂h at `to`; a cut or padded edge carries none
        carries: isH && !cut && !padded ? { node: row.node, t: to } : null,
      });
      // "context" is wider than the gap between two nodes: it sits above them
      if (isContext && isH) addLabel(layout, (x0 + x1) / 2, y - R - 12, name, ' context-label');
      else if (!padded) addLabel(layout, (x0 + x1) / 2, y - 12, name);
    }
    if (row.kind !== 'h') {
      const hRow = rows.find((r) => r.kind === 'h' && r.node === row.node);
      for (let t = 0; t < meta.T; t += 1) {
        const x = cx(t);
        layout.edges.push({ kind: null, cls: `edge cell-link${isPadding(meta, t) ? ' padded' : ''}`, d: `M${x},${y + R} L${x},${cy(hRow) - R - 2}`, from: nodeKey(row.kind, row.node, t), to: nodeKey('h', row.node, t) });
      }
    }
  }
}
