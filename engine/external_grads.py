"""Gradients that arrive at a network from outside its own head (issue 21): `output_grads`, ∂L/∂(top
layer's outputs) (T, B, D·H) from whatever head and loss a user's model puts on the RNN, and the
gradient the run hands back to its inputs, ∂L/∂x_t (T, B, I), so a gradient can follow into an
embedding or any module in front of the recurrence."""
from __future__ import annotations

import numpy as np


def check_output_grads(output_grads, T: int, B: int, width: int, dtype, valid: np.ndarray | None) -> np.ndarray | None:
    """`output_grads` as a (T, B, width) array of `dtype` (zeros at padding), or None; ValueError
    naming `output_grads` for a wrong shape or a non-finite value."""
    if output_grads is None:
        return None
    g = np.array(output_grads, dtype=dtype, copy=True)
    if g.ndim == 2 and B == 1:
        g = g[:, None, :]
    if g.shape != (T, B, width):
        raise ValueError(f"output_grads must have shape (T, B, D·H) = {(T, B, width)}; got {np.shape(output_grads)}")
    if not np.isfinite(g).all():
        raise ValueError("output_grads contains NaN or Inf")
    if valid is not None:
        g[~valid] = 0                                  # padding has no output to receive a gradient
    return g
