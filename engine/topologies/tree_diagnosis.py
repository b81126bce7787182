"""What is wrong with a recursive network's run: the chain's findings (engine.analysis.diagnosis)
read along a tree. Non-finite values and saturation are per node (t = the post-order index); the
gradient's decay is measured by depth, from the root's loss to every node, and worded per level.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..analysis.diagnosis import Finding, Thresholds, gradient_decay, shared_checks
from ..cells import get_cell


class _TreeView:
    """What the shared checks read, from a TreeTrace: one node name, its (N, B, H) arrays."""

    def __init__(self, trace, node: str) -> None:
        self.cell_impl, self.node_names, self.T = get_cell(trace.cell), [node], trace.N
        self.activations = {node: trace.activations["h"]}
        self.gradients = {node: trace.gradients["h"]}


def diagnose_tree(trace, thresholds: Thresholds = Thresholds()) -> list[Finding]:
    """Every finding of a TreeTrace, problems first: NaN/Inf and saturated tanh by node, then the
    gradient vanishing or exploding over the depths (distance = depth, the loss at the root)."""
    node = trace.node_names[0]
    findings = shared_checks(_TreeView(trace, node), node, thresholds)
    for i, f in enumerate(findings):
        if f.kind == "saturation":
            findings[i] = replace(f, detail=f.detail.replace(f"t={f.t}", f"node {f.t} (depth {trace.tree.depth[f.t]})")
                                  .replace("steps", "nodes"))
        else:
            findings[i] = replace(f, detail=f.detail.replace("steps", "nodes").replace("t=", "node "))
    if not any(f.kind == "nonfinite" for f in findings):
        findings += _decay_by_depth(trace, node, thresholds)
    return sorted(findings, key=lambda f: f.severity != "problem")


def _decay_by_depth(trace, node: str, th: Thresholds) -> list[Finding]:
    """The chain's vanishing/exploding rule on the depth profile, titled and worded for a tree."""
    p = trace.depth_profile()
    profile = {"k": trace.tree.root, "distance": np.asarray(trace.tree.depth, dtype=np.float64),
               "norms": np.asarray(trace.gradient_norms, dtype=np.float64), "factor": p["factor"],
               "bound": p["bound"], "sigma_max": p["bound"]}
    out = []
    for f in gradient_decay(profile, node, th):
        depth = int(f.numbers["distance"])
        if f.kind == "vanishing":
            detail = (f"‖∂L_root/∂h‖ falls below {th.vanish_ratio:g} of its peak at depth {depth} "
                      f"(per-level factor {p['factor']:.3g}, bound {p['bound']:.3g}).")
        else:
            detail = (f"‖∂L_root/∂h‖ grows to {f.numbers['ratio']:.3g}× its value at the root {depth} levels down "
                      f"(per-level factor {p['factor']:.3g}).")
        out.append(replace(f, title=f"{f.title.split(' (')[0]} by depth ({node})", detail=detail))
    return out
