"""The Elman cell: h_t = φ(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), φ = tanh or relu.

In the lectures' notation U = W_ih, W = W_hh, b = b_ih + b_hh. Shapes: B batch,
H hidden; the input projection `xp = W_ih x_t + b_ih` is computed for all t at once
by the layer driver, so a step sees only (B, H) arrays. Every function broadcasts
over leading dimensions, which lets the flow analysis push K loss terms at once.
"""
from __future__ import annotations

import numpy as np

from .cell import Cell, StepRecord


class ElmanCell(Cell):
    """tanh or relu Elman cell with torch.nn.RNN's equations and parameter layout."""

    gates: tuple[str, ...] = ()
    blocks = 1
    has_cell_state = False

    def __init__(self, nonlinearity: str) -> None:
        self.name = f"rnn_{nonlinearity}"
        self.relu = nonlinearity == "relu"

    def forward(self, xp, h_prev, c_prev, w_hh, b_hh):
        """One step: returns (h, None, {}, {}) from xp (B, H), h_prev (B, H)."""
        a = xp + h_prev @ w_hh.T + b_hh                     # (B, H) pre-activation z_t
        h = np.maximum(a, 0.0) if self.relu else np.tanh(a)  # (B, H)
        return h, None, {}, {}

    def derivative(self, h):
        """φ'(z_t) expressed through h_t = φ(z_t)."""
        if self.relu:
            return (h > 0).astype(h.dtype)
        return 1.0 - h * h

    def backward(self, dh, dc, rec: StepRecord, w_hh):
        """Back through one step: dh (…, B, H) total ∂L/∂h_t → (dz_ih, dz_hh, dh_prev, None, {})."""
        dz = dh * self.derivative(rec.h)   # (…, B, H) ∂L/∂z_t = diag(φ'(z_t)) ∂L/∂h_t
        dh_prev = dz @ w_hh                # (…, B, H) Wᵀ ∂L/∂z_t, the recurrent path
        return dz, dz, dh_prev, None, {}

    def jacobian(self, rec: StepRecord, w_hh, b_hh):
        """∂h_t/∂h_{t-1} = diag(φ'(z_t)) W_hh, (B, H, H)."""
        return self.derivative(rec.h)[:, :, None] * w_hh[None, :, :]
