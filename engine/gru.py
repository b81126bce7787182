"""The GRU cell, torch.nn.GRU's equations; gate rows in the order r, z, n.

    r = σ(W_ir x + b_ir + W_hr h + b_hr),  z = σ(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
    h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}

(The lectures often write z and 1 − z the other way round.) Shapes: B batch, H hidden; xp is (B, 3H).
"""
from __future__ import annotations

import numpy as np

from .cell import Cell, StepRecord, sigmoid


class GRUCell(Cell):
    """Gated recurrent unit."""

    name = "gru"
    gates = ("r", "z", "n")
    blocks = 3
    has_cell_state = False

    def forward(self, xp, h_prev, c_prev, w_hh, b_hh):
        """One step: returns (h, None, {r, z, n}, {"ghn": W_hn h_prev + b_hn})."""
        H = h_prev.shape[-1]
        gh = h_prev @ w_hh.T + b_hh                    # (B, 3H)
        r = sigmoid(xp[:, :H] + gh[:, :H])             # (B, H)
        z = sigmoid(xp[:, H:2 * H] + gh[:, H:2 * H])
        ghn = gh[:, 2 * H:]                            # (B, H) W_hn h + b_hn
        n = np.tanh(xp[:, 2 * H:] + r * ghn)
        h = (1.0 - z) * n + z * h_prev
        return h, None, {"r": r, "z": z, "n": n}, {"ghn": ghn}

    def backward(self, dh, dc, rec: StepRecord, w_hh):
        """dh (…, B, H) total ∂L/∂h_t → (dz_ih, dz_hh, dh_prev, None, gate grads)."""
        r, z, n = (rec.gates[k] for k in self.gates)
        ghn = rec.extra["ghn"]
        d_n = dh * (1.0 - z)                      # ∂L/∂n
        d_z = dh * (rec.h_prev - n)               # ∂L/∂z
        da_n = d_n * (1.0 - n * n)                # ∂L/∂(pre-activation of n)
        d_r = da_n * ghn                          # ∂L/∂r
        da_r = d_r * r * (1.0 - r)
        da_z = d_z * z * (1.0 - z)
        dz_ih = np.concatenate([da_r, da_z, da_n], axis=-1)        # (…, B, 3H)
        dz_hh = np.concatenate([da_r, da_z, da_n * r], axis=-1)    # (…, B, 3H)
        dh_prev = dh * z + dz_hh @ w_hh                            # (…, B, H)
        return dz_ih, dz_hh, dh_prev, None, {"r": d_r, "z": d_z, "n": d_n}

    def jacobian(self, rec: StepRecord, w_hh, b_hh):
        """∂h_t/∂h_{t-1}, (B, H, H)."""
        r, z, n = (rec.gates[k] for k in self.gates)
        H = rec.h.shape[-1]
        w_r, w_z, w_n = (w_hh[k * H:(k + 1) * H] for k in range(3))
        ghn = rec.extra["ghn"]
        dn = (1 - n * n)[:, :, None] * (r[:, :, None] * w_n + (ghn * r * (1 - r))[:, :, None] * w_r)
        eye = np.einsum("bi,ij->bij", z, np.eye(H, dtype=z.dtype))
        return eye + (1 - z)[:, :, None] * dn + ((rec.h_prev - n) * z * (1 - z))[:, :, None] * w_z
