// Scalar mode (issue 16): with hidden size 1 every state node shows its number, forward and backward;
// an output of size 1 too. Larger nodes keep their colour-only look.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { nodeLook, frameScales, scalarText } from '../../../static/js/graph_look.js';
import { layoutGraph } from '../../../static/js/graph_layout.js';

const meta = {
  T: 2, layers: 1, directions: 1, cell: 'rnn_tanh', cell_spec: { name: 'rnn_tanh', states: ['h'], gates: [] },
  loss: 'mse', has_target: [true, true], hidden_size: 1, output_size: 1, output_labels: ['next'],
  input_labels: ['0.5', '0.1'], target_labels: ['0.1', '-0.2'], config: {},
};
const events = [
  { seq: 0, phase: 'forward', node: 'h_l0', t: 0, norm: 0.4621, norms: {}, values: { h: [-0.4621] } },
  { seq: 1, phase: 'forward', node: 'logits', t: 0, norm: 0.25, norms: {}, values: { logits: [0.25] } },
  { seq: 2, phase: 'backward', node: 'h_l0', t: 0, norm: 0.0123, norms: {}, values: { dh: [0.0123] } },
];
const store = {
  meta,
  find: (phase, node, t, cursor) => events.find((e) => e.phase === phase && e.node === node && e.t === t && e.seq <= cursor),
  phaseAt: (cursor) => events.find((e) => e.seq === cursor)?.phase ?? 'forward',
  backwardDomain: () => [1e-3, 1],
  forwardScale: () => 1,
};
const layout = layoutGraph(meta);
const look = (key, cursor) => {
  const node = layout.nodes.find((n) => n.key === key);
  return nodeLook(node, { store, cursor, meta, scales: frameScales(store, cursor) });
};

test('hidden size 1: h shows its value forward and its gradient backward', () => {
  assert.equal(look('h|h_l0|0', 0).text, '−0.462');
  assert.equal(look('h|h_l0|0', 2).text, '0.0123');
});

test('an output of size 1 shows o, not the label of its argmax', () => {
  assert.equal(look('out|logits|0', 1).text, '0.25');
});

test('larger states keep no number on the node', () => {
  const node = { kind: 'h' };
  assert.equal(scalarText(node, events[0], 'forward', { ...meta, hidden_size: 4 }), undefined);
  assert.equal(scalarText({ kind: 'x' }, events[0], 'forward', meta), undefined);
});
