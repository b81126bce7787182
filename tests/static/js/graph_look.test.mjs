// How a node of the graph looks at a cursor (static/js/graph_look.js): pending, forward size,
// backward gradient (an LSTM's c row reads ∂L/∂c), the predicted label, edge widths.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { nodeLook, edgeWidth, frameScales, shorten } from '../../../static/js/graph_look.js';
import { layoutGraph } from '../../../static/js/graph_layout.js';

const LSTM = { name: 'lstm', states: ['h', 'c'], gates: [] };
const meta = {
  T: 2, layers: 1, directions: 1, cell: 'lstm', cell_spec: LSTM, loss: 'cross_entropy', has_target: [true, true],
  hidden_size: 4, output_size: 2, output_labels: ['yes', 'no'], input_labels: ['a', 'b'], target_labels: ['no', 'yes'], config: {},
};

/** A store of `events` with the colour domains the graph reads. */
function store(events) {
  return {
    meta,
    get: (seq) => events.find((e) => e.seq === seq),
    find: (phase, node, t, cursor) => events.find((e) => e.phase === phase && e.node === node && e.t === t && e.seq <= cursor),
    phaseAt: (cursor) => events.find((e) => e.seq === cursor)?.phase ?? 'forward',
    backwardDomain: () => [1e-3, 1],
    forwardScale: () => 1,
  };
}

const events = [
  { seq: 0, phase: 'forward', node: 'h_l0', t: 0, norm: 1, norms: { c: 2 }, values: {} },
  { seq: 1, phase: 'forward', node: 'logits', t: 0, norm: 1, norms: {}, values: { probs: [0.2, 0.8] } },
  { seq: 2, phase: 'backward', node: 'h_l0', t: 0, norm: 0.5, norms: { dc: NaN }, values: {} },
];
const layout = layoutGraph(meta);
const node = (key) => layout.nodes.find((n) => n.key === key);
const look = (key, cursor) => {
  const s = store(events);
  return nodeLook(node(key), { store: s, cursor, meta, scales: frameScales(s, cursor) });
};

test('before its event a node is pending; after it, coloured by its size', () => {
  assert.equal(look('h|h_l0|1', 0).cls, 'pending');
  const h = look('h|h_l0|0', 0);
  assert.equal(h.cls, 'done');
  assert.match(h.title, /‖h‖ = 1/);
  assert.match(look('c|h_l0|0', 0).title, /^c\(0\): ‖c‖ = 2/);
});

test('an output shows its predicted class; inputs and losses their labels', () => {
  assert.equal(look('out|logits|0', 1).text, 'no');
  assert.equal(look('x|x|1', 1).text, 'b');
  assert.equal(look('loss|loss|0', 1).text, 'no');
});

test('backward: h reads ‖∂L/∂h‖, the c row ‖∂L/∂c‖ (NaN drawn as NaN), a later step waits', () => {
  const h = look('h|h_l0|0', 2);
  assert.match(h.title, /‖∂L\/∂h‖ = 0.5/);
  const c = look('c|h_l0|0', 2);
  assert.equal(c.text, 'NaN');
  assert.equal(look('h|h_l0|1', 2).cls, 'pending');
});

test('a recurrent edge thickens only once its gradient has arrived', () => {
  const s = store(events);
  const edge = layout.edges.find((e) => e.kind === 'recurrent' && e.to === 'h|h_l0|0');
  assert.equal(edgeWidth(edge.carries, { store: s, cursor: 1, scales: frameScales(s, 1) }), '');
  assert.ok(Number(edgeWidth(edge.carries, { store: s, cursor: 2, scales: frameScales(s, 2) })) > 0);
  assert.equal(shorten('abcdefgh', 5), 'abcd…');
});
