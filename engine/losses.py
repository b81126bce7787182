"""Per-step losses summed over time: L = Σ_t L_t, L_t = mean over the batch entries with a target.

A target of -100 at (t, b) means "no loss there" (for mse: every output of that row is -100).
A step without targets contributes 0.

`reduction` (a run's `loss_reduction`) says how the entries with a target are weighted, as torch's
`reduction=` does: "step_mean" (the default above: `Σ_t F.cross_entropy(o[t], y[t])`), "token_mean"
(the mean over every entry of the run that has a target: `F.cross_entropy(o[mask], y[mask])`, for mse
over those entries' outputs) or "sum" (`reduction="sum"`). L_t is then step t's share of that total.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

IGNORE = -100
LOSSES = ("cross_entropy", "mse")
REDUCTIONS = ("step_mean", "token_mean", "sum")


@dataclass
class LossResult:
    """Everything the loss layer records."""

    loss_t: np.ndarray            # (T,)
    dlogits: np.ndarray           # (T, B, O) ∂L/∂o_t
    probs: np.ndarray | None      # (T, B, O) softmax, cross_entropy only
    dprobs: np.ndarray | None     # (T, B, O) ∂L/∂ŷ_t, cross_entropy only


def target_mask(targets: np.ndarray, loss: str) -> np.ndarray:
    """(T, B) bool: where a loss term exists."""
    if loss == "cross_entropy":
        return targets != IGNORE
    return ~np.all(targets == IGNORE, axis=-1)


def check_targets(targets, loss: str, T: int, B: int, O: int) -> np.ndarray:
    """Validate and normalise targets for `loss`; ValueError with a clear message."""
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(LOSSES)}; got {loss!r}")
    t = np.asarray(targets)
    if loss == "cross_entropy":
        if t.shape == (T,) and B == 1:
            t = t[:, None]
        if t.shape != (T, B):
            raise ValueError(f"targets for cross_entropy must have shape (T, B) = {(T, B)}; got {t.shape}")
        if not np.issubdtype(t.dtype, np.integer):
            if not np.issubdtype(t.dtype, np.number) or not np.all(np.isfinite(t)) or np.any(t != np.round(t)):
                raise ValueError("targets for cross_entropy must be integer class ids (or -100)")
        t = t.astype(np.int64)
        bad = (t != IGNORE) & ((t < 0) | (t >= O))
        if bad.any():
            raise ValueError(f"targets must be class ids in [0, {O}) or -100; found {t[bad][0]}")
        return t
    if t.shape == (T, O) and B == 1:
        t = t[:, None, :]
    if t.shape != (T, B, O):
        raise ValueError(f"targets for mse must have shape (T, B, O) = {(T, B, O)}; got {t.shape}")
    if not np.issubdtype(t.dtype, np.number) or not np.all(np.isfinite(t)):
        raise ValueError("targets for mse must be finite numbers")
    return t


def check_reduction(reduction: str) -> str:
    """`reduction` if it is one of REDUCTIONS; ValueError naming `loss_reduction` otherwise."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"loss_reduction must be one of {', '.join(REDUCTIONS)}; got {reduction!r}")
    return reduction


def compute_loss(logits: np.ndarray, targets: np.ndarray, loss: str, reduction: str = "step_mean",
                 total: int | None = None) -> LossResult:
    """Per-step losses and ∂L/∂logits for logits (T, B, O). For "token_mean", `total` is the number of
    entries with a target in the whole run (these T steps may be a part of it); default: in these."""
    mask = target_mask(targets, loss)                         # (T, B)
    if reduction == "step_mean":
        count = mask.sum(axis=1)                              # (T,) entries with a target per step
        weight = np.where(mask, 1.0 / np.maximum(count, 1)[:, None], 0.0)
    elif reduction == "token_mean":
        weight = np.where(mask, 1.0 / max(int(mask.sum()) if total is None else total, 1), 0.0)
    else:
        weight = mask.astype(np.float64)
    weight = weight.astype(logits.dtype)                      # (T, B)
    with np.errstate(invalid="ignore", over="ignore"):
        if loss == "cross_entropy":
            return _cross_entropy(logits, targets, mask, weight)
        return _mse(logits, targets, mask, weight, per_output=reduction != "sum")


def _cross_entropy(logits, targets, mask, weight) -> LossResult:
    shifted = logits - logits.max(axis=-1, keepdims=True)     # (T, B, O)
    exp = np.exp(shifted)
    total = exp.sum(axis=-1, keepdims=True)
    probs = exp / total                                        # ŷ_t
    log_probs = shifted - np.log(total)
    safe = np.where(mask, targets, 0)                          # (T, B)
    picked = np.take_along_axis(log_probs, safe[..., None], axis=-1)[..., 0]   # (T, B) log ŷ_t[y_t]
    loss_t = -(np.where(mask, picked, 0.0) * weight).sum(axis=1)
    onehot = np.zeros_like(probs)
    np.put_along_axis(onehot, safe[..., None], 1.0, axis=-1)
    onehot *= mask[..., None]
    dlogits = (probs - onehot) * weight[..., None]             # (ŷ_t − y_t) / n_t
    with np.errstate(divide="ignore"):
        dprobs = np.where(onehot > 0, -weight[..., None] / np.where(onehot > 0, probs, 1.0), 0.0)
    return LossResult(loss_t, dlogits, probs, dprobs)


def _mse(logits, targets, mask, weight, per_output: bool = True) -> LossResult:
    O = logits.shape[-1] if per_output else 1                 # the mean over outputs, as torch's mse_loss
    diff = np.where(mask[..., None], logits - targets, 0.0)    # (T, B, O)
    loss_t = ((diff * diff).sum(axis=-1) * weight).sum(axis=1) / O
    dlogits = 2.0 * diff * weight[..., None] / O
    return LossResult(loss_t, dlogits, None, None)
