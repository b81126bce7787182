// The summary facts of issue 15's topologies, decoded once for the plots and the graph.
import test from 'node:test';
import assert from 'node:assert/strict';
import { decodeTopologySummary } from '../../../static/js/topology_summary.js';

test('a tree summary decodes its depth profile and chain comparison, NaN strings included', () => {
  const out = decodeTopologySummary({
    depth_profile: { factor: 0.9, bound: 'NaN', depth: [0, 1] },
    chain_comparison: { distance: [1, 0], norms: ['Infinity', 0.5], factor: 0.92, steps: 2 },
  });
  assert.equal(out.depthProfile.factor, 0.9);
  assert.ok(Number.isNaN(out.depthProfile.bound));
  assert.deepEqual(out.chainComparison.norms, [Infinity, 0.5]);
  assert.equal(out.feedback, null);
});

test('a Jordan summary decodes the memory loop Jacobian norms; a chain has none of these', () => {
  const out = decodeTopologySummary({ feedback: { feed: 'memory', fed_jacobian_norms: [1, 1], memory_jacobian_norms: ['NaN', 0.5] } });
  assert.ok(Number.isNaN(out.feedback.memoryJacobianNorms[0]));
  assert.equal(out.feedback.memoryJacobianNorms[1], 0.5);
  assert.deepEqual(decodeTopologySummary({}), { depthProfile: null, chainComparison: null, feedback: null });
});
