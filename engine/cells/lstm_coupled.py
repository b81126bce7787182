"""The LSTM with coupled input and forget gates (the lectures' "one gate fewer"): i = 1 − f.

Parameters: weight_ih (3H, I), weight_hh (3H, H), bias_ih / bias_hh (3H,), rows f, g, o.

Forward (a_t = W_ih x_t + b_ih + W_hh h_{t−1} + b_hh, split into three H-blocks):
    f = σ(a_f),   g = tanh(a_g),   o = σ(a_o)
    c_t = f ⊙ c_{t−1} + (1 − f) ⊙ g        (what is forgotten is exactly what is written)
    h_t = o ⊙ tanh(c_t)

Backward (δh_t, δc_t the total gradients):
    ∂L/∂o = δh_t ⊙ tanh(c_t)
    δc_t = δh_t ⊙ o ⊙ (1 − tanh²c_t) + f_{t+1} ⊙ δc_{t+1}
    ∂L/∂f = δc_t ⊙ (c_{t−1} − g),   ∂L/∂g = δc_t ⊙ (1 − f)
    ∂L/∂a = ∂L/∂gate ⊙ σ′ (f, o) or tanh′ (g)
    ∂L/∂W_ih = Σ_t ∂L/∂a_t x_tᵀ,  ∂L/∂W_hh = Σ_t ∂L/∂a_t h_{t−1}ᵀ,  ∂L/∂b_ih = ∂L/∂b_hh = Σ_t ∂L/∂a_t

Step Jacobian (u = h_{t−1}, v = c_{t−1}; f′ = f(1 − f), o′ = o(1 − o), g′ = 1 − g²):
    ∂c/∂u = diag((v − g) f′) W_f + diag((1 − f) g′) W_g,   ∂c/∂v = diag(f)
    ∂h/∂u = diag(tanh c ⊙ o′) W_o + diag(o (1 − tanh²c)) ∂c/∂u,   ∂h/∂v = diag(o (1 − tanh²c) f)
The cell keeps tanh(c_t) privately (rebuilt from c_t for a loaded trace). No torch module has these
equations. Shapes: B batch, H hidden; xp is (B, 3H).
"""
from __future__ import annotations

import numpy as np

from .. import record_pool
from .base import (Cell, GradStep, StepRecord, cell_state_jacobian, sigmoid_, sigmoid_derivative,
                   tanh_derivative)
from .lecture import Lecture
from .lstm import C_PATH, H_FROM_C


class CoupledLSTMCell(Cell):
    """LSTM whose input gate is 1 − f."""

    name = "lstm_coupled"
    states = ("h", "c")
    gates = ("f", "g", "o")
    blocks = 3
    extras = ("tanh_c",)
    gate_ranges = {"f": (0.0, 1.0), "g": (-1.0, 1.0), "o": (0.0, 1.0)}
    gate_titles = {"f": "forget gate", "g": "candidate (written with weight 1 − f)", "o": "output gate"}
    saturating = gate_ranges
    forget_gate = "f"
    lecture = Lecture(
        panel=(
            '<math display="block"><msub><mi>c</mi><mi>t</mi></msub><mo>=</mo><msub><mi>f</mi><mi>t</mi></msub>'
            '<mo>⊙</mo><msub><mi>c</mi><mrow><mi>t</mi><mo>−</mo><mn>1</mn></mrow></msub><mo>+</mo><mo>(</mo>'
            '<mn>1</mn><mo>−</mo><msub><mi>f</mi><mi>t</mi></msub><mo>)</mo><mo>⊙</mo><msub><mi>g</mi><mi>t</mi>'
            '</msub></math>'
            + H_FROM_C +
            '<p class="eq-note">Coupled gates: the input gate is 1 − f, so [f, g, o] = [σ, tanh, σ](U x<sub>t</sub>'
            ' + W h<sub>t−1</sub> + b) has one block fewer than the LSTM (rows f, g, o).</p>'
        ),
        forward=("f, o = σ({U} {input} + {W} h{prev} + b),  g = tanh(…)", "{gates}",
                 "c{t} = f ⊙ c{prev} + (1 − f) ⊙ g     (input gate = 1 − f)", "{state:c}", "h{t} = o ⊙ tanh(c{t})"),
        **C_PATH,
    )

    def rebuild_extras(self, h_prev, act, c, w_hh, b_hh):
        """tanh(c_t)."""
        return {"tanh_c": np.tanh(c)}

    def forward(self, xp, h_prev, c_prev, w_hh, b_hh, out: StepRecord) -> None:
        """Gates into out.act, c_t into out.c, tanh(c_t) into out.extra, h_t into out.h."""
        H = h_prev.shape[-1]
        a = np.matmul(h_prev, w_hh.T, out=out.act)     # (B, 3H)
        a += xp
        a[:, H:2 * H] *= 2.0                            # tanh(x) = 2σ(2x) − 1
        sigmoid_(a)
        f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
        g *= 2.0
        g -= 1.0
        c = np.subtract(c_prev, g, out=out.c)           # c_t = g + f ⊙ (c_{t−1} − g)
        c *= f
        c += g
        tc = np.tanh(c, out=out.extra["tanh_c"])
        np.multiply(o, tc, out=out.h)

    def backward_factors(self, h, h_prev, act, extra):
        """σ′/tanh′ of every gate (block order), 1 − f and o ⊙ tanh′(c_t), for every step."""
        H = h.shape[-1]
        dact = sigmoid_derivative(act, record_pool.empty_like(act))            # σ' for f, o
        tanh_derivative(act[..., H:2 * H], dact[..., H:2 * H])                  # tanh' for g
        o_dtanh_c = tanh_derivative(extra["tanh_c"], record_pool.empty_like(h))
        o_dtanh_c *= act[..., 2 * H:]
        one_minus_f = np.subtract(1.0, act[..., :H], out=record_pool.empty_like(h))
        return {"dact": dact, "one_minus_f": one_minus_f, "o_dtanh_c": o_dtanh_c}

    def backward(self, dh_next, dc_next, dh_out, rec: StepRecord, fac, w_hh, out: GradStep):
        """Writes ∂L/∂h_t, ∂L/∂c_t (total), the gate gradients and ∂L/∂(pre-activations)."""
        H = rec.h.shape[-1]
        f, g = rec.act[:, :H], rec.act[:, H:2 * H]
        dgates = out.dgates
        dh = np.add(dh_out, dh_next, out=out.dh)
        np.multiply(dh, rec.extra["tanh_c"], out=dgates[..., 2 * H:])     # ∂L/∂o_t
        dc = np.multiply(dh, fac["o_dtanh_c"], out=out.dc)
        dc += dc_next
        np.multiply(dc, rec.c_prev - g, out=dgates[..., :H])               # ∂L/∂f_t
        np.multiply(dc, fac["one_minus_f"], out=dgates[..., H:2 * H])      # ∂L/∂g_t
        dz = np.multiply(dgates, fac["dact"], out=out.dz_ih)
        return dz @ w_hh, dc * f

    def jacobian(self, rec: StepRecord, w_hh):
        """∂(h_t, c_t)/∂(h_{t−1}, c_{t−1}), (B, 2H, 2H)."""
        H = rec.h.shape[-1]
        a, tc = rec.act, rec.extra["tanh_c"]
        f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
        w_f, w_g, w_o = (w_hh[k * H:(k + 1) * H] for k in range(3))
        dc_dh = [((rec.c_prev - g) * f * (1 - f), w_f), ((1 - f) * (1 - g * g), w_g)]
        return cell_state_jacobian(dc_dh, tc * o * (1 - o), w_o, o * (1 - tc * tc), f)
