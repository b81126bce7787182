"""torch float64 oracles of the feedback (Jordan, output recurrence) and recursive networks.

Each step or node is written out in torch with `retain_grad()` on every h and o; every step or node
uses its own copy of each shared parameter, so the per-step (per-node) terms of each gradient are
read off those copies and the total is their sum. Nothing here imports the engine.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

NO_TARGET = -100


def _step_loss(o: torch.Tensor, y: np.ndarray, loss: str) -> torch.Tensor:
    """The mean over the batch entries with a target (0 when none), as the engine's L_t."""
    if loss == "cross_entropy":
        keep = torch.tensor(y != NO_TARGET)
        if not keep.any():
            return o.sum() * 0.0
        return F.cross_entropy(o[keep], torch.tensor(y)[keep])
    keep = torch.tensor(~np.all(y == NO_TARGET, axis=-1))
    if not keep.any():
        return o.sum() * 0.0
    return F.mse_loss(o[keep], torch.tensor(y, dtype=torch.float64)[keep])


def _copies(state: dict[str, np.ndarray], n: int) -> list[dict[str, torch.Tensor]]:
    """n independent leaf copies of every parameter."""
    return [{k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in state.items()} for _ in range(n)]


def feedback_reference(state: dict[str, np.ndarray], x: np.ndarray, targets: np.ndarray, loss: str, feed: str,
                       alpha: float) -> dict:
    """The feedback network in torch: f_t detached, m_t = α m_{t−1} + ŷ_{t−1} (memory), y_{t−1}
    (teacher) or ŷ_{t−1} (output). Returns h, logits, fed, dh, dlogits (T, B, ·), loss_t, grads and
    per-step contribution norms (param → (T,))."""
    T, B, _ = x.shape
    O = state["head.weight"].shape[0]
    steps = _copies(state, T)
    fed = torch.zeros(B, O, dtype=torch.float64)
    hs, os, feds, losses = [], [], [], []
    for t in range(T):
        p = steps[t]
        feds.append(fed)
        h = torch.tanh(torch.tensor(x[t]) @ p["weight_ih_l0"].T + fed @ p["weight_fh_l0"].T + p["bias_ih_l0"])
        h.retain_grad()
        o = h @ p["head.weight"].T + p["head.bias"]
        o.retain_grad()
        hs.append(h)
        os.append(o)
        losses.append(_step_loss(o, targets[t], loss))
        own = (torch.softmax(o, dim=-1) if loss == "cross_entropy" else o).detach()
        if feed == "memory":
            fed = alpha * fed + own
        elif feed == "output":
            fed = own
        else:
            y = targets[t]
            if loss == "cross_entropy":
                missing = torch.tensor(y == NO_TARGET)[:, None]
                true = F.one_hot(torch.tensor(np.where(y == NO_TARGET, 0, y)), O).double()
            else:
                missing = torch.tensor(np.all(y == NO_TARGET, axis=-1))[:, None]
                true = torch.tensor(y, dtype=torch.float64)
            fed = torch.where(missing, own, true)
    total = sum(losses)
    total.backward()
    grads = {k: sum(p[k].grad for p in steps).numpy() for k in state}
    contrib = {k: np.array([np.linalg.norm(p[k].grad.numpy()) for p in steps]) for k in state}
    return {"h": torch.stack(hs).detach().numpy(), "logits": torch.stack(os).detach().numpy(),
            "fed": torch.stack(feds).numpy(), "dh": torch.stack([h.grad for h in hs]).numpy(),
            "dlogits": torch.stack([o.grad for o in os]).numpy(),
            "loss_t": np.array([float(v.detach()) for v in losses]), "loss": float(total.detach()), "grads": grads,
            "contributions": contrib}


def tree_reference(state: dict[str, np.ndarray], children, leaf_position: dict[int, int], x: np.ndarray,
                   targets: np.ndarray, loss: str) -> dict:
    """The recursive network in torch, node by node in post-order: h (N, B, H), dh, logits, dlogits,
    loss, grads and per-node contribution norms (param → (N,), NaN where unused)."""
    N = len(children)
    nodes = _copies(state, N)
    hs: list[torch.Tensor] = []
    for k, kids in enumerate(children):
        p = nodes[k]
        if kids is None:
            a = torch.tensor(x[leaf_position[k]]) @ p["weight_leaf"].T + p["bias_leaf"]
        else:
            a = hs[kids[0]] @ p["weight_left"].T + hs[kids[1]] @ p["weight_right"].T + p["bias_node"]
        h = torch.tanh(a)
        h.retain_grad()
        hs.append(h)
    p = nodes[N - 1]
    o = hs[-1] @ p["head.weight"].T + p["head.bias"]
    o.retain_grad()
    total = _step_loss(o, targets, loss)
    total.backward()
    grads = {k: sum(q[k].grad if q[k].grad is not None else torch.zeros_like(q[k]) for q in nodes).numpy()
             for k in state}
    contrib = {k: np.array([np.linalg.norm(q[k].grad.numpy()) if q[k].grad is not None else np.nan for q in nodes])
               for k in state}
    return {"h": torch.stack(hs).detach().numpy(), "dh": torch.stack([h.grad for h in hs]).numpy(),
            "logits": o.detach().numpy(), "dlogits": o.grad.numpy(), "loss": float(total.detach()), "grads": grads,
            "contributions": contrib}
