// Issue 15's graphs from a run's meta: a recursive net's tree (static/js/graph_tree.js) and the
// Jordan / output-recurrent edits of the chain's layout (static/js/graph_feedback.js). Structure:
// which nodes, which edges between which nodes, which edges carry a gradient.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { layoutGraph, nodeKey } from '../../../static/js/graph_layout.js';
import { layoutTree, TREE_NODE } from '../../../static/js/graph_tree.js';
import { decorateFeedback, isFeedback } from '../../../static/js/graph_feedback.js';
import { nodeLook } from '../../../static/js/graph_look.js';
import { GRAPH } from '../../../static/js/theme/config.js';

const RNN = { name: 'rnn_tanh', states: ['h'], gates: [] };

// "(I (like cake))" as the server sends it (Tree.as_dict)
const TREE = {
  children: [null, null, null, [1, 2], [0, 3]], parent: [4, 3, 3, 4, null], side: ['left', 'left', 'right', 'right', null],
  depth: [1, 2, 2, 1, 0], leaves: [0, 1, 2], words: ['I', 'like', 'cake'], height: 2, bracket: '(I (like cake))',
};

function chainMeta(feed, T = 4) {
  return {
    type: 'meta', T, layers: 1, directions: 1, cell: 'rnn_tanh', cell_spec: RNN, loss: 'cross_entropy',
    has_target: Array(T).fill(true), output_size: 3, hidden_size: 4, input_labels: ['a', 'b', 'c', 'd'],
    target_labels: ['b', 'c', 'd', 'e'], config: { unroll: 'teacher_forced', recurrent_gradient: true },
    schedule: { segments: [{ name: 'all', start: 0, stop: T, emits: true }] },
    topology: { name: feed === 'memory' ? 'jordan' : 'output_recurrence', feed, alpha: 0.5, fed_size: 3 },
  };
}

const count = (layout, pred) => layout.nodes.filter(pred).length;
const edgesOf = (layout, kind) => layout.edges.filter((e) => e.kind === kind);

test('the tree: one node per tree node and word, the root output and loss on top', () => {
  const layout = layoutTree({ tree: TREE, loss: 'cross_entropy', target_labels: ['NOUN'] });
  assert.equal(count(layout, (n) => n.node === TREE_NODE), 5);
  assert.deepEqual(layout.nodes.filter((n) => n.kind === 'x').map((n) => n.label), ['I', 'like', 'cake']);
  assert.equal(count(layout, (n) => n.kind === 'out'), 1);
  assert.equal(count(layout, (n) => n.kind === 'loss'), 1);
  const root = layout.nodes.find((n) => n.key === nodeKey('h', TREE_NODE, 4));
  const out = layout.nodes.find((n) => n.kind === 'out');
  const loss = layout.nodes.find((n) => n.kind === 'loss');
  assert.ok(loss.y < out.y && out.y < root.y, 'the loss at the top, then ŷ, then the root');
  for (const k of [0, 1, 2, 3]) {
    const child = layout.nodes.find((n) => n.key === nodeKey('h', TREE_NODE, k));
    assert.ok(child.y > root.y);
  }
});

test('a compact (presenter) tree names the shared U, W once at the root and V once; full size labels every edge', () => {
  const texts = (layout) => layout.labels.map((l) => l.text).sort();
  const meta = { tree: TREE, loss: 'cross_entropy' };
  assert.deepEqual(texts(layoutTree(meta)), ['U', 'U', 'V', 'V', 'V', 'V\u2092', 'W', 'W']);
  const compact = layoutTree(meta, { ...GRAPH, compact: true });
  assert.deepEqual(texts(compact), ['U', 'V', 'V\u2092', 'W']);
  assert.equal(compact.edges.length, layoutTree(meta).edges.length, 'every edge is still drawn');
});

test('tree edges: U for a left child, W for a right one, each carrying its parent\'s gradient', () => {
  const layout = layoutTree({ tree: TREE, loss: 'cross_entropy' });
  const left = edgesOf(layout, 'left');
  const right = edgesOf(layout, 'right');
  assert.equal(left.length + right.length, 4);
  assert.deepEqual(left.map((e) => [e.from, e.carries.t]), [[nodeKey('h', TREE_NODE, 1), 3], [nodeKey('h', TREE_NODE, 0), 4]]);
  assert.deepEqual(right.map((e) => e.to), [nodeKey('h', TREE_NODE, 3), nodeKey('h', TREE_NODE, 4)]);
  assert.equal(edgesOf(layout, 'input').length, 3);
  assert.equal(layout.T, 5);
  assert.ok(layout.columnOf(4) > layout.columnOf(0) && layout.columnOf(4) < layout.columnOf(2));
});

test('Jordan: a memory unit per step after the first, a fixed self-loop that never carries a gradient', () => {
  const meta = chainMeta('memory');
  assert.ok(isFeedback(meta));
  const layout = decorateFeedback(layoutGraph(meta), meta);
  assert.equal(count(layout, (n) => n.kind === 'm'), 3);
  assert.equal(edgesOf(layout, 'recurrent').length, 0, 'no h(t−1) → h(t)');
  assert.equal(layout.initials.length, 0);
  const loops = edgesOf(layout, 'memory-loop');
  assert.equal(loops.length, 2);
  assert.ok(loops.every((e) => !e.carries && /fed/.test(e.cls)));
  assert.deepEqual(edgesOf(layout, 'fed').map((e) => e.from), [0, 1, 2].map((t) => nodeKey('out', 'logits', t)));
  assert.ok(edgesOf(layout, 'fed-input').every((e) => !e.carries));
});

test('output recurrence: teacher forcing feeds y(t−1) from the target, free running ŷ(t−1)', () => {
  for (const [feed, from] of [['teacher', 'loss'], ['output', 'out']]) {
    const meta = chainMeta(feed);
    const layout = decorateFeedback(layoutGraph(meta), meta);
    const fed = edgesOf(layout, 'fed-input');
    assert.equal(fed.length, 3);
    assert.deepEqual(fed.map((e) => e.from.split('|')[0]), [from, from, from]);
    assert.equal(count(layout, (n) => n.kind === 'm'), 0);
  }
});

test('a memory node looks like a given constant once its step ran, never like a gradient', () => {
  const meta = chainMeta('memory');
  const layout = decorateFeedback(layoutGraph(meta), meta);
  const m = layout.nodes.find((n) => n.kind === 'm');
  const store = { find: (phase, node, t) => (phase === 'forward' && node === 'h_l0' && t <= 2 ? { norm: 1 } : null) };
  const scales = { phase: 'backward', domain: [0, 1], fwdTop: 1, H: 4 };
  assert.match(nodeLook(m, { store, cursor: 10, meta, scales }).cls, /given memory/);
  assert.match(nodeLook(m, { store: { find: () => null }, cursor: 0, meta, scales }).cls, /pending memory/);
});

test('step equations: a tree node reads its children with U and W, a fed step has no recurrent term', async () => {
  const { describeEvent } = await import('../../../static/js/equations.js');
  const store = { find: (phase, node, t) => (phase === 'backward' && t === 4 ? { norm: 2 } : null) };
  const meta = { tree: TREE, T: 3 };
  const fwd = describeEvent({ phase: 'forward', node: 'h_tree', t: 3, seq: 3, values: { h: [0.1, 0.2] }, norm: 0.2 }, store, meta);
  assert.equal(fwd.lines[0][0], 'h₃ = tanh(U h₁ + W h₂ + b)');
  const leaf = describeEvent({ phase: 'forward', node: 'h_tree', t: 0, seq: 0, values: { h: [0.1] }, norm: 0.1 }, store, meta);
  assert.match(leaf.lines[0][0], /V x₀ .*“I”/);
  const back = describeEvent({ phase: 'backward', node: 'h_tree', t: 3, seq: 9, values: { dh: [1] }, norm: 1 }, store, meta);
  assert.equal(back.lines[0][0], '∂L/∂h₃ = Wᵀ diag(1 − h₄²) ∂L/∂h₄');
  assert.match(back.lines[1][0], /= 0.5/);
  const jordan = chainMeta('memory');
  const step = describeEvent({ phase: 'backward', node: 'h_l0', t: 2, seq: 30, values: { dh: [1] }, norm: 1 }, store, jordan);
  assert.match(step.lines[0][0], /^∂L\/∂h₂ = Vᵀ ∂L\/∂o₂ +?/);
  assert.ok(!/W/.test(step.lines[0][0]));
  const tf = describeEvent({ phase: 'forward', node: 'h_l0', t: 2, seq: 2, values: { h: [1] }, norm: 1 }, store, chainMeta('teacher'));
  assert.equal(tf.lines[0][0], 'h₂ = tanh(U x₂ + W y₁ + b)');
});
