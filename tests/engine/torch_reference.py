"""A step-by-step torch float64 model of the engine's network, used as the oracle.

Every cell step is written out with torch's equations (DESIGN.md §2), so every
h_t, c_t and gate is its own tensor with ``retain_grad()``; every step also uses
its own copy of each shared parameter, so the per-step terms of each gradient
(the "grad contributions") are read straight off those copies. Nothing here
imports the engine: the reference is checked against torch.nn.RNN/LSTM/GRU in
test_engine_reference.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

CELLS = ("rnn_tanh", "rnn_relu", "lstm", "gru")
GATE_NAMES = {"rnn_tanh": (), "rnn_relu": (), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}
GATE_ROWS = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}
NO_TARGET = -100


def suffix(layer: int, direction: int) -> str:
    """Torch's parameter suffix for a layer/direction: ``l0``, ``l0_reverse``, ..."""
    return f"l{layer}" + ("_reverse" if direction else "")


def node_name(layer: int, direction: int) -> str:
    """The engine's name of the hidden-state node of a layer/direction."""
    return "h_" + suffix(layer, direction)


def param_names(layer: int, direction: int) -> tuple[str, str, str, str]:
    """(weight_ih, weight_hh, bias_ih, bias_hh) names of one layer/direction."""
    s = suffix(layer, direction)
    return f"weight_ih_{s}", f"weight_hh_{s}", f"bias_ih_{s}", f"bias_hh_{s}"


def random_state_dict(cell: str, input_size: int, hidden_size: int, output_size: int,
                      num_layers: int, bidirectional: bool, seed: int, scale: float = 0.5
                      ) -> dict[str, np.ndarray]:
    """Random float64 parameters with torch's names and shapes (independent of the engine)."""
    rng = np.random.default_rng(seed)
    rows = GATE_ROWS[cell] * hidden_size
    directions = 2 if bidirectional else 1
    state: dict[str, np.ndarray] = {}
    for layer in range(num_layers):
        width = input_size if layer == 0 else hidden_size * directions
        for direction in range(directions):
            w_ih, w_hh, b_ih, b_hh = param_names(layer, direction)
            state[w_ih] = rng.normal(0.0, scale, (rows, width))
            state[w_hh] = rng.normal(0.0, scale, (rows, hidden_size))
            state[b_ih] = rng.normal(0.0, scale, rows)
            state[b_hh] = rng.normal(0.0, scale, rows)
    state["head.weight"] = rng.normal(0.0, scale, (output_size, hidden_size * directions))
    state["head.bias"] = rng.normal(0.0, scale, output_size)
    return state


def cell_step(cell: str, x: torch.Tensor, state: tuple[torch.Tensor, ...], w_ih: torch.Tensor,
              w_hh: torch.Tensor, b_ih: torch.Tensor, b_hh: torch.Tensor
              ) -> tuple[tuple[torch.Tensor, ...], dict[str, torch.Tensor]]:
    """One cell step with torch's equations. x (B, I); state (h,) or (h, c), each (B, H).

    Returns the new state and the post-activation gates (B, H) by name.
    """
    h = state[0]
    if cell in ("rnn_tanh", "rnn_relu"):
        z = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh                      # (B, H)
        return ((torch.tanh(z) if cell == "rnn_tanh" else torch.relu(z)),), {}
    if cell == "lstm":
        pre = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh                    # (B, 4H)
        pi, pf, pg, po = pre.chunk(4, dim=1)
        i, f, g, o = torch.sigmoid(pi), torch.sigmoid(pf), torch.tanh(pg), torch.sigmoid(po)
        c = f * state[1] + i * g                                       # (B, H)
        return (o * torch.tanh(c), c), {"i": i, "f": f, "g": g, "o": o}
    if cell == "gru":
        xr, xz, xn = (x @ w_ih.T + b_ih).chunk(3, dim=1)               # (B, H) each
        hr, hz, hn = (h @ w_hh.T + b_hh).chunk(3, dim=1)
        r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        return ((1 - z) * n + z * h,), {"r": r, "z": z, "n": n}
    raise ValueError(f"unknown cell {cell!r}")


def valid_rows(targets: np.ndarray, t: int, loss: str) -> np.ndarray:
    """(B,) bool: batch entries with a target at step t (mse: target vector not all -100)."""
    if loss == "cross_entropy":
        return targets[t] != NO_TARGET
    return ~np.all(targets[t] == NO_TARGET, axis=-1)


@dataclass
class Reference:
    """Everything the engine records, computed by torch autograd (numpy float64)."""

    loss: float
    loss_t: np.ndarray                               # (T,)
    grads: dict[str, np.ndarray]                     # param -> total gradient
    contributions: dict[str, np.ndarray]             # param -> (T, *shape) per-step terms
    activations: dict[str, np.ndarray]               # name -> (T, B, ·)
    gradients: dict[str, np.ndarray]                 # name -> (T, B, ·) total dL/d(value)
    jacobian_norms: dict[str, np.ndarray] = field(default_factory=dict)   # node -> (T,)
    flow: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # node -> (ks, M)
    node_names: list[str] = field(default_factory=list)


class _Recorder:
    """Collects per-step tensors (with retained grads) under the engine's names."""

    def __init__(self, T: int) -> None:
        self.T = T
        self.values: dict[str, list[torch.Tensor | None]] = {}

    def put(self, name: str, t: int, tensor: torch.Tensor) -> None:
        if tensor.requires_grad:
            tensor.retain_grad()
        self.values.setdefault(name, [None] * self.T)[t] = tensor

    def stacked(self, grad: bool) -> dict[str, np.ndarray]:
        out = {}
        for name, steps in self.values.items():
            arrays = []
            for tensor in steps:
                if grad:
                    g = tensor.grad
                    arrays.append(np.zeros(tuple(tensor.shape)) if g is None else g.detach().numpy())
                else:
                    arrays.append(tensor.detach().numpy())
            out[name] = np.stack(arrays)
        return out


def reference_run(state: dict[str, np.ndarray], cell: str, num_layers: int, bidirectional: bool,
                  x: np.ndarray, targets: np.ndarray, loss: str = "cross_entropy",
                  with_jacobians: bool = True, with_flow: bool = True) -> Reference:
    """Run the network of ``state`` on x (T, B, I) step by step in torch float64 and backprop."""
    x = np.asarray(x, dtype=np.float64)
    T, B, _ = x.shape
    directions = 2 if bidirectional else 1
    params = {k: torch.tensor(np.asarray(v, dtype=np.float64), requires_grad=True) for k, v in state.items()}
    copies: dict[str, list[torch.Tensor | None]] = {k: [None] * T for k in params}
    rec = _Recorder(T)

    def step_copy(name: str, t: int) -> torch.Tensor:
        copy = params[name] * 1.0        # a per-step use of the shared parameter
        copy.retain_grad()
        copies[name][t] = copy
        return copy

    layer_input = [torch.tensor(x[t]) for t in range(T)]              # (B, I) each
    # what the Jacobian check needs: per node, per t, the (input, previous state) of that step
    step_inputs: dict[str, list] = {}
    nodes = []
    for layer in range(num_layers):
        outputs = []
        for direction in range(directions):
            node = node_name(layer, direction)
            nodes.append(node)
            names = param_names(layer, direction)
            s = suffix(layer, direction)
            hidden = params[names[1]].shape[1]
            zero = torch.zeros(B, hidden, dtype=torch.float64)
            st: tuple[torch.Tensor, ...] = (zero, zero.clone()) if cell == "lstm" else (zero,)
            hs: list[torch.Tensor | None] = [None] * T
            step_inputs[node] = [None] * T
            order = range(T) if direction == 0 else range(T - 1, -1, -1)
            for t in order:
                step_inputs[node][t] = (layer_input[t].detach(), tuple(v.detach() for v in st))
                st, gates = cell_step(cell, layer_input[t], st, *(step_copy(n, t) for n in names))
                rec.put(node, t, st[0])
                if cell == "lstm":
                    rec.put(f"c_{s}", t, st[1])
                for gname, gate in gates.items():
                    rec.put(f"{gname}_{s}", t, gate)
                hs[t] = st[0]
            outputs.append(hs)
        layer_input = [torch.cat([outputs[d][t] for d in range(directions)], dim=1) for t in range(T)]

    losses = []
    for t in range(T):
        logits = layer_input[t] @ step_copy("head.weight", t).T + step_copy("head.bias", t)  # (B, O)
        rec.put("logits", t, logits)
        valid = torch.tensor(valid_rows(targets, t, loss))
        if loss == "cross_entropy":
            probs = torch.softmax(logits, dim=1)
            rec.put("probs", t, probs)
            y = torch.tensor(np.asarray(targets[t], dtype=np.int64))
            step_loss = F.nll_loss(torch.log(probs[valid]), y[valid]) if valid.any() else probs.sum() * 0.0
        elif loss == "mse":
            y = torch.tensor(np.asarray(targets[t], dtype=np.float64))
            step_loss = F.mse_loss(logits[valid], y[valid]) if valid.any() else logits.sum() * 0.0
        else:
            raise ValueError(f"unknown loss {loss!r}")
        losses.append(step_loss)
    total = torch.stack(losses).sum()

    total.backward(retain_graph=with_flow)

    grads = {k: p.grad.detach().numpy().copy() for k, p in params.items()}
    contributions = {k: np.stack([c.grad.detach().numpy() for c in cs]) for k, cs in copies.items()}
    ref = Reference(
        loss=float(total.detach()),
        loss_t=np.array([float(v.detach()) for v in losses]),
        grads=grads,
        contributions=contributions,
        activations=rec.stacked(grad=False),
        gradients=rec.stacked(grad=True),
        node_names=nodes,
    )
    # after the snapshot above: autograd.grad also feeds the retained .grad of its inputs
    if with_flow:
        ref.flow = _flow_matrices(losses, rec, nodes, targets, loss)
    if with_jacobians:
        ref.jacobian_norms = {
            node: jacobian_norms(cell, state, node, step_inputs[node]) for node in nodes
        }
    return ref


def _flow_matrices(losses, rec: _Recorder, nodes: list[str], targets: np.ndarray, loss: str
                   ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """node -> (ks, M) with M[j, t] = batch mean of ||dL_k/dh_t||, k = ks[j] (steps with a target)."""
    T = len(losses)
    ks = np.array([k for k in range(T) if valid_rows(targets, k, loss).any()], dtype=int)
    hs = [rec.values[node][t] for node in nodes for t in range(T)]
    matrices = {node: np.zeros((len(ks), T)) for node in nodes}
    for row, k in enumerate(ks):
        grads = torch.autograd.grad(losses[k], hs, retain_graph=True, allow_unused=True)
        for i, g in enumerate(grads):
            node, t = nodes[i // T], i % T
            if g is not None:
                matrices[node][row, t] = float(torch.linalg.vector_norm(g, dim=1).mean())
    return {node: (ks, m) for node, m in matrices.items()}


def jacobian_norms(cell: str, state: dict[str, np.ndarray], node: str, step_inputs: list) -> np.ndarray:
    """(T,) batch mean spectral norm of d s_t / d s_prev for one node (NaN at its first step).

    s is h, or the stacked (h, c) for an LSTM; prev is the step processed just before.
    """
    s = node[2:]
    weights = [torch.tensor(np.asarray(state[n], dtype=np.float64))
               for n in (f"weight_ih_{s}", f"weight_hh_{s}", f"bias_ih_{s}", f"bias_hh_{s}")]
    T = len(step_inputs)
    first = 0 if not node.endswith("_reverse") else T - 1
    out = np.full(T, np.nan)
    for t, (x_t, prev) in enumerate(step_inputs):
        if t == first:
            continue
        H = prev[0].shape[1]

        def step(flat: torch.Tensor) -> torch.Tensor:
            st = (flat[:, :H], flat[:, H:]) if cell == "lstm" else (flat,)
            new, _ = cell_step(cell, x_t, st, *weights)
            return torch.cat(new, dim=1)

        flat_prev = torch.cat(prev, dim=1)                               # (B, S)
        jac = torch.autograd.functional.jacobian(step, flat_prev, vectorize=True)  # (B, S, B, S)
        per_batch = torch.stack([jac[b, :, b, :] for b in range(flat_prev.shape[0])])
        out[t] = float(torch.linalg.matrix_norm(per_batch, ord=2).mean())
    return out


def torch_module(state: dict[str, np.ndarray], cell: str, num_layers: int, bidirectional: bool
                 ) -> tuple[torch.nn.Module, torch.nn.Linear]:
    """torch.nn.RNN/LSTM/GRU + Linear head (float64) loaded with ``state``."""
    w = state["weight_ih_l0"]
    hidden = state["weight_hh_l0"].shape[1]
    kwargs = dict(input_size=w.shape[1], hidden_size=hidden, num_layers=num_layers,
                  bidirectional=bidirectional, dtype=torch.float64)
    if cell in ("rnn_tanh", "rnn_relu"):
        rnn = torch.nn.RNN(nonlinearity=cell[4:], **kwargs)
    elif cell == "lstm":
        rnn = torch.nn.LSTM(**kwargs)
    else:
        rnn = torch.nn.GRU(**kwargs)
    rnn.load_state_dict({k: torch.tensor(v) for k, v in state.items() if not k.startswith("head.")})
    head = torch.nn.Linear(state["head.weight"].shape[1], state["head.weight"].shape[0], dtype=torch.float64)
    head.load_state_dict({"weight": torch.tensor(state["head.weight"]), "bias": torch.tensor(state["head.bias"])})
    return rnn, head


def make_targets(rng: np.random.Generator, T: int, B: int, O: int, loss: str, many_to_one: bool) -> np.ndarray:
    """Random targets: class ids (T, B) or floats (T, B, O); -100 before the last step if many_to_one."""
    if loss == "cross_entropy":
        y = rng.integers(0, O, size=(T, B))
        if many_to_one:
            y[:-1] = NO_TARGET
    else:
        y = rng.normal(size=(T, B, O))
        if many_to_one:
            y[:-1] = NO_TARGET
    return y
