// The unrolled graph's layout (static/js/graph_layout.js) from a run's meta: which rows, which
// nodes in which columns, which edges between which nodes. Structure, not pixels.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { layoutGraph, graphRows, patternOf, eventNodeKey } from '../../../static/js/graph_layout.js';

const RNN = { name: 'rnn_tanh', states: ['h'], gates: [] };
const LSTM = {
  name: 'lstm', states: ['h', 'c'],
  gates: [
    { name: 'i', title: 'input gate', range: [0, 1] }, { name: 'f', title: 'forget gate', range: [0, 1] },
    { name: 'g', title: 'candidate', range: [-1, 1] }, { name: 'o', title: 'output gate', range: [0, 1] },
  ],
};

/** A meta message as the server sends it, reduced to what the layout reads. */
function meta({ T = 4, layers = 1, directions = 1, cell = RNN, hasTarget = null, segments = null, config = {} } = {}) {
  const schedSegments = segments ?? [{ name: 'all', start: 0, stop: T, emits: true }];
  return {
    type: 'meta', T, layers, directions, cell: cell.name, cell_spec: cell, loss: 'cross_entropy',
    has_target: hasTarget ?? Array(T).fill(true), output_size: 4, hidden_size: 3,
    input_labels: [...Array(T).keys()].map((t) => `w${t}`), target_labels: null,
    config: { unroll: 'teacher_forced', recurrent_gradient: true, ...config },
    schedule: { segments: schedSegments },
    ...(segments ? { segments: segments.map(({ name, start, stop }) => ({ name, start, stop })) } : {}),
  };
}

const kinds = (layout) => layout.rows.map((r) => r.kind);
const nodesOf = (layout, kind) => layout.nodes.filter((n) => n.kind === kind);
const edgesOf = (layout, kind) => layout.edges.filter((e) => e.kind === kind);
const has = (layout, kind, from, to) => layout.edges.some((e) => e.kind === kind && e.from === from && e.to === to);

test('a plain one-layer run: rows L, ŷ, h, x; a node per step in every row', () => {
  const layout = layoutGraph(meta({ T: 5 }));
  assert.deepEqual(kinds(layout), ['loss', 'out', 'h', 'x']);
  for (const kind of ['loss', 'out', 'h', 'x']) assert.deepEqual(nodesOf(layout, kind).map((n) => n.t), [0, 1, 2, 3, 4]);
  assert.deepEqual(layout.initials.map((n) => n.key), ['h|h_l0|-1']);
  // one column per step, left to right; one row per kind, top to bottom
  const hs = nodesOf(layout, 'h');
  assert.ok(hs.every((n, i) => i === 0 || n.x > hs[i - 1].x));
  assert.ok(nodesOf(layout, 'x')[0].y > hs[0].y && hs[0].y > nodesOf(layout, 'out')[0].y);
  assert.deepEqual(nodesOf(layout, 'x').map((n) => n.label), ['w0', 'w1', 'w2', 'w3', 'w4']);
  assert.equal(edgesOf(layout, 'input').length, 5);
  assert.equal(edgesOf(layout, 'output').length, 5);
  assert.equal(edgesOf(layout, 'loss').length, 5);
  assert.equal(edgesOf(layout, 'recurrent').length, 5);
  assert.ok(has(layout, 'recurrent', 'h|h_l0|-1', 'h|h_l0|0'));
  assert.ok(has(layout, 'recurrent', 'h|h_l0|3', 'h|h_l0|4'));
  assert.ok(has(layout, 'input', 'x|x|2', 'h|h_l0|2') && has(layout, 'output', 'h|h_l0|2', 'out|logits|2'));
  assert.equal(edgesOf(layout, 'context').length + edgesOf(layout, 'feedback').length + edgesOf(layout, 'cell').length, 0);
  assert.deepEqual(layout.segments, []);
  // every h edge carries its step's gradient back
  assert.deepEqual(edgesOf(layout, 'recurrent').map((e) => e.carries.t), [0, 1, 2, 3, 4]);
  assert.deepEqual(layout.labels.filter((l) => l.text === 'W').length, 5);
});

test('a bidirectional two-layer run: a row per layer and direction, reverse above forward', () => {
  const layout = layoutGraph(meta({ T: 4, layers: 2, directions: 2 }));
  assert.deepEqual(layout.rows.map((r) => r.node), ['loss', 'logits', 'h_l1_reverse', 'h_l1', 'h_l0_reverse', 'h_l0', 'x']);
  assert.deepEqual(layout.rows.map((r) => r.label), ['L(t)', 'ŷ(t)', 'h₂←(t)', 'h₂(t)', 'h₁←(t)', 'h₁(t)', 'x(t)']);
  assert.equal(nodesOf(layout, 'h').length, 4 * 4);
  // the reverse direction starts from h(T) and runs right to left
  assert.deepEqual(layout.initials.map((n) => n.key).sort(), ['h|h_l0_reverse|4', 'h|h_l0|-1', 'h|h_l1_reverse|4', 'h|h_l1|-1']);
  assert.ok(has(layout, 'recurrent', 'h|h_l0_reverse|4', 'h|h_l0_reverse|3'));
  assert.ok(has(layout, 'recurrent', 'h|h_l0_reverse|1', 'h|h_l0_reverse|0'));
  assert.equal(edgesOf(layout, 'recurrent').length, 4 * 4);
  // layer 2 reads both directions of layer 1; the outputs read both directions of layer 2
  assert.ok(has(layout, 'input', 'h|h_l0|1', 'h|h_l1_reverse|1') && has(layout, 'input', 'h|h_l0_reverse|1', 'h|h_l1|1'));
  assert.equal(edgesOf(layout, 'input').length, 4 * (2 + 2 * 2));
  assert.ok(has(layout, 'output', 'h|h_l1_reverse|2', 'out|logits|2') && has(layout, 'output', 'h|h_l1|2', 'out|logits|2'));
  assert.equal(edgesOf(layout, 'output').length, 4 * 2);
  assert.ok(['W₁′', 'W₂', 'U₂′', 'V′'].every((name) => layout.labels.some((l) => l.text === name)));
});

test('an LSTM: a c row above each h row, its conveyor gated by f, linked down to h', () => {
  const m = meta({ T: 3, cell: LSTM });
  assert.deepEqual(graphRows(m).map((r) => r.kind), ['loss', 'out', 'c', 'h', 'x']);
  const layout = layoutGraph(m);
  assert.deepEqual(nodesOf(layout, 'c').map((n) => [n.name, n.node, n.t]), [['c_l0', 'h_l0', 0], ['c_l0', 'h_l0', 1], ['c_l0', 'h_l0', 2]]);
  assert.deepEqual(layout.initials.map((n) => n.key).sort(), ['c|h_l0|-1', 'h|h_l0|-1']);
  assert.equal(edgesOf(layout, 'cell').length, 3);
  assert.ok(has(layout, 'cell', 'c|h_l0|0', 'c|h_l0|1'));
  assert.equal(layout.labels.filter((l) => l.text === 'f⊙').length, 3);
  assert.equal(layout.edges.filter((e) => e.cls === 'edge cell-link').length, 3);
  assert.ok(layout.edges.some((e) => e.cls === 'edge cell-link' && e.from === 'c|h_l0|1' && e.to === 'h|h_l0|1'));
  // the output skips over the c row
  assert.ok(edgesOf(layout, 'output').every((e) => e.cls.includes('skip')));
  assert.ok(edgesOf(layout, 'cell').every((e) => e.carries === null));
});

test('many-to-one: one ŷ and one L, at the last step', () => {
  const layout = layoutGraph(meta({ T: 6, hasTarget: [false, false, false, false, false, true] }));
  assert.deepEqual(nodesOf(layout, 'out').map((n) => n.t), [5]);
  assert.deepEqual(nodesOf(layout, 'loss').map((n) => n.t), [5]);
  assert.equal(nodesOf(layout, 'h').length, 6);
  assert.equal(edgesOf(layout, 'output').length, 1);
  assert.equal(edgesOf(layout, 'loss').length, 1);
  assert.ok(has(layout, 'loss', 'out|logits|5', 'loss|loss|5'));
});

test('the encoder–decoder: two segments joined by the context edge, weights marked ᴱ and ᴰ', () => {
  const segments = [{ name: 'encoder', start: 0, stop: 4, emits: false }, { name: 'decoder', start: 4, stop: 8, emits: true }];
  const hasTarget = [false, false, false, false, true, true, true, true];
  const layout = layoutGraph(meta({ T: 8, segments, hasTarget, cell: LSTM }));
  assert.deepEqual(layout.segments.map((s) => s.name), ['encoder', 'decoder']);
  assert.ok(layout.segments[0].x1 < layout.segments[1].x0);
  assert.deepEqual(edgesOf(layout, 'context').map((e) => [e.from, e.to]), [['h|h_l0|3', 'h|h_l0|4']]);
  assert.equal(edgesOf(layout, 'recurrent').length, 7);
  assert.ok(!has(layout, 'recurrent', 'h|h_l0|3', 'h|h_l0|4'));
  // the cell state crosses too, marked as context; the context carries the decoder's gradient back
  assert.deepEqual(layout.edges.filter((e) => e.kind === 'cell' && e.cls.includes('context')).map((e) => e.to), ['c|h_l0|4']);
  assert.deepEqual(edgesOf(layout, 'context')[0].carries, { node: 'h_l0', t: 4 });
  assert.deepEqual(nodesOf(layout, 'out').map((n) => n.t), [4, 5, 6, 7]);
  assert.ok(layout.labels.some((l) => l.text === 'Wᴱ') && layout.labels.some((l) => l.text === 'Uᴰ'));
  assert.ok(layout.labels.some((l) => l.text === 'context' && l.cls.includes('context-label')));
  assert.equal(edgesOf(layout, 'feedback').length, 0);
});

test('free running feeds each ŷ(t) back as x(t+1); in an encoder–decoder from the decoder on', () => {
  const plain = layoutGraph(meta({ T: 5, config: { unroll: 'free_running' } }));
  assert.deepEqual(edgesOf(plain, 'feedback').map((e) => [e.from, e.to]), [0, 1, 2, 3].map((t) => [`out|logits|${t}`, `x|x|${t + 1}`]));
  assert.deepEqual(nodesOf(plain, 'x').map((n) => n.fedBack), [false, true, true, true, true]);
  const segments = [{ name: 'encoder', start: 0, stop: 3, emits: false }, { name: 'decoder', start: 3, stop: 6, emits: true }];
  const s2s = layoutGraph(meta({ T: 6, segments, config: { unroll: 'free_running' } }));
  assert.deepEqual(edgesOf(s2s, 'feedback').map((e) => e.fromT), [3, 4]);
});

test('Elman context units: every W edge is cut and carries no gradient', () => {
  const m = meta({ T: 4, config: { recurrent_gradient: false } });
  assert.equal(patternOf(m).cut, true);
  const layout = layoutGraph(m);
  assert.equal(edgesOf(layout, 'recurrent').length, 4);
  assert.ok(edgesOf(layout, 'recurrent').every((e) => e.cut && e.carries === null && e.cls.includes('cut')));
});

test('events land on the node of their kind', () => {
  assert.equal(eventNodeKey('logits', 3), 'out|logits|3');
  assert.equal(eventNodeKey('loss', 3), 'loss|loss|3');
  assert.equal(eventNodeKey('h_l1_reverse', 0), 'h|h_l1_reverse|0');
});
