import test from 'node:test';
import assert from 'node:assert/strict';
import { normLabel } from '../../../static/js/graph_norm_labels.js';

test('a node shows its gradient norm once its backward event has arrived, nothing before', () => {
  assert.equal(normLabel(null), '');
  assert.equal(normLabel(undefined), '');
  assert.notEqual(normLabel({ norm: 0.00213 }), '');
  assert.equal(normLabel({ norm: 0.00213 }), '2e-3');
  assert.equal(normLabel({ norm: 0.2213 }), '0.22');
  assert.equal(normLabel({ norm: 45000 }), '5e4');
  assert.equal(normLabel({ norm: NaN }), 'NaN');
});

test('a box is cut by an edge only when it lies partly inside the visible range', async () => {
  const { isCut } = await import('../../../static/js/graph_edge_clip.js');
  assert.equal(isCut(10, 30, 0, 100), false);   // wholly inside
  assert.equal(isCut(-40, -10, 0, 100), false); // wholly outside
  assert.equal(isCut(-10, 20, 0, 100), true);   // across the left edge
  assert.equal(isCut(90, 120, 0, 100), true);   // across the right edge
});

test('the embedding row has its own colour scale, apart from h', async () => {
  const { EventStore } = await import('../../../static/js/store.js');
  const { PLAIN } = await import('./metas.mjs');
  const store = new EventStore();
  store.reset({ ...PLAIN, embedding_size: 4 });
  store.add({ type: 'event', seq: 0, phase: 'forward', node: 'h_l0', t: 0, layer: 0, direction: 'fwd', norm: 1, values: {}, norms: { e: 8 } });
  assert.equal(store.embeddingScale(), 8 / 2);                       // ‖e‖ / √E
  assert.equal(store.forwardScale(), 1 / Math.sqrt(PLAIN.hidden_size)); // h's own, untouched by e
});
