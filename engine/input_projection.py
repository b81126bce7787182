"""The input projection W_ih x_t + b of a segment's steps, computed one block of steps at a time.

One GEMM over all T·B rows would allocate and first-touch a (T, B, blocks·H) array per direction
(131 MB for an LSTM at T = 1000, B = 16, H = 256 in float64) that only the forward loop reads, one
row per step; a block of layer.factor_block steps is still one efficient GEMM and stays in cache (issue 17).
The top layer's output-path gradient dlogits_t V is computed the same way as BPTT reaches each block.
"""
from __future__ import annotations

import numpy as np

from . import record_pool
from .layer import factor_block


class BlockProjection:
    """xp[i] (B, rows) = inputs[i] @ w_ihᵀ + bias for i in [0, n), computed factor_block(n, …) steps at a
    time into one reused buffer (either order of i; a direction visits its steps monotonically)."""

    def __init__(self, inputs: np.ndarray, w_ih: np.ndarray, bias: np.ndarray | None) -> None:
        self.inputs, self.w_ih, self.bias = inputs, w_ih, bias        # inputs (n, B, I)
        n, B = inputs.shape[:2]
        dtype = np.result_type(inputs, w_ih)
        self.size = factor_block(n, B * w_ih.shape[0] * dtype.itemsize)
        self.buf = record_pool.empty((min(n, self.size), B, w_ih.shape[0]), dtype)
        self.lo = self.hi = 0

    def __getitem__(self, i: int) -> np.ndarray:
        """Row i of the projection (a view into the block buffer, valid until the next block)."""
        if not self.lo <= i < self.hi:
            self.lo = i // self.size * self.size
            self.hi = min(self.lo + self.size, self.inputs.shape[0])
            x = self.inputs[self.lo:self.hi]
            out = self.buf[:self.hi - self.lo]
            np.matmul(x.reshape(-1, x.shape[-1]), self.w_ih.T, out=out.reshape(-1, out.shape[-1]))
            if self.bias is not None:
                out += self.bias
        return self.buf[i - self.lo]
