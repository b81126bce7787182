// Word embeddings and padded batches in the graph (static/js/graph_layout.js, graph_look.js): the
// e(t) row between x and the first layer, its events, and the shown sentence's padding drawn absent.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { layoutGraph, eventNodeOf, isPadding } from '../../../static/js/graph_layout.js';
import { nodeLook } from '../../../static/js/graph_look.js';

const LSTM = {
  name: 'lstm', states: ['h', 'c'],
  gates: [{ name: 'i', title: 'input gate', range: [0, 1] }, { name: 'f', title: 'forget gate', range: [0, 1] },
    { name: 'g', title: 'candidate', range: [-1, 1] }, { name: 'o', title: 'output gate', range: [0, 1] }],
};

function meta({ T = 5, directions = 2, embedding = 4, length = 3 } = {}) {
  return {
    type: 'meta', T, layers: 1, directions, cell: 'lstm', cell_spec: LSTM, loss: 'cross_entropy',
    has_target: [...Array(T).keys()].map((t) => t < (length ?? T)), output_size: 3, hidden_size: 4,
    input_labels: [...Array(T).keys()].map((t) => (t < (length ?? T) ? `w${t}` : '<pad>')), target_labels: null,
    config: { unroll: 'teacher_forced', recurrent_gradient: true }, schedule: { segments: [] },
    embedding_size: embedding, length, lengths: length === null ? null : [T, length],
  };
}

test('an embedding row e(t) sits between x and the first layer, fed by E; the layer reads it', () => {
  const layout = layoutGraph(meta({ length: null }));
  const kinds = layout.rows.map((r) => r.kind);
  assert.deepEqual(kinds.slice(-3), ['h', 'e', 'x']);
  assert.equal(layout.nodes.filter((n) => n.kind === 'e').length, 5);
  assert.ok(layout.nodes.filter((n) => n.kind === 'e').every((n) => n.name === 'embedding'));
  assert.equal(layout.edges.filter((e) => e.kind === 'embedding').length, 5);
  assert.ok(layout.edges.some((e) => e.kind === 'input' && e.from === 'e|embedding|2' && e.to === 'h|h_l0|2'));
  assert.ok(!layout.edges.some((e) => e.kind === 'input' && e.from.startsWith('x|')));
  assert.ok(layout.labels.some((l) => l.text === 'E'));
});

test('the embedding rides on the first layer\'s events: e forward on h_l0, ∂L/∂e on its last direction', () => {
  assert.equal(eventNodeOf('e', 'embedding', 'forward', meta()), 'h_l0');
  assert.equal(eventNodeOf('e', 'embedding', 'backward', meta()), 'h_l0_reverse');
  assert.equal(eventNodeOf('e', 'embedding', 'backward', meta({ directions: 1 })), 'h_l0');
  assert.equal(eventNodeOf('out', 'logits', 'forward', meta()), 'logits');
});

test('the shown sentence\'s padded steps are absent: dashed, no values, edges into them carry nothing', () => {
  const m = meta();
  const layout = layoutGraph(m);
  assert.ok(isPadding(m, 3) && !isPadding(m, 2) && !isPadding({ ...m, length: null }, 4));
  const padded = layout.nodes.filter((n) => n.padded);
  assert.deepEqual([...new Set(padded.map((n) => n.t))], [3, 4]);
  assert.ok(padded.some((n) => n.kind === 'e') && padded.some((n) => n.kind === 'x') && padded.some((n) => n.kind === 'c'));
  const recurrent = layout.edges.filter((e) => e.kind === 'recurrent');
  assert.ok(recurrent.filter((e) => e.cls.includes('padded')).every((e) => e.carries === null));
  // the reverse direction's edge out of the padding into the last word says where it starts
  const start = recurrent.find((e) => e.to === 'h|h_l0_reverse|2');
  assert.ok(start.cls.includes('padded') && /starts here/.test(start.title));
  const store = { find: () => ({ norm: 1, norms: { e: 1 }, values: {} }), phaseAt: () => 'forward' };
  const scales = { phase: 'forward', domain: [1e-6, 1], fwdTop: 1, H: 4 };
  const node = layout.nodes.find((n) => n.kind === 'h' && n.t === 4);
  const look = nodeLook(node, { store, cursor: 0, meta: m, scales });
  assert.equal(look.cls, 'padded');
  assert.equal(look.text, '');
  assert.equal(look.fill, 'none');
  const e = layout.nodes.find((n) => n.kind === 'e' && n.t === 1);
  assert.equal(nodeLook(e, { store, cursor: 0, meta: m, scales }).cls, 'done');
});
