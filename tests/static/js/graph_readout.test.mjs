// The final-state readout in the graph (issue 19): one ŷ and one L in the last column, fed by the top
// layer's forward state at its last real step and the reverse direction's state at t = 0; no per-step outputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { layoutGraph } from '../../../static/js/graph_layout.js';
import { finalStep } from '../../../static/js/graph_readout.js';

const GRU = { name: 'gru', states: ['h'], gates: [] };

/** A meta message as the server sends it for a final-state run (has_target: only row T − 1). */
function meta({ T = 6, layers = 2, directions = 2, length = null, readout = 'final_state' } = {}) {
  const nodes = [];
  for (let k = 0; k < layers; k += 1) nodes.push(`h_l${k}`, ...(directions === 2 ? [`h_l${k}_reverse`] : []));
  return {
    type: 'meta', T, layers, directions, nodes, cell: 'gru', cell_spec: GRU, loss: 'cross_entropy',
    has_target: [...Array(T).keys()].map((t) => t === T - 1), output_size: 3, hidden_size: 4,
    input_labels: null, target_labels: null, config: null, embedding_size: null, length, readout,
    schedule: { segments: [{ name: 'all', start: 0, stop: T, emits: true }] },
  };
}

const keysOf = (layout, kind) => layout.nodes.filter((n) => n.kind === kind).map((n) => n.t);
const finalEdges = (layout) => layout.edges.filter((e) => e.kind === 'final-state').map((e) => [e.from, e.to]).sort();

test('bidirectional, 2 layers: one ŷ and one L at T − 1, fed from h_l1(T−1) and h_l1←(0)', () => {
  const layout = layoutGraph(meta());
  assert.deepEqual(keysOf(layout, 'out'), [5]);
  assert.deepEqual(keysOf(layout, 'loss'), [5]);
  assert.deepEqual(finalEdges(layout), [['h|h_l1_reverse|0', 'out|logits|5'], ['h|h_l1|5', 'out|logits|5']]);
  assert.equal(layout.edges.filter((e) => e.kind === 'output').length, 0, 'no per-step output edges');
  assert.deepEqual(layout.labels.filter((l) => l.cls.includes('final-state')).map((l) => l.text).sort(), ['V', 'V′']);
});

test('a padded element: the forward final state is at length − 1; ŷ and L are not drawn as padding', () => {
  const layout = layoutGraph(meta({ length: 3 }));
  assert.deepEqual(finalEdges(layout), [['h|h_l1_reverse|0', 'out|logits|5'], ['h|h_l1|2', 'out|logits|5']]);
  const out = layout.nodes.find((n) => n.kind === 'out');
  assert.equal(out.padded, false);
  assert.equal(layout.nodes.find((n) => n.kind === 'h' && n.t === 4).padded, true);
  assert.equal(finalStep({ T: 6, length: 3 }, 0), 2);
  assert.equal(finalStep({ T: 6, length: 3 }, 1), 0);
});

test('unidirectional: one edge, from h(T−1); per_step keeps its per-step outputs', () => {
  const layout = layoutGraph(meta({ layers: 1, directions: 1 }));
  assert.deepEqual(finalEdges(layout), [['h|h_l0|5', 'out|logits|5']]);
  const perStep = meta({ layers: 1, directions: 1, readout: 'per_step' });
  perStep.has_target = Array(6).fill(true);
  const plain = layoutGraph(perStep);
  assert.equal(finalEdges(plain).length, 0);
  assert.deepEqual(keysOf(plain, 'out'), [0, 1, 2, 3, 4, 5]);
});

test('final_state draws no per-step ŷ even when has_target marks other steps', () => {
  const m = meta({ layers: 1 });
  m.has_target = Array(6).fill(true);
  assert.deepEqual(keysOf(layoutGraph(m), 'out'), [5]);
});
