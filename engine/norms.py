"""The one norm the engine reports for a step (the batch mean of the L2 norm of its vector), and the
Frobenius norm of a whole array that a sum of squares would overflow."""
from __future__ import annotations

import numpy as np


def batch_mean_norm(values: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Mean over the batch of ‖v_b‖₂: values (…, B, N) → (…), in values' dtype.

    Used for ‖h_t‖ and ‖∂L/∂h_t‖ of an event, the (T,) gradient-norm profiles, the flow matrix and
    the training epochs' profiles, so every plot and every breakpoint compares the same number.
    NaN/Inf propagate without warnings. With `valid` ((…, B) bool, broadcast against the leading
    axes: the real entries of a padded batch) the mean runs over the real entries only, NaN where
    there is none."""
    values = np.asarray(values)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        norms = np.sqrt((values * values).sum(axis=-1))
        if valid is None:
            return norms.mean(axis=-1)
        keep = np.broadcast_to(valid, norms.shape)
        count = keep.sum(axis=-1)
        total = np.where(keep, norms, 0).sum(axis=-1)
        return np.where(count > 0, total / np.maximum(count, 1), np.nan).astype(norms.dtype)


def frobenius(a: np.ndarray) -> float:
    """‖a‖_F without overflow: an exploding run's gradient (finite entries ~1e160) squares past the float
    range, so the sum of squares is taken of a / max|a|. inf or NaN for an array holding one, silently."""
    a = np.asarray(a, dtype=np.float64)
    top = float(np.abs(a).max()) if a.size else 0.0
    if top == 0.0 or not np.isfinite(top):
        return top
    return top * float(np.linalg.norm(a / top))
