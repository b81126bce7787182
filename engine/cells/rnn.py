"""The Elman cell, torch.nn.RNN's equations; φ = tanh ("rnn_tanh") or relu ("rnn_relu").

In the lectures' notation U = W_ih, W = W_hh, b = b_ih + b_hh. Shapes: B batch, H hidden.

Forward:
    z_t = U x_t + W h_{t−1} + b
    h_t = φ(z_t)

Backward (δ_t = ∂L/∂h_t, the total gradient: output path plus recurrence):
    δ_t      = Vᵀ ∂L/∂o_t + Wᵀ ∂L/∂z_{t+1}
    ∂L/∂z_t  = φ′(z_t) ⊙ δ_t          φ′ = 1 − h_t² (tanh), 1[h_t > 0] (relu)
    ∂L/∂U = Σ_t ∂L/∂z_t x_tᵀ,   ∂L/∂W = Σ_t ∂L/∂z_t h_{t−1}ᵀ,   ∂L/∂b = Σ_t ∂L/∂z_t

Step Jacobian: ∂h_t/∂h_{t−1} = diag(φ′(z_t)) W, so ‖∂h_T/∂h_t‖ ≤ (σ_max(W) · max φ′)^{T−t} with
max φ′ = 1 for both nonlinearities. The input projection xp = U x_t + b (b_hh folded in) is
computed for all t at once by the layer driver. Backward steps broadcast over leading dimensions
(…), which lets the flow analysis push several loss terms at once.
"""
from __future__ import annotations

import numpy as np

from .. import record_pool
from .base import Cell, GradStep, StepRecord, diag_times, tanh_derivative
from .lecture import Lecture

PANEL = (
    '<math display="block"><msub><mi>h</mi><mi>t</mi></msub><mo>=</mo><mi>φ</mi><mo>(</mo><mi>U</mi>'
    '<msub><mi>x</mi><mi>t</mi></msub><mo>+</mo><mi>W</mi><msub><mi>h</mi><mrow><mi>t</mi><mo>−</mo><mn>1</mn>'
    '</mrow></msub><mo>+</mo><mi>b</mi><mo>)</mo></math>'
    '<p class="eq-note">φ = {phi}; U = weight_ih, W = weight_hh, b = bias_ih + bias_hh.</p>'
)
DPHI = {"tanh": "(1 − h{next}²)", "relu": "𝟙[z{next} > 0]"}   # φ′ at step t+1, in lecture notation


class ElmanCell(Cell):
    """tanh or relu Elman cell with torch.nn.RNN's equations and parameter layout."""

    torch_class = "RNN"
    max_dphi = 1.0

    def __init__(self, nonlinearity: str) -> None:
        self.name = f"rnn_{nonlinearity}"
        self.nonlinearity = nonlinearity
        self.relu = nonlinearity == "relu"
        self.saturating = {} if self.relu else {"h": (-1.0, 1.0)}
        self.dead_units = self.kinks = self.relu
        self.lecture = Lecture(
            panel=PANEL.format(phi=nonlinearity),
            forward=("h{t} = " + nonlinearity + "({U} {input} + {W} h{prev} + b)",),
            recurrent="{Wn}ᵀ diag" + DPHI[nonlinearity] + " ∂L/∂h{next}",
        )

    def reads_torch(self, module) -> bool:
        """An nn.RNN with this nonlinearity."""
        return super().reads_torch(module) and getattr(module, "nonlinearity", "tanh") == self.nonlinearity

    def forward(self, xp, h_prev, c_prev, w_hh, b_hh, out: StepRecord) -> None:
        """h_t = φ(xp + W h_{t−1}), written into out.h."""
        z = np.matmul(h_prev, w_hh.T, out=out.h)       # (B, H)
        z += xp                                          # z_t (b_hh is folded into xp)
        if self.relu:
            np.maximum(z, 0.0, out=z)
        else:
            np.tanh(z, out=z)

    def derivative(self, h: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """φ'(z_t) expressed through h_t = φ(z_t) (into `out` if given)."""
        out = np.empty_like(h) if out is None else out
        if self.relu:
            return np.greater(h, 0, out=out, casting="unsafe")
        return tanh_derivative(h, out)

    def backward_factors(self, h, h_prev, act, extra):
        """φ'(z_t) for every step."""
        return {"dphi": self.derivative(h, record_pool.empty_like(h))}

    def backward(self, dh_next, dc_next, dh_out, rec: StepRecord, fac, w_hh, out: GradStep):
        """∂L/∂z_t = diag(φ'(z_t)) ∂L/∂h_t; the recurrence carries Wᵀ ∂L/∂z_t."""
        dh = np.add(dh_out, dh_next, out=out.dh)                       # (…, B, H) total ∂L/∂h_t
        dz = np.multiply(dh, fac["dphi"], out=out.dz_ih)               # (…, B, H)
        return dz @ w_hh, None                                          # (…, B, H) ∂L/∂h_{t−1}

    def jacobian(self, rec: StepRecord, w_hh):
        """∂h_t/∂h_{t−1} = diag(φ'(z_t)) W_hh, (B, H, H)."""
        return diag_times(self.derivative(rec.h), w_hh)
