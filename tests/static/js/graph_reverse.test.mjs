// Layers that run only in reverse (ONNX direction="reverse"; the engine's Architecture.reverse_layers):
// the layout reads a layer's directions off meta.nodes, so such a layer gets one row, drawn like a
// reverse direction — its initial state at t = T and its recurrent edges pointing left.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { layoutGraph, layerDirections, eventNodeOf } from '../../../static/js/graph_layout.js';

const LSTM = {
  name: 'lstm', states: ['h', 'c'],
  gates: [
    { name: 'i', title: 'input gate', range: [0, 1] }, { name: 'f', title: 'forget gate', range: [0, 1] },
    { name: 'g', title: 'candidate', range: [-1, 1] }, { name: 'o', title: 'output gate', range: [0, 1] },
  ],
};

/** The meta message of a run (what the layout reads), its h nodes as the server lists them. */
function meta(nodes, { T = 4, layers = 1, cell = LSTM, embedding = null } = {}) {
  return {
    type: 'meta', T, layers, directions: 1, nodes, cell: cell.name, cell_spec: cell, loss: 'mse',
    has_target: Array(T).fill(true), output_size: 2, hidden_size: 3, input_labels: null, target_labels: null,
    config: null, schedule: { segments: [{ name: 'all', start: 0, stop: T, emits: true }] }, embedding_size: embedding,
  };
}

/** x of a path "M x0,y L x1,y". */
const ends = (edge) => edge.d.match(/M([\d.]+),[\d.]+ L([\d.]+),/).slice(1).map(Number);

test('a reverse-only layer over a forward one: one row each, the reverse one drawn right to left', () => {
  const m = meta(['h_l0', 'h_l1_reverse'], { T: 4, layers: 2 });
  assert.deepEqual(layerDirections(m, 0), [0]);
  assert.deepEqual(layerDirections(m, 1), [1]);
  const layout = layoutGraph(m);
  assert.deepEqual(layout.rows.map((r) => `${r.kind}|${r.node}`),
    ['loss|loss', 'out|logits', 'c|h_l1_reverse', 'h|h_l1_reverse', 'c|h_l0', 'h|h_l0', 'x|x']);
  assert.deepEqual(layout.rows.map((r) => r.label).slice(2, 6), ['c₂←(t)', 'h₂←(t)', 'c₁(t)', 'h₁(t)']);
  assert.deepEqual(layout.initials.map((n) => n.key).sort(), ['c|h_l0|-1', 'c|h_l1_reverse|4', 'h|h_l0|-1', 'h|h_l1_reverse|4']);
  const recurrent = layout.edges.filter((e) => e.kind === 'recurrent');
  const reverse = recurrent.filter((e) => e.from.includes('h_l1_reverse'));
  assert.equal(reverse.length, 4);
  for (const t of [0, 1, 2, 3]) assert.ok(reverse.some((e) => e.from === `h|h_l1_reverse|${t + 1}` && e.to === `h|h_l1_reverse|${t}`));
  assert.ok(reverse.every((e) => { const [x0, x1] = ends(e); return x1 < x0; }), 'leftward');
  assert.ok(recurrent.filter((e) => e.from.includes('|h_l0|')).every((e) => { const [x0, x1] = ends(e); return x1 > x0; }), 'rightward');
  // the gradient an edge carries back is ∂L/∂h at its head: the step processed later
  assert.deepEqual(reverse.find((e) => e.to === 'h|h_l1_reverse|0').carries, { node: 'h_l1_reverse', t: 0 });
  assert.ok(layout.edges.some((e) => e.kind === 'input' && e.from === 'h|h_l0|2' && e.to === 'h|h_l1_reverse|2'));
  assert.ok(layout.edges.some((e) => e.kind === 'output' && e.from === 'h|h_l1_reverse|2' && e.to === 'out|logits|2'));
  assert.ok(layout.labels.some((l) => l.text === 'V') && !layout.labels.some((l) => l.text === 'V′'));
});

test('an embedding in front of a reverse-only first layer rides on its one node in both phases', () => {
  const m = meta(['h_l0_reverse'], { embedding: 3 });
  assert.equal(eventNodeOf('e', 'embedding', 'forward', m), 'h_l0_reverse');
  assert.equal(eventNodeOf('e', 'embedding', 'backward', m), 'h_l0_reverse');
  const both = { ...meta(['h_l0', 'h_l0_reverse']), directions: 2 };
  assert.equal(eventNodeOf('e', 'embedding', 'forward', both), 'h_l0');
  assert.equal(eventNodeOf('e', 'embedding', 'backward', both), 'h_l0_reverse');
});
