// Jordan and output-recurrent networks on the unrolled graph (pure: edits a graph_layout.js layout
// from meta.topology, no DOM). Their hidden layer has no h(t−1) → h(t) edge; instead it reads a fed
// value through W:
//   - jordan: a memory unit m(t) = α·m(t−1) + ŷ(t−1) under each step, its fixed-weight self-loop α
//     drawn dashed and never thickened backward (no gradient crosses it), ŷ(t−1) → m(t) dashed;
//   - output_recurrence, teacher forced: the true y(t−1) (the target on L(t−1)) → h(t);
//     free running: the model's own ŷ(t−1) → h(t). Both dashed: the gradient stops at the fed value.

import { GRAPH } from './theme/config.js';
import { layoutGraph, nodeKey } from './graph_layout.js';

/** True when the meta describes a Jordan or output-recurrent network. */
export function isFeedback(meta) {
  return Boolean(meta.topology?.feed);
}

/** How a memory node looks at a cursor: a given constant once its step has run (never a gradient). */
function memoryLook(t, alpha) {
  const title = `m(${t}) = ${alpha}·m(${t - 1}) + ŷ(${t - 1}): fixed weights (α = ${alpha}), a constant for the gradient`;
  return ({ store, cursor }) => (store.find('forward', 'h_l0', t, cursor)
    ? { fill: 'var(--node-input)', text: 'm', cls: 'given memory', title }
    : { fill: 'var(--node-pending)', text: 'm', cls: 'pending memory', title });
}

/** The chain's layout of `meta` with its feedback drawn: Jordan's memory row needs taller rows. */
export function feedbackLayout(meta, geometry = GRAPH) {
  const tall = meta.topology.feed === 'memory' ? { ...geometry, rowHeight: geometry.rowHeight * 1.4 } : geometry;
  return decorateFeedback(layoutGraph(meta, tall), meta, geometry);
}

/** The layout with the chain's recurrence replaced by the fed edges (and Jordan's memory units). */
export function decorateFeedback(layout, meta, geometry = GRAPH) {
  const G = geometry;
  const R = G.nodeRadius;
  const cw = G.columnWidth;
  const { feed, alpha } = meta.topology;
  const at = new Map(layout.nodes.map((n) => [n.key, n]));
  layout.edges = layout.edges.filter((e) => e.kind !== 'recurrent');   // no h(t−1) → h(t): nothing recurs through W_hh
  layout.labels = layout.labels.filter((l) => !/^W/.test(l.text) || l.tag);
  layout.initials = [];
  const hRow = layout.rows.find((r) => r.kind === 'h');
  const xRow = layout.rows.find((r) => r.kind === 'x');
  const yH = at.get(nodeKey('h', hRow.node, 0)).y;
  const yX = at.get(nodeKey('x', 'x', 0)).y;
  const yM = (yH + yX) / 2;
  const label = (x, y, text, cls = '') => layout.labels.push({ x, y, text, cls: `edge-label fed-label${cls}` });
  for (let t = 1; t < meta.T; t += 1) {
    const h = at.get(nodeKey('h', hRow.node, t));
    const source = feed === 'teacher' ? at.get(nodeKey('loss', 'loss', t - 1)) : at.get(nodeKey('out', 'logits', t - 1));
    if (feed === 'memory') {
      const mx = h.x - cw * 0.42;
      layout.nodes.push({ key: nodeKey('m', 'm', t), kind: 'm', row: xRow.index, node: 'm', name: 'm', t, x: mx, y: yM,
        stem: 'm', shape: 'rect', label: 'm', look: memoryLook(t, alpha) });
      if (t > 1) {
        layout.edges.push({ kind: 'memory-loop', cls: 'edge fed memory-loop', d: `M${mx - cw + R},${yM} L${mx - R - 3},${yM}`,
          from: nodeKey('m', 'm', t - 1), to: nodeKey('m', 'm', t), title: `α = ${alpha}: a fixed weight, no gradient crosses it` });
        label(mx - cw / 2, yM - 10, 'α');
      }
      if (source) {
        layout.edges.push({ kind: 'fed', cls: 'edge fed', from: source.key, to: nodeKey('m', 'm', t),
          d: `M${source.x + R * 0.6},${source.y + R * 0.8} C${source.x + cw * 0.2},${yH} ${mx - cw * 0.2},${yM - R * 2} ${mx},${yM - R * 0.8 - 2}`,
          title: `ŷ(${t - 1}) is added to the memory (a constant for the gradient)` });
      }
      layout.edges.push({ kind: 'fed-input', cls: 'edge fed', from: nodeKey('m', 'm', t), to: h.key,
        d: `M${mx + R * 0.6},${yM - R * 0.6} L${h.x - R * 0.75},${h.y + R * 0.75}`, title: `W: h(${t}) reads m(${t})` });
      label((mx + h.x) / 2 - 8, (yM + h.y) / 2 + 4, 'W');
    } else if (source) {
      const name = feed === 'teacher' ? `y(${t - 1})` : `ŷ(${t - 1})`;
      layout.edges.push({ kind: 'fed-input', cls: `edge fed ${feed}`, from: source.key, to: h.key,
        d: `M${source.x + R * 0.75},${source.y + R * 0.6} C${source.x + cw * 0.5},${source.y + R * 2} ${h.x - cw * 0.6},${h.y - R * 2} ${h.x - R * 0.7},${h.y - R * 0.7}`,
        title: `W: h(${t}) reads ${name}, ${feed === 'teacher' ? 'the true previous output (teacher forcing)' : 'its own previous output (free running)'}: the gradient stops there` });
      label(h.x - cw * 0.42, h.y - R * 1.1, 'W');
    }
  }
  return layout;
}
