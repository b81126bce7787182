"""The LSTM cell, torch.nn.LSTM's equations; gate rows of W_ih / W_hh in the order i, f, g, o.

    i, f, o = σ(W_i· x_t + b_i· + W_h· h_{t-1} + b_h·),  g = tanh(…)
    c_t = f ⊙ c_{t-1} + i ⊙ g,   h_t = o ⊙ tanh(c_t)

The recurrent state is the pair (h, c). Shapes: B batch, H hidden; xp is (B, 4H).
"""
from __future__ import annotations

import numpy as np

from .cell import Cell, StepRecord, sigmoid


class LSTMCell(Cell):
    """Long short-term memory cell."""

    name = "lstm"
    gates = ("i", "f", "g", "o")
    blocks = 4
    has_cell_state = True

    def forward(self, xp, h_prev, c_prev, w_hh, b_hh):
        """One step: returns (h, c, {i, f, g, o}, {})."""
        a = xp + h_prev @ w_hh.T + b_hh          # (B, 4H)
        H = h_prev.shape[-1]
        i = sigmoid(a[:, :H])                    # (B, H)
        f = sigmoid(a[:, H:2 * H])
        g = np.tanh(a[:, 2 * H:3 * H])
        o = sigmoid(a[:, 3 * H:])
        c = f * c_prev + i * g                   # (B, H)
        h = o * np.tanh(c)                       # (B, H)
        return h, c, {"i": i, "f": f, "g": g, "o": o}, {}

    def backward(self, dh, dc, rec: StepRecord, w_hh):
        """dh, dc: (…, B, H) ∂L/∂h_t (total) and the c-path from step t+1 → (dz, dz, dh_prev, dc_prev, gate grads).

        The returned gate grads include "c": the total ∂L/∂c_t.
        """
        i, f, g, o = (rec.gates[k] for k in self.gates)
        tc = np.tanh(rec.c)                                   # (B, H)
        d_o = dh * tc                                         # ∂L/∂o_t
        dc_total = dc + dh * o * (1.0 - tc * tc)              # ∂L/∂c_t through h_t and c_{t+1}
        d_i = dc_total * g
        d_g = dc_total * i
        d_f = dc_total * rec.c_prev
        dc_prev = dc_total * f
        dz = np.concatenate([d_i * i * (1.0 - i), d_f * f * (1.0 - f),
                             d_g * (1.0 - g * g), d_o * o * (1.0 - o)], axis=-1)   # (…, B, 4H)
        dh_prev = dz @ w_hh                                    # (…, B, H)
        return dz, dz, dh_prev, dc_prev, {"c": dc_total, "i": d_i, "f": d_f, "g": d_g, "o": d_o}

    def jacobian(self, rec: StepRecord, w_hh, b_hh):
        """∂(h_t, c_t)/∂(h_{t-1}, c_{t-1}), (B, 2H, 2H)."""
        i, f, g, o = (rec.gates[k] for k in self.gates)
        H = rec.h.shape[-1]
        w_i, w_f, w_g, w_o = (w_hh[k * H:(k + 1) * H] for k in range(4))   # (H, H) each
        tc = np.tanh(rec.c)
        dc_dh = ((rec.c_prev * f * (1 - f))[:, :, None] * w_f + (g * i * (1 - i))[:, :, None] * w_i
                 + (i * (1 - g * g))[:, :, None] * w_g)                    # (B, H, H)
        dh_dh = (tc * o * (1 - o))[:, :, None] * w_o + (o * (1 - tc * tc))[:, :, None] * dc_dh
        dc_dc = np.einsum("bi,ij->bij", f, np.eye(H, dtype=f.dtype))
        dh_dc = np.einsum("bi,ij->bij", o * (1 - tc * tc) * f, np.eye(H, dtype=f.dtype))
        top = np.concatenate([dh_dh, dh_dc], axis=2)
        bottom = np.concatenate([dc_dh, dc_dc], axis=2)
        return np.concatenate([top, bottom], axis=1)
