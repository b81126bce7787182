"""The record of one run of a recursive network over a tree, with what derives from it.

Every node's activation and total gradient, the parameter gradients (sums of per-node terms) and
the norm of each node's term, then — computed on first use, from the record — the Jacobian norm
of every child→parent edge, the flow ‖∂L_root/∂h_node‖ by depth and its fitted decay per level.
The analysis reuses the chain's functions (`batch_mean_norm`, `spectral_norms`, `decay_factor`).
See docs/DESIGN.md, section "Recursive networks".
"""
from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np

from ..analysis.decay import decay_factor
from ..analysis.jacobians import spectral_norms
from ..chain import Segment
from ..events import Event
from ..norms import batch_mean_norm
from .tree_diagnosis import diagnose_tree
from .trees import Tree

TREE_NODE = "h_tree"        # the event node of every tree node (t = its post-order index)
EDGE_WEIGHT = {"left": "weight_left", "right": "weight_right"}


class TreeTrace:
    """What `RecursiveNetwork.run` recorded (arrays batch-second like a chain's: (N, B, ·) per node).

    `activations["h"]` / `gradients["h"]` are (N, B, H) in post-order; `activations["logits"]`,
    `["probs"]` and their gradients are (B, O) at the root; `grads` are ∂L/∂θ with the model's
    names; `grad_contributions[name]` is (N,): ‖the term node k adds to ∂L/∂θ‖_F (NaN at nodes that
    do not use θ)."""

    def __init__(self, tree: Tree, loss_type: str, x: np.ndarray, targets: np.ndarray, mask: np.ndarray,
                 params: dict[str, np.ndarray]) -> None:
        self.tree = tree
        self.loss_type = loss_type
        self.x = x                          # (n_leaves, B, I): the words, left to right
        self.targets = targets              # (B,) class ids or (B, O) floats, for the root
        self.mask = mask                    # (B,) bool
        self.params = params
        self.activations: dict[str, np.ndarray] = {}
        self.gradients: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.grad_contributions: dict[str, np.ndarray] = {}
        self.loss = 0.0
        # the same data as a chain, for the depth plot (set by whoever ran it: server.topologies):
        # {"norms": (T,) ‖∂L/∂h_t‖ of the chain's last loss, "factor": per step, "label": …}
        self.comparison: dict | None = None
        self._derived: dict[str, object] = {}

    vocab_size = None                       # a tree reads word vectors, never an embedding table
    lengths = None                          # and is never a padded batch

    N = property(lambda self: self.tree.size, doc="nodes")
    T = property(lambda self: self.tree.size, doc="the node axis (post-order) plays the time axis's part")
    input_size = property(lambda self: self.x.shape[2], doc="I")
    loss_t = property(lambda self: np.array([self.loss]), doc="the one loss, at the root")
    node_names = [TREE_NODE]
    cell, num_layers, directions, bidirectional, segmented = "rnn_tanh", 1, 1, False, False

    @property
    def stages(self) -> tuple[Segment, ...]:
        """One part: the tree's nodes in post-order."""
        return (Segment("tree", 0, self.N),)
    B = property(lambda self: self.x.shape[1], doc="batch size")
    hidden_size = property(lambda self: self.params["weight_left"].shape[0], doc="H")
    output_size = property(lambda self: self.params["head.weight"].shape[0], doc="O")

    def _remember(self, key: str, compute):
        if key not in self._derived:
            self._derived[key] = compute()
        return self._derived[key]

    # -- derived -------------------------------------------------------------------------------
    @property
    def gradient_norms(self) -> np.ndarray:
        """(N,) batch mean of ‖∂L/∂h_node‖: with the one loss at the root, this is ‖∂L_root/∂h_node‖."""
        return self._remember("gradient_norms", lambda: batch_mean_norm(self.gradients["h"]))

    @property
    def jacobian_norms(self) -> np.ndarray:
        """(N,) batch mean of ‖∂h_parent/∂h_node‖₂ = ‖diag(1 − h_parent²) M‖₂ for the edge from each
        node to its parent (M = weight_left for a left child, weight_right for a right one); NaN at the root."""
        def compute():
            tree, h = self.tree, self.activations["h"]
            out = np.full(self.N, np.nan)
            with np.errstate(over="ignore", invalid="ignore"):
                for k in range(self.N):
                    p = tree.parent[k]
                    if p is None:
                        continue
                    dphi = 1.0 - h[p] * h[p]                                       # (B, H)
                    jac = dphi[:, :, None] * self.params[EDGE_WEIGHT[tree.side[k]]][None]
                    out[k] = spectral_norms(jac).mean()
            return out
        return self._remember("jacobian_norms", compute)

    def depth_profile(self) -> dict:
        """The flow by depth: for each depth d = 0 (root) … height, the mean, min and max over the
        nodes at depth d of ‖∂L_root/∂h_node‖; `factor` = the fitted per-level decay over every node
        (norm ≈ C·factor^depth); `bound` = max(σ_max(weight_left), σ_max(weight_right)) (max tanh′ = 1)."""
        def compute():
            depth = np.array(self.tree.depth, dtype=np.float64)
            norms = np.asarray(self.gradient_norms, dtype=np.float64)
            levels = range(self.tree.height + 1)
            at = [norms[depth == d] for d in levels]
            sigmas = [float(np.linalg.norm(self.params[w].astype(np.float64), 2)) for w in EDGE_WEIGHT.values()]
            return {"depth": list(levels), "mean": [float(a.mean()) for a in at],
                    "min": [float(a.min()) for a in at], "max": [float(a.max()) for a in at],
                    "factor": decay_factor(depth, norms), "bound": max(sigmas),
                    "leaves": {"depth": [int(depth[k]) for k in self.tree.leaves],
                               "norms": [float(norms[k]) for k in self.tree.leaves]}}
        return self._remember("depth_profile", compute)

    def summary(self) -> dict:
        """JSON-able digest (Python floats; NaN/Inf stay floats) for the page's plots."""
        def floats(a):
            return np.asarray(a, dtype=np.float64).tolist()
        with np.errstate(over="ignore", invalid="ignore"):
            grad_norms = {n: float(np.linalg.norm(g.astype(np.float64))) for n, g in self.grads.items()}
        profile = self.depth_profile()
        return {"loss": float(self.loss), "tree": self.tree.as_dict(),
                "gradient_norms": {TREE_NODE: floats(self.gradient_norms)},
                "jacobian_norms": {TREE_NODE: floats(self.jacobian_norms)},
                "grad_contributions": {n: floats(v) for n, v in self.grad_contributions.items()},
                "grad_norms": grad_norms, "depth_profile": profile, "chain_comparison": self.comparison,
                # the chain's plots read the same facts: distance from the loss = depth, one loss row
                "vanishing": {TREE_NODE: {"k": self.tree.root, "distance": list(self.tree.depth),
                                          "norms": floats(self.gradient_norms), "factor": profile["factor"],
                                          "bound": profile["bound"], "sigma_max": profile["bound"]}},
                "flow": {TREE_NODE: {"ks": [self.tree.root], "matrix": [floats(self.gradient_norms)]}}}

    def save(self, path) -> None:
        """Write the record as .npz (plain arrays and a JSON `meta` entry: the tree, the loss)."""
        tree = {"children": [list(c) if c is not None else None for c in self.tree.children],
                "words": list(self.tree.words) if self.tree.words is not None else None, "bracket": self.tree.bracket()}
        meta = {"format": "tree", "tree": tree, "loss_type": self.loss_type, "loss": float(self.loss),
                "comparison": self.comparison}
        arrays = {"meta": np.array(json.dumps(meta)), "x": self.x, "targets": self.targets, "mask": self.mask}
        for prefix, table in (("param", self.params), ("act", self.activations), ("grad", self.grads),
                              ("gradient", self.gradients), ("contrib", self.grad_contributions)):
            arrays.update({f"{prefix}/{name}": value for name, value in table.items()})
        np.savez_compressed(path, **arrays)

    def diagnose(self) -> list:
        """The findings of a tree (engine.topologies.tree_diagnosis): non-finite values and saturation
        by node, the gradient vanishing or exploding by depth."""
        return diagnose_tree(self)

    def weight_spectra(self) -> dict[str, dict[str, float]]:
        """σ_max and spectral radius of the two child weights (U = weight_left, W = weight_right)."""
        entry = {}
        for side, name in EDGE_WEIGHT.items():
            w = self.params[name].astype(np.float64)
            entry[f"sigma_max_{side}"] = float(np.linalg.norm(w, 2))
            entry[f"radius_{side}"] = float(np.max(np.abs(np.linalg.eigvals(w))))
        entry["sigma_max"] = max(entry["sigma_max_left"], entry["sigma_max_right"])
        return {TREE_NODE: entry}

    # -- the stream ----------------------------------------------------------------------------
    @property
    def schedule(self) -> dict:
        """The event schedule over this tree (`tree_schedule`)."""
        return tree_schedule(self.N)

    def events(self) -> Iterator[Event]:
        """Every event of the run from the record, in the order `RecursiveNetwork.steps` yields them."""
        order = range(self.N)
        for k in order:
            yield node_event(self, "forward", k)
        yield root_event(self, "forward", "logits")
        yield root_event(self, "forward", "loss")
        yield root_event(self, "backward", "logits")
        for k in reversed(order):
            yield node_event(self, "backward", k)


def tree_schedule(N: int) -> dict:
    """The event schedule of a tree of N nodes, in engine.schedule's format: forward every node in
    post-order, then the root's logits and loss; backward the root's logits, then every node in
    reverse post-order (each parent before its children)."""
    sizes = [("forward", "hidden", N), ("forward", "outputs", 2), ("backward", "outputs", 1), ("backward", "hidden", N)]
    blocks, seq = [], 0
    for phase, kind, size in sizes:
        blocks.append({"phase": phase, "kind": kind, "segment": "tree", "start": seq, "stop": seq + size})
        seq += size
    return {"total": seq, "forward_events": N + 2,
            "segments": [{"name": "tree", "start": 0, "stop": N, "emits": True}], "blocks": blocks}


def node_event(trace: TreeTrace, phase: str, k: int) -> Event:
    """The event of tree node k: its h (forward) or total ∂L/∂h (backward); t = k (post-order)."""
    if phase == "forward":
        return Event(phase, TREE_NODE, k, 0, 0, {"h": trace.activations["h"][k]})
    return Event(phase, TREE_NODE, k, 0, 0, {"dh": trace.gradients["h"][k]})


def root_event(trace: TreeTrace, phase: str, node: str) -> Event:
    """The root's logits (forward: logits, probs; backward: dlogits) or loss event (t = the root)."""
    t = trace.tree.root
    if node == "loss":
        return Event(phase, "loss", t, None, 0, {"loss": np.asarray(trace.loss)})
    if phase == "backward":
        return Event(phase, "logits", t, None, 0, {"dlogits": trace.gradients["logits"]})
    values = {"logits": trace.activations["logits"]}
    if "probs" in trace.activations:
        values["probs"] = trace.activations["probs"]
    return Event(phase, "logits", t, None, 0, values)
