"""The oracle for the lectures' cells: an unrolled torch float64 graph written from their equations.

No torch module computes the peephole LSTM, the coupled-gate LSTM or the GRU with the reset gate
before the product, so each step is spelled out here from the equations of issue 13 (independent of
the engine). Every state and gate is its own tensor with retain_grad(); every step uses its own copy
of each parameter, so the per-step gradient terms are those copies' .grad. Initial states enter as
leaves (their .grad is ∂L/∂s(−1)); a gradient arriving at the last state (final_state_grads) enters
as ⟨g, s_last⟩ added to the backward objective (not to the loss).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

NEW_CELLS = ("lstm_peephole", "lstm_coupled", "gru_reset_before")
HAS_C = {"lstm_peephole": True, "lstm_coupled": True, "gru_reset_before": False}
BLOCKS = {"lstm_peephole": 4, "lstm_coupled": 3, "gru_reset_before": 3}


def step(cell: str, x, h, c, p: dict) -> tuple[torch.Tensor, torch.Tensor | None, dict]:
    """One step of `cell` from its lecture equations: (h_t, c_t or None, gates by name)."""
    if cell == "lstm_peephole":
        a_i, a_f, a_g, a_o = (x @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T + p["bias_hh"]).chunk(4, 1)
        peep = p["weight_peephole"]
        i = torch.sigmoid(a_i + peep[0] * c)
        f = torch.sigmoid(a_f + peep[1] * c)
        g = torch.tanh(a_g)
        c_new = f * c + i * g
        o = torch.sigmoid(a_o + peep[2] * c_new)
        return o * torch.tanh(c_new), c_new, {"i": i, "f": f, "g": g, "o": o}
    if cell == "lstm_coupled":
        a_f, a_g, a_o = (x @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T + p["bias_hh"]).chunk(3, 1)
        f, g, o = torch.sigmoid(a_f), torch.tanh(a_g), torch.sigmoid(a_o)
        c_new = f * c + (1 - f) * g
        return o * torch.tanh(c_new), c_new, {"f": f, "g": g, "o": o}
    if cell == "gru_reset_before":
        H = h.shape[1]
        x_r, x_z, x_n = (x @ p["weight_ih"].T + p["bias_ih"]).chunk(3, 1)
        w_hh, b_hh = p["weight_hh"], p["bias_hh"]
        r = torch.sigmoid(x_r + h @ w_hh[:H].T + b_hh[:H])
        z = torch.sigmoid(x_z + h @ w_hh[H:2 * H].T + b_hh[H:2 * H])
        n = torch.tanh(x_n + (r * h) @ w_hh[2 * H:].T + b_hh[2 * H:])
        return (1 - z) * n + z * h, None, {"r": r, "z": z, "n": n}
    raise ValueError(cell)


def random_state(cell: str, I: int, H: int, O: int, layers: int, bidirectional: bool, seed: int,
                 scale: float = 0.5) -> dict[str, np.ndarray]:
    """Gaussian float64 parameters with the issue's names and shapes (not the engine's initialiser)."""
    rng = np.random.default_rng(seed)
    rows, D = BLOCKS[cell] * H, 2 if bidirectional else 1
    state = {}
    for k in range(layers):
        for d in range(D):
            s = f"_l{k}" + ("_reverse" if d else "")
            width = I if k == 0 else H * D
            state[f"weight_ih{s}"] = rng.normal(0, scale, (rows, width))
            state[f"weight_hh{s}"] = rng.normal(0, scale, (rows, H))
            state[f"bias_ih{s}"] = rng.normal(0, scale, rows)
            state[f"bias_hh{s}"] = rng.normal(0, scale, rows)
            if cell == "lstm_peephole":
                state[f"weight_peephole{s}"] = rng.normal(0, scale, (3, H))
    state["head.weight"] = rng.normal(0, scale, (O, H * D))
    state["head.bias"] = rng.normal(0, scale, O)
    return state


def has_target(targets_t: np.ndarray, loss: str) -> np.ndarray:
    """(B,) the batch entries with a target at one step."""
    return targets_t != -100 if loss == "cross_entropy" else ~np.all(targets_t == -100, axis=-1)


@dataclass
class LectureReference:
    """What the engine records, from torch autograd (numpy float64)."""

    loss: float
    loss_t: np.ndarray
    grads: dict[str, np.ndarray]
    terms: dict[str, np.ndarray]                 # param → (T, *shape) per-step gradient terms
    activations: dict[str, np.ndarray]
    gradients: dict[str, np.ndarray]
    initial_state_grads: dict[str, np.ndarray]
    jacobian_norms: dict[str, np.ndarray]
    flow: dict[str, np.ndarray]                  # node → (T_loss_steps, T) batch mean ‖∂L_k/∂h_t‖


def run(state: dict, cell: str, layers: int, bidirectional: bool, x: np.ndarray, targets: np.ndarray, loss: str,
        initial_state: dict | None = None, final_state_grads: dict | None = None) -> LectureReference:
    """Unroll the network step by step in torch float64 and back-propagate."""
    T, B, _ = x.shape
    D = 2 if bidirectional else 1
    params = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in state.items()}
    copies = {k: [None] * T for k in params}

    def use(name, t):
        copy = params[name] * 1.0
        copy.retain_grad()
        copies[name][t] = copy
        return copy

    initial_state, final_state_grads = initial_state or {}, final_state_grads or {}
    leaves = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in initial_state.items()}
    kept: dict[str, list] = {}
    inputs_of: dict[str, list] = {}
    extra_objective = torch.zeros((), dtype=torch.float64)
    below = [torch.tensor(x[t]) for t in range(T)]
    for k in range(layers):
        outs = []
        for d in range(D):
            s = f"_l{k}" + ("_reverse" if d else "")
            H = state[f"weight_hh{s}"].shape[1]
            h = leaves.get(f"h{s}", torch.zeros(B, H, dtype=torch.float64))
            c = leaves.get(f"c{s}", torch.zeros(B, H, dtype=torch.float64)) if HAS_C[cell] else None
            hs = [None] * T
            inputs_of[f"h{s}"] = [None] * T
            for t in (range(T - 1, -1, -1) if d else range(T)):
                inputs_of[f"h{s}"][t] = (below[t].detach(), h.detach(), None if c is None else c.detach())
                p = {n[:-len(s)]: use(n, t) for n in params if n.endswith(s)}
                h, c, gates = step(cell, below[t], h, c, p)
                for name, value in [("h", h), ("c", c), *gates.items()]:
                    if value is not None:
                        value.retain_grad()
                        kept.setdefault(f"{name}{s}", [None] * T)[t] = value
                hs[t] = h
            for name, last in (("h", h), ("c", c)):
                if f"{name}{s}" in final_state_grads:
                    extra_objective = extra_objective + (torch.tensor(final_state_grads[f"{name}{s}"]) * last).sum()
            outs.append(hs)
        below = [torch.cat([outs[d][t] for d in range(D)], 1) for t in range(T)]

    losses = []
    for t in range(T):
        logits = below[t] @ use("head.weight", t).T + use("head.bias", t)
        logits.retain_grad()
        kept.setdefault("logits", [None] * T)[t] = logits
        valid = torch.tensor(has_target(targets[t], loss))
        if loss == "cross_entropy":
            probs = torch.softmax(logits, 1)
            probs.retain_grad()
            kept.setdefault("probs", [None] * T)[t] = probs
            y = torch.tensor(targets[t])
            losses.append(F.nll_loss(torch.log(probs[valid]), y[valid]) if valid.any() else probs.sum() * 0)
        else:
            y = torch.tensor(targets[t])
            losses.append(F.mse_loss(logits[valid], y[valid]) if valid.any() else logits.sum() * 0)
    total = torch.stack(losses).sum()
    (total + extra_objective).backward(retain_graph=True)

    def stack(name, grad):
        return np.stack([(v.grad if grad else v).detach().numpy() if (v.grad is not None or not grad)
                         else np.zeros(tuple(v.shape)) for v in kept[name]])

    nodes = [n for n in kept if n.startswith("h_")]
    ref = LectureReference(
        loss=float(total.detach()), loss_t=np.array([float(v.detach()) for v in losses]),
        grads={k: v.grad.numpy().copy() for k, v in params.items()},
        terms={k: np.stack([c.grad.numpy() for c in cs]) for k, cs in copies.items()},
        activations={n: stack(n, False) for n in kept}, gradients={n: stack(n, True) for n in kept},
        initial_state_grads={k: v.grad.numpy().copy() for k, v in leaves.items()},
        jacobian_norms={n: _jacobian_norms(cell, state, n, inputs_of[n]) for n in nodes},
        flow={})
    hs = [kept[n][t] for n in nodes for t in range(T)]
    ks = [k for k in range(T) if has_target(targets[k], loss).any()]
    for n in nodes:
        ref.flow[n] = np.zeros((len(ks), T))
    for row, k in enumerate(ks):
        for i, g in enumerate(torch.autograd.grad(losses[k], hs, retain_graph=True, allow_unused=True)):
            if g is not None:
                ref.flow[nodes[i // T]][row, i % T] = float(torch.linalg.vector_norm(g, dim=1).mean())
    return ref


def _jacobian_norms(cell: str, state: dict, node: str, inputs: list) -> np.ndarray:
    """(T,) batch mean ‖∂s_t/∂s_{t−1}‖₂ (s = h or the stacked (h, c)), NaN at the first processed step."""
    s = node[1:]
    p = {n[:-len(s)]: torch.tensor(v) for n, v in state.items() if n.endswith(s)}
    T = len(inputs)
    out = np.full(T, np.nan)
    for t, (x_t, h, c) in enumerate(inputs):
        if t == (T - 1 if node.endswith("_reverse") else 0):
            continue
        H = h.shape[1]

        def f(flat):
            h_new, c_new, _ = step(cell, x_t, flat[:, :H], flat[:, H:] if c is not None else None, p)
            return h_new if c_new is None else torch.cat([h_new, c_new], 1)

        prev = h if c is None else torch.cat([h, c], 1)
        jac = torch.autograd.functional.jacobian(f, prev, vectorize=True)          # (B, S, B, S)
        blocks = torch.stack([jac[b, :, b, :] for b in range(prev.shape[0])])
        out[t] = float(torch.linalg.matrix_norm(blocks, ord=2).mean())
    return out
