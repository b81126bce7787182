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


def input_gradients(tr, sinks: dict, first_layer_weight: str = "weight_ih") -> np.ndarray:
    """∂L/∂x_t (T, B, I) of a finished backward pass: Σ_d ∂L/∂z_ih(d) · W_ih_l0(d), one GEMM per
    stage and direction (each stage with its own weights). `sinks` maps (layer, direction) →
    RecordingSink."""
    arch = tr.arch
    out = np.zeros((tr.T, tr.B, arch.input_size), dtype=tr.dtype)
    for seg in tr.stages:
        for d in range(arch.directions):
            w = tr.weight(seg, f"{first_layer_weight}{arch.tag(0, d)}")   # a reverse-only layer 0: _l0_reverse
            out[seg.span] += sinks[0, d].dz_ih[seg.span] @ w
    return out
