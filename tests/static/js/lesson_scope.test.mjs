// A scene's scope (what placeholders read) and where its step puts the cursor; scene navigation.

import test from 'node:test';
import assert from 'node:assert/strict';

import { EventStore } from '../../../static/js/store.js';
import { sceneScope, stepSeq, configKey } from '../../../static/js/lesson_scope.js';
import { sceneIndex, moveScene, counterText, highlightTarget } from '../../../static/js/lesson_engine.js';
import { PLAIN, wireEvent } from './metas.mjs';

/** PLAIN (T = 4) fully received: forward h 0–3, outputs 4–11, backward logits 12–15, backward h 16–19. */
function fullStore() {
  const store = new EventStore();
  store.reset({ ...PLAIN, output_labels: ['a', 'b'], target_labels: ['b', null, 'a', 'b'] });
  let seq = 0;
  for (let t = 0; t < 4; t += 1) store.add(wireEvent(seq++, 'forward', 'h_l0', t, 1 + t, { h: [0.1 * t, 0.2] }));
  for (let t = 0; t < 4; t += 1) {
    store.add(wireEvent(seq++, 'forward', 'logits', t, 1, { logits: [1, 2], probs: [0.25, 0.75] }));
    store.add(wireEvent(seq++, 'forward', 'loss', t, 0.5, { loss: [0.5] }));
  }
  for (let t = 3; t >= 0; t -= 1) store.add(wireEvent(seq++, 'backward', 'logits', t, 0.3, { dlogits: [0.25, -0.25] }));
  for (let t = 3; t >= 0; t -= 1) store.add(wireEvent(seq++, 'backward', 'h_l0', t, 'NaN', { dh: [t, 'Infinity'] }));
  store.setSummary({ type: 'summary', loss: 2, loss_t: [0.5, 0.5, 0.5, 0.5], gradient_norms: { h_l0: [4, 3, 2, 1] },
    vanishing: { h_l0: { k: 3, distance: [0, 1], norms: [1, 2], factor: 0.5, bound: 0.9, sigma_max: 0.9 } },
    grad_contributions: { 'head.weight': [1, 2, 3, 4] }, grad_norms: { 'head.weight': 5 }, flow: {} });
  return store;
}

test('the scope reads every event by phase, node and t, the cursor event bare, the summary by wire name', () => {
  const store = fullStore();
  const scope = sceneScope(store, 17);   // backward h_l0 at t = 2
  assert.equal(scope.t, 2);
  assert.deepEqual(scope.dh, [2, Infinity]);
  assert.deepEqual(scope.dL_dh, scope.dh);
  assert.ok(Number.isNaN(scope.norm));
  assert.deepEqual(scope.fwd.h_l0[3].h, [0.30000000000000004, 0.2]);
  assert.deepEqual(scope.bwd.logits[0].dlogits, [0.25, -0.25]);
  assert.equal(scope.summary.vanishing.h_l0.sigma_max, 0.9);
  assert.deepEqual(scope.summary.grad_contributions['head.weight'], [1, 2, 3, 4]);
  assert.deepEqual(scope.target, [1, null, 0, 1]);
  assert.equal(scope.y, 0);
  assert.equal(scope.T, 4);
});

test("a scene's step: end, start, a seq, an event, a phase edge; null when the run has none", () => {
  const store = fullStore();
  assert.equal(stepSeq(undefined, store), 19);
  assert.equal(stepSeq('end', store), 19);
  assert.equal(stepSeq('start', store), -1);
  assert.equal(stepSeq(7, store), 7);
  assert.equal(stepSeq(20, store), null);
  assert.equal(stepSeq({ phase: 'backward', node: 'logits', t: 3 }, store), 12);
  assert.equal(stepSeq({ phase: 'forward', node: 'h_l0', t: 2 }, store), 2);
  assert.equal(stepSeq({ phase: 'backward', edge: 'start' }, store), 12);
  assert.equal(stepSeq({ phase: 'forward', edge: 'end' }, store), 11);
  assert.equal(stepSeq({ phase: 'backward', node: 'h_l1', t: 0 }, store), null);
});

test('equal configs share one run whatever their key order', () => {
  assert.equal(configKey({ preset: 'x', seq_len: 6 }), configKey({ seq_len: 6, preset: 'x', text: null }));
  assert.notEqual(configKey({ preset: 'x', seq_len: 6 }), configKey({ preset: 'x', seq_len: 7 }));
});

test('scene numbers: the permalink is 1-based and clamped, moves stay inside the lesson', () => {
  assert.equal(sceneIndex(4, 7), 3);
  assert.equal(sceneIndex(null, 7), 0);
  assert.equal(sceneIndex(99, 7), 6);
  assert.equal(sceneIndex(0, 7), 0);
  assert.equal(moveScene(0, -1, 7), 0);
  assert.equal(moveScene(6, 1, 7), 6);
  assert.equal(moveScene(2, 1, 7), 3);
  assert.equal(counterText(3, 7), 'Scene 4 / 7');
});

test('highlights become selectors on the page', () => {
  assert.equal(highlightTarget({ node: 'h_l0', t: 3 }).selector, '#graph g[data-node="h_l0"][data-t="3"]');
  assert.equal(highlightTarget({ node: 'loss' }).selector, '#graph g[data-node="loss"]');
  assert.equal(highlightTarget({ edge: 'recurrent' }).selector, '#graph path[data-edge="recurrent"]');
  assert.deepEqual(highlightTarget({ plot: 'plot-flow' }), { selector: '[data-testid="plot-flow"]', text: null, card: true });
  assert.deepEqual(highlightTarget({ equation: 'Wᵀ' }), { selector: '#equation .eq-line', text: 'Wᵀ', card: false });
  assert.throws(() => highlightTarget({ colour: 'red' }), /names node, edge/);
});
