"""A recursive network (Goodfellow et al., §10.6, figure 10.14): one set of weights applied at every
node of a binary tree, trained by back-propagation through structure.

In the book's figure V reads each word into a leaf and U, W combine a node's left and right
children; the parameters carry those roles in their names:

    leaf k (word i):   h_k = tanh(V x_i + b_leaf)             V = weight_leaf, b_leaf = bias_leaf
    internal node k:   h_k = tanh(U h_left + W h_right + b)   U = weight_left, W = weight_right, b = bias_node
    root:              o = V_o h_root + c,  L = loss(o, y)    V_o = head.weight, c = head.bias

Back-propagation through structure, each parent before its children (reverse post-order), with
δ_k = ∂L/∂h_k the total gradient and ∂L/∂a_k = (1 − h_k²) ⊙ δ_k:

    δ_root = V_oᵀ ∂L/∂o,   δ_left += Uᵀ ∂L/∂a_k,   δ_right += Wᵀ ∂L/∂a_k
    ∂L/∂U = Σ_internal ∂L/∂a_k h_leftᵀ,   ∂L/∂W = Σ_internal ∂L/∂a_k h_rightᵀ,   ∂L/∂b = Σ_internal ∂L/∂a_k
    ∂L/∂V = Σ_leaves ∂L/∂a_k x_iᵀ,        ∂L/∂b_leaf = Σ_leaves ∂L/∂a_k

The edge child→parent has Jacobian ∂h_parent/∂h_child = diag(1 − h_parent²) U (or W): the gradient
from the root to a leaf at depth d crosses d of them, ⌈log₂ n⌉ in a balanced tree over n words
instead of up to n − 1 in a chain. Batches share one tree: x is (n_leaves, B, I), targets (B,)
class ids (or -100) for cross_entropy, (B, O) floats for mse; L is the mean over the batch entries
with a target, as for one step of a chain.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

from ..events import Event
from ..gradcheck import compare_numeric
from ..losses import LOSSES, compute_loss, target_mask
from ..weight_terms import outer_sum_norms
from ..params import Architecture
from .tree_trace import TREE_NODE, TreeTrace, node_event, root_event, tree_schedule
from .trees import Tree

PARAM_NAMES = ("weight_leaf", "bias_leaf", "weight_left", "weight_right", "bias_node", "head.weight", "head.bias")


def recursive_shapes(input_size: int, hidden_size: int, output_size: int) -> dict[str, tuple[int, ...]]:
    """Parameter name → shape of a recursive network."""
    I, H, O = input_size, hidden_size, output_size
    return {"weight_leaf": (H, I), "bias_leaf": (H,), "weight_left": (H, H), "weight_right": (H, H),
            "bias_node": (H,), "head.weight": (O, H), "head.bias": (O,)}


class RecursiveNetwork:
    """The recursive network's weights; `run(tree, x, targets)` records a TreeTrace, `steps` the same
    one node at a time."""

    node_names = [TREE_NODE]            # every tree node is one event node
    cell, num_layers, directions, bidirectional = "rnn_tanh", 1, 1, False   # each node: a tanh step

    def __init__(self, state: Mapping[str, np.ndarray], dtype=np.float64) -> None:
        dtype = np.dtype(dtype)
        if dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise ValueError(f"dtype must be float64 or float32; got {dtype}")
        for name in ("weight_leaf", "head.weight"):
            if name not in state or np.ndim(state[name]) != 2:
                raise ValueError(f"missing or mis-shaped parameter {name!r}")
        H, I = np.shape(state["weight_leaf"])
        O = np.shape(state["head.weight"])[0]
        shapes = recursive_shapes(I, H, O)
        extra = sorted(set(state) - set(shapes))
        if extra:
            raise ValueError(f"unexpected parameter(s): {', '.join(extra)}")
        self._params = {}
        for name, shape in shapes.items():
            if name not in state:
                raise ValueError(f"missing parameter {name!r}")
            value = np.array(state[name], dtype=dtype, copy=True)
            if value.shape != shape:
                raise ValueError(f"parameter {name!r} has shape {value.shape}, expected {shape}")
            if not np.isfinite(value).all():
                raise ValueError(f"parameter {name!r} contains NaN or Inf")
            self._params[name] = value
        self.dtype = dtype
        self.input_size, self.hidden_size, self.output_size = int(I), int(H), int(O)
        self.arch = Architecture("rnn_tanh", int(I), int(H), int(O))   # each node's step, for readers of a chain's facts

    @classmethod
    def random(cls, input_size: int, hidden_size: int, output_size: int, seed: int = 0,
               recurrent_scale: float | None = None, dtype=np.float64) -> "RecursiveNetwork":
        """torch's default U(−1/√fan_in, 1/√fan_in); with `recurrent_scale`, U and W are random
        orthogonal matrices times it (σ_max = recurrent_scale), as a chain's W_hh would be."""
        if min(input_size, hidden_size, output_size) < 1:
            raise ValueError("input_size, hidden_size and output_size must all be ≥ 1")
        rng = np.random.default_rng(seed)
        state = {}
        for name, shape in recursive_shapes(input_size, hidden_size, output_size).items():
            bound = 1.0 / np.sqrt(hidden_size)
            state[name] = rng.uniform(-bound, bound, shape)
            if recurrent_scale is not None and name in ("weight_left", "weight_right"):
                q, r = np.linalg.qr(rng.standard_normal((hidden_size, hidden_size)))
                state[name] = q * np.sign(np.diag(r)) * recurrent_scale
        return cls(state, dtype)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter."""
        return {k: v.copy() for k, v in self._params.items()}

    def with_state(self, state: Mapping[str, np.ndarray]) -> "RecursiveNetwork":
        """The same network with the parameters `state`."""
        return RecursiveNetwork(state, self.dtype)

    def check_inputs(self, tree: Tree, x, targets, loss: str) -> tuple[np.ndarray, np.ndarray]:
        """x as (n_leaves, B, I) and the root's targets as (B,) or (B, O); ValueError naming the problem."""
        if not isinstance(tree, Tree):
            raise ValueError("tree must be an engine.topologies.Tree")
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {', '.join(LOSSES)}; got {loss!r}")
        x = np.asarray(x)
        if x.ndim == 2:
            x = x[:, None, :]
        n = len(tree.leaves)
        if x.ndim != 3 or x.shape[0] != n or x.shape[2] != self.input_size or x.shape[1] < 1:
            raise ValueError(f"x must have shape ({n}, B, {self.input_size}) (one row per leaf); got {np.shape(x)}")
        x = np.ascontiguousarray(x, dtype=self.dtype)
        if not np.isfinite(x).all():
            raise ValueError("x contains NaN or Inf: inputs must be finite")
        B = x.shape[1]
        t = np.asarray(targets)
        if loss == "cross_entropy":
            t = t.reshape(-1) if t.ndim == 0 else t
            if t.shape != (B,) or not np.issubdtype(t.dtype, np.integer):
                raise ValueError(f"targets must be {B} integer class ids (one per batch entry); got {np.shape(targets)}")
            if ((t != -100) & ((t < 0) | (t >= self.output_size))).any():
                raise ValueError(f"targets must be class ids in [0, {self.output_size}) or -100")
            return x, t.astype(np.int64)
        if t.shape == (self.output_size,) and B == 1:
            t = t[None]
        if t.shape != (B, self.output_size) or not np.isfinite(t).all():
            raise ValueError(f"targets for mse must be finite with shape ({B}, {self.output_size}); got {np.shape(targets)}")
        return x, t.astype(self.dtype)

    def steps(self, tree: Tree, x, targets, loss: str = "cross_entropy") -> "TreeRun":
        """The run one node at a time: iterate it for Events (tree_schedule's order); `.trace` once done."""
        x, targets = self.check_inputs(tree, x, targets, loss)
        return TreeRun(tree, self.state_dict(), x, targets, loss, emit=True)

    def run(self, tree: Tree, x, targets, loss: str = "cross_entropy") -> TreeTrace:
        """Forward over the tree (post-order) and back-propagation through structure; the full record."""
        x, targets = self.check_inputs(tree, x, targets, loss)
        return TreeRun(tree, self.state_dict(), x, targets, loss, emit=False).run_to_end()

    def gradcheck(self, tree: Tree, x, targets, loss: str = "cross_entropy", eps: float = 1e-3) -> dict[str, float]:
        """Worst relative error per parameter against fourth-order central differences (float64)."""
        net = RecursiveNetwork(self._params, np.float64)
        x64 = np.asarray(x, dtype=np.float64)
        return compare_numeric(net.state_dict(), net.run(tree, x64, targets, loss).grads,
                               lambda state: RecursiveNetwork(state).run(tree, x64, targets, loss).loss, eps)


class TreeRun:
    """An in-progress run over a tree: iterate for Events; `trace` is set once it is exhausted."""

    def __init__(self, tree: Tree, params: dict[str, np.ndarray], x: np.ndarray, targets: np.ndarray,
                 loss: str, emit: bool = True) -> None:
        mask = target_mask(targets[None], loss)[0]
        self._partial = TreeTrace(tree, loss, x, targets, mask, params)
        self.trace: TreeTrace | None = None
        self._emit = emit
        self._gen = self._generate()
        self.schedule = tree_schedule(tree.size)
        self.comparison: dict | None = None         # handed to the trace when it ends (TreeTrace.comparison)

    def __iter__(self) -> "TreeRun":
        return self

    def __next__(self) -> Event:
        return next(self._gen)

    @property
    def stages(self):
        """One part: the tree (as a chain's stages, for readers of either)."""
        return self._partial.stages

    def close(self) -> None:
        """Stop early."""
        self._gen.close()

    def run_to_end(self) -> TreeTrace:
        """Consume every remaining step and return the finished trace."""
        for _ in self._gen:
            pass
        assert self.trace is not None
        return self.trace

    def _generate(self) -> Iterator[Event]:
        """Forward in post-order, the root's output and loss, then back through structure in reverse post-order."""
        tr, tree, p = self._partial, self._partial.tree, self._partial.params
        N, B, H = tree.size, tr.B, tr.hidden_size
        h = tr.activations["h"] = np.zeros((N, B, H), dtype=tr.x.dtype)
        dh = tr.gradients["h"] = np.zeros_like(h)
        dz = np.zeros_like(h)                                      # ∂L/∂a_k
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for k, kids in enumerate(tree.children):
                if kids is None:
                    a = tr.x[tree.leaf_position[k]] @ p["weight_leaf"].T + p["bias_leaf"]
                else:
                    a = h[kids[0]] @ p["weight_left"].T + h[kids[1]] @ p["weight_right"].T + p["bias_node"]
                np.tanh(a, out=h[k])
                if self._emit:
                    yield node_event(tr, "forward", k)
            logits = h[tree.root] @ p["head.weight"].T + p["head.bias"]
            result = compute_loss(logits[None], tr.targets[None], tr.loss_type)
            tr.activations["logits"], tr.gradients["logits"] = logits, result.dlogits[0]
            if result.probs is not None:
                tr.activations["probs"], tr.gradients["probs"] = result.probs[0], result.dprobs[0]
            tr.loss = float(result.loss_t[0])
            if self._emit:
                yield root_event(tr, "forward", "logits")
                yield root_event(tr, "forward", "loss")
                yield root_event(tr, "backward", "logits")
            dh[tree.root] = tr.gradients["logits"] @ p["head.weight"]
            for k in reversed(range(N)):
                np.multiply(dh[k], 1.0 - h[k] * h[k], out=dz[k])
                kids = tree.children[k]
                if kids is not None:
                    dh[kids[0]] += dz[k] @ p["weight_left"]
                    dh[kids[1]] += dz[k] @ p["weight_right"]
                if self._emit:
                    yield node_event(tr, "backward", k)
            self._parameter_gradients(h, dz)
        tr.comparison = self.comparison
        self.trace = tr

    def _parameter_gradients(self, h: np.ndarray, dz: np.ndarray) -> None:
        """∂L/∂θ as sums of per-node terms, and each node's term's norm (NaN where θ is unused)."""
        tr, tree = self._partial, self._partial.tree
        N = tree.size
        leaves, internal = list(tree.leaves), list(tree.internal)
        left = [tree.children[k][0] for k in internal]
        right = [tree.children[k][1] for k in internal]
        words = tr.x[[tree.leaf_position[k] for k in leaves]]
        dl = tr.gradients["logits"][None]
        terms = {   # name → (nodes, ∂L/∂a at them, what θ multiplies there, or None for a bias)
            "weight_leaf": (leaves, dz[leaves], words), "bias_leaf": (leaves, dz[leaves], None),
            "weight_left": (internal, dz[internal], h[left]), "weight_right": (internal, dz[internal], h[right]),
            "bias_node": (internal, dz[internal], None),
            "head.weight": ([tree.root], dl, h[[tree.root]]), "head.bias": ([tree.root], dl, None),
        }
        for name, (nodes, grad, inp) in terms.items():
            contrib = np.full(N, np.nan)
            shape = tr.params[name].shape
            if not nodes:
                tr.grads[name] = np.zeros(shape, dtype=tr.x.dtype)
            elif inp is None:
                tr.grads[name] = grad.sum(axis=(0, 1))
                contrib[nodes] = np.linalg.norm(grad.sum(axis=1), axis=-1)
            else:
                n, B = grad.shape[:2]
                tr.grads[name] = grad.reshape(n * B, -1).T @ inp.reshape(n * B, -1)
                contrib[nodes] = outer_sum_norms(grad, inp)
            tr.grad_contributions[name] = contrib
