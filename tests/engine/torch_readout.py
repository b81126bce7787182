"""The torch float64 oracle for the final-state readout and the loss reductions, unrolled step by step.

Each layer/direction is stepped with torch_reference.cell_step as pack_padded_sequence would run it
(element b's reverse direction starts at lengths[b] − 1 from zeros; padding records zeros), every
state retains its gradient, and the loss is torch's: `cross_entropy(head(cat(h_n[-2], h_n[-1])), y)`
for readout="final_state", or the per-step head reduced as `loss_reduction` says — "step_mean"
`Σ_t F.cross_entropy(o[t][rows], y[t][rows])`, "token_mean" `F.cross_entropy(o[mask], y[mask])`,
"sum" `F.cross_entropy(o[mask], y[mask], reduction="sum")` (F.mse_loss alike).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from torch_reference import NO_TARGET, cell_step, node_name, suffix
from unrolled import engine


@dataclass
class Oracle:
    """torch's loss, parameter gradients and per-step ∂L/∂h (node → (T, B, H), zeros at padding)."""

    loss: float
    grads: dict[str, np.ndarray]
    dh: dict[str, np.ndarray]


def _loss(logits: torch.Tensor, y: np.ndarray, loss: str, reduction: str) -> torch.Tensor:
    """torch's loss of logits (N, O) against targets y (N,) / (N, O), `reduction` "mean" or "sum"."""
    if loss == "cross_entropy":
        return F.cross_entropy(logits, torch.tensor(y, dtype=torch.int64), reduction=reduction)
    return F.mse_loss(logits, torch.tensor(y, dtype=torch.float64), reduction=reduction)


def oracle(state: dict[str, np.ndarray], cell: str, num_layers: int, bidirectional: bool, x: np.ndarray,
           targets: np.ndarray, loss: str, lengths=None, readout: str = "per_step",
           reduction: str = "step_mean") -> Oracle:
    """The run by torch autograd. targets: (B,)/(B, O) one per sequence for final_state, else per step."""
    T, B = x.shape[:2]
    lengths = np.full(B, T) if lengths is None else np.asarray(lengths)
    valid = torch.tensor(np.arange(T)[:, None] < lengths[None, :])      # (T, B)
    params = {k: torch.tensor(np.asarray(v, dtype=np.float64), requires_grad=True) for k, v in state.items()}
    states, D = engine.get_cell(cell).states, 2 if bidirectional else 1
    raw: dict[str, list] = {}
    layer_input = [torch.tensor(x[t]) for t in range(T)]
    finals = []
    for k in range(num_layers):
        outputs = []
        for d in range(D):
            s = suffix(k, d)
            H = state[f"weight_hh_{s}"].shape[1]
            zero = torch.zeros(B, H, dtype=torch.float64)
            recorded: list = [None] * T
            raw[node_name(k, d)] = [None] * T
            order = range(T) if d == 0 else range(T - 1, -1, -1)
            prev_t = None
            for t in order:
                prev = tuple(zero for _ in states) if prev_t is None else tuple(
                    torch.where(valid[prev_t][:, None], v, zero) for v in recorded[prev_t])
                new, _ = cell_step(cell, layer_input[t], prev, *(params[f"{n}_{s}"] for n in
                                                                 ("weight_ih", "weight_hh", "bias_ih", "bias_hh")))
                new[0].retain_grad()
                raw[node_name(k, d)][t] = new[0]
                recorded[t] = tuple(torch.where(valid[t][:, None], v, zero) for v in new)
                prev_t = t
            outputs.append([recorded[t][0] for t in range(T)])
            if k == num_layers - 1:
                last = lengths - 1 if d == 0 else np.zeros(B, dtype=int)
                finals.append(torch.stack([recorded[int(last[b])][0][b] for b in range(B)]))
        layer_input = [torch.cat([outputs[d][t] for d in range(D)], dim=1) for t in range(T)]
    head = lambda h: h @ params["head.weight"].T + params["head.bias"]      # noqa: E731
    if readout == "final_state":
        total = _loss(head(torch.cat(finals, dim=1)), targets, loss, "sum" if reduction == "sum" else "mean")
    else:
        targets = np.array(targets, copy=True)
        targets[~valid.numpy()] = NO_TARGET
        rows = targets != NO_TARGET if loss == "cross_entropy" else ~np.all(targets == NO_TARGET, axis=-1)
        logits = torch.stack([head(layer_input[t]) for t in range(T)])          # (T, B, O)
        if reduction == "step_mean":
            total = sum(_loss(logits[t][torch.tensor(rows[t])], targets[t][rows[t]], loss, "mean")
                        for t in range(T) if rows[t].any())
        else:
            total = _loss(logits[torch.tensor(rows)], targets[rows], loss,
                          "mean" if reduction == "token_mean" else "sum")
    total.backward()
    dh = {node: np.stack([(v.grad if v.grad is not None else torch.zeros_like(v)).numpy() for v in steps])
          * valid.numpy()[..., None] for node, steps in raw.items()}
    return Oracle(total.item(), {k: p.grad.numpy() for k, p in params.items()}, dh)
