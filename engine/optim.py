"""Optimizers and gradient clipping on the engine's gradients (dicts of torch-named arrays).

Parameters and gradients are `dict[str, np.ndarray]` with the names of `Network.state_dict()`;
the optimizers update the parameter arrays in place, with torch.optim's equations.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

OPTIMIZERS = ("sgd", "adam")

Params = dict[str, np.ndarray]


def global_norm(grads: Mapping[str, np.ndarray]) -> float:
    """‖g‖₂ over every gradient array taken as one vector (NaN/Inf pass through)."""
    with np.errstate(over="ignore", invalid="ignore"):
        total = sum(float(np.sum(np.square(g, dtype=np.float64))) for g in grads.values())
    return math.sqrt(total) if total >= 0 else float("nan")


@dataclass(frozen=True)
class ClipResult:
    """What `clip_by_global_norm` did: the gradients to apply, the norm before clipping, whether it scaled."""

    grads: Params
    norm: float
    clipped: bool


def clip_by_global_norm(grads: Mapping[str, np.ndarray], max_norm: float | None) -> ClipResult:
    """Rescale every gradient by max_norm/‖g‖ when the global norm ‖g‖ exceeds max_norm.

    `max_norm=None` never clips. A non-finite norm cannot be rescaled into a usable step: the
    gradients are returned unchanged with `clipped=False`, and the caller decides what to do.
    """
    norm = global_norm(grads)
    if max_norm is None or not math.isfinite(norm) or norm <= max_norm:
        return ClipResult(dict(grads), norm, False)
    scale = max_norm / norm
    return ClipResult({k: g * scale for k, g in grads.items()}, norm, True)


class Optimizer:
    """Updates a parameter dict in place from a gradient dict with the same keys."""

    lr: float

    def step(self, params: Params, grads: Mapping[str, np.ndarray]) -> None:
        """Apply one update to `params` (in place)."""
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with (heavy-ball) momentum, as torch.optim.SGD:
    v ← μ v + g (v = g at the first step),  θ ← θ − lr v."""

    def __init__(self, lr: float, momentum: float = 0.0) -> None:
        if not lr > 0 or not 0 <= momentum < 1:
            raise ValueError(f"SGD needs lr > 0 and 0 ≤ momentum < 1; got lr={lr}, momentum={momentum}")
        self.lr, self.momentum = lr, momentum
        self._velocity: Params = {}

    def step(self, params: Params, grads: Mapping[str, np.ndarray]) -> None:
        """θ ← θ − lr·v with the momentum buffer v."""
        for name, g in grads.items():
            if self.momentum:
                v = self._velocity.get(name)
                v = g.copy() if v is None else np.add(self.momentum * v, g, out=v)
                self._velocity[name] = v
                g = v
            params[name] -= self.lr * g


class Adam(Optimizer):
    """Adam with bias correction, as torch.optim.Adam (no weight decay):
    m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,  θ ← θ − lr·m̂/(√v̂ + ε)."""

    def __init__(self, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        if not lr > 0 or not all(0 <= b < 1 for b in betas) or not eps > 0:
            raise ValueError(f"Adam needs lr > 0, 0 ≤ β < 1, ε > 0; got lr={lr}, betas={betas}, eps={eps}")
        self.lr, self.betas, self.eps = lr, betas, eps
        self._m: Params = {}
        self._v: Params = {}
        self._t = 0

    def step(self, params: Params, grads: Mapping[str, np.ndarray]) -> None:
        """One bias-corrected Adam update."""
        self._t += 1
        b1, b2 = self.betas
        c1, c2 = 1 - b1 ** self._t, 1 - b2 ** self._t
        for name, g in grads.items():
            m = self._m.setdefault(name, np.zeros_like(g))
            v = self._v.setdefault(name, np.zeros_like(g))
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            params[name] -= self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)


def make_optimizer(name: str, lr: float, momentum: float = 0.0) -> Optimizer:
    """"sgd" (with `momentum`) or "adam"; ValueError otherwise."""
    if name == "sgd":
        return SGD(lr, momentum)
    if name == "adam":
        return Adam(lr)
    raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}; got {name!r}")
