// The summary facts only issue 15's topologies carry, decoded once (NaN/Infinity strings → numbers):
// a tree's depth profile and its chain comparison (plots_tree.js), a feedback network's fed edge and
// Jordan's memory-loop Jacobian norms (graph_feedback.js). store.js spreads this into its summary.

import { num, nums } from './format.js';

/** {depthProfile, chainComparison, feedback} of a summary message (null where the run has none). */
export function decodeTopologySummary(msg) {
  const profile = msg.depth_profile;
  const chain = msg.chain_comparison;
  const fb = msg.feedback;
  return {
    depthProfile: profile ? { ...profile, factor: num(profile.factor), bound: num(profile.bound) } : null,
    chainComparison: chain ? { ...chain, distance: nums(chain.distance), norms: nums(chain.norms), factor: num(chain.factor) } : null,
    feedback: fb ? {
      ...fb, fedJacobianNorms: nums(fb.fed_jacobian_norms ?? []),
      memoryJacobianNorms: fb.memory_jacobian_norms ? nums(fb.memory_jacobian_norms) : null,
    } : null,
  };
}
