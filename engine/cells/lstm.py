"""The LSTM cell, torch.nn.LSTM's equations; gate rows of W_ih / W_hh in the order i, f, g, o.

Forward (a_t = W_ih x_t + b_ih + W_hh h_{t−1} + b_hh, split into four H-blocks):
    i, f, o = σ(a_i), σ(a_f), σ(a_o),   g = tanh(a_g)
    c_t = f ⊙ c_{t−1} + i ⊙ g,   h_t = o ⊙ tanh(c_t)

Backward (δh_t = ∂L/∂h_t total; δc_t = ∂L/∂c_t total):
    δh_t = Vᵀ ∂L/∂o_t + W_hhᵀ ∂L/∂a_{t+1}
    ∂L/∂o = δh_t ⊙ tanh(c_t)
    δc_t = δh_t ⊙ o ⊙ (1 − tanh²(c_t)) + δc_{t+1} ⊙ f_{t+1}
    ∂L/∂i = δc_t ⊙ g,  ∂L/∂f = δc_t ⊙ c_{t−1},  ∂L/∂g = δc_t ⊙ i
    ∂L/∂a = ∂L/∂gate ⊙ σ′ (i, f, o: σ(1 − σ)) or tanh′ (g: 1 − g²)
    ∂L/∂W_ih = Σ_t ∂L/∂a_t x_tᵀ,  ∂L/∂W_hh = Σ_t ∂L/∂a_t h_{t−1}ᵀ,  ∂L/∂b_ih = ∂L/∂b_hh = Σ_t ∂L/∂a_t

The recurrent state is the pair (h, c); the step Jacobian ∂(h_t, c_t)/∂(h_{t−1}, c_{t−1}) is 2H × 2H
and has no closed-form bound, so the decay bound is the largest measured Jacobian norm. The cell
keeps tanh(c_t) privately (rebuilt from c_t for a loaded trace). Shapes: B batch, H hidden; xp is (B, 4H).
"""
from __future__ import annotations

import numpy as np

from .. import record_pool
from .lecture import Lecture
from .base import (Cell, GradStep, StepRecord, cell_state_jacobian, sigmoid_, sigmoid_derivative,
                   tanh_derivative)


# shared by the LSTM variants (lstm_coupled): h_t = o_t ⊙ tanh(c_t), and the c path of the step templates
H_FROM_C = ('<math display="block"><msub><mi>h</mi><mi>t</mi></msub><mo>=</mo><msub><mi>o</mi><mi>t</mi></msub>'
            '<mo>⊙</mo><mi>tanh</mi><mo>(</mo><msub><mi>c</mi><mi>t</mi></msub><mo>)</mo></math>')
C_PATH = {"recurrent": "(recurrent path through the gates of step {next_step})",
          "state_gradients": {"c": "∂L/∂c{t} = ∂L/∂h{t} ⊙ o ⊙ (1 − tanh²c{t})"},
          "state_recurrences": {"c": " + f{next} ⊙ ∂L/∂c{next}"}}


class LSTMCell(Cell):
    """Long short-term memory cell."""

    name = "lstm"
    torch_class = "LSTM"
    states = ("h", "c")
    gates = ("i", "f", "g", "o")
    blocks = 4
    extras = ("tanh_c",)
    gate_ranges = {"i": (0.0, 1.0), "f": (0.0, 1.0), "g": (-1.0, 1.0), "o": (0.0, 1.0)}
    gate_titles = {"i": "input gate", "f": "forget gate", "g": "candidate", "o": "output gate"}
    saturating = {"i": (0.0, 1.0), "f": (0.0, 1.0), "o": (0.0, 1.0), "g": (-1.0, 1.0)}
    forget_gate = "f"
    lecture = Lecture(
        panel=(
            '<math display="block"><msub><mi>c</mi><mi>t</mi></msub><mo>=</mo><msub><mi>f</mi><mi>t</mi></msub>'
            '<mo>⊙</mo><msub><mi>c</mi><mrow><mi>t</mi><mo>−</mo><mn>1</mn></mrow></msub><mo>+</mo><msub><mi>i</mi>'
            '<mi>t</mi></msub><mo>⊙</mo><msub><mi>g</mi><mi>t</mi></msub></math>'
            + H_FROM_C +
            '<p class="eq-note">[i, f, g, o] = [σ, σ, tanh, σ](U x<sub>t</sub> + W h<sub>t−1</sub> + b), rows in '
            "torch's order i, f, g, o.</p>"
        ),
        forward=("i, f, o = σ({U} {input} + {W} h{prev} + b),  g = tanh(…)", "{gates}",
                 "c{t} = f ⊙ c{prev} + i ⊙ g", "{state:c}", "h{t} = o ⊙ tanh(c{t})"),
        **C_PATH,
    )

    def reads_torch(self, module) -> bool:
        """An nn.LSTM without a projection (proj_size > 0 has other equations: ValueError)."""
        if not super().reads_torch(module):
            return False
        if getattr(module, "proj_size", 0):
            raise ValueError(f"nn.LSTM(proj_size={module.proj_size}) is not supported: with proj_size > 0 "
                             "h_t = W_hr (o ⊙ tanh(c_t)); use proj_size=0")
        return True

    def rebuild_extras(self, h_prev, act, c, w_hh, b_hh):
        """tanh(c_t)."""
        return {"tanh_c": np.tanh(c)}

    def forward(self, xp, h_prev, c_prev, w_hh, b_hh, out: StepRecord) -> None:
        """Gates into out.act, c_t into out.c, tanh(c_t) into out.extra, h_t into out.h."""
        H = h_prev.shape[-1]
        a = np.matmul(h_prev, w_hh.T, out=out.act)     # (B, 4H) pre-activations, in place
        a += xp
        a[:, 2 * H:3 * H] *= 2.0                        # tanh(x) = 2σ(2x) − 1: one σ pass for all gates
        sigmoid_(a)
        i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
        g *= 2.0
        g -= 1.0
        c = np.multiply(f, c_prev, out=out.c)           # c_t = f ⊙ c_{t−1} + i ⊙ g
        c += i * g
        tc = np.tanh(c, out=out.extra["tanh_c"])
        np.multiply(o, tc, out=out.h)                   # h_t = o ⊙ tanh(c_t)

    def backward_factors(self, h, h_prev, act, extra):
        """σ'/tanh' of every gate (block order) and o ⊙ tanh'(c_t), for every step."""
        H = h.shape[-1]
        dact = sigmoid_derivative(act, record_pool.empty_like(act))            # σ' = σ(1 − σ) for i, f, o
        tanh_derivative(act[..., 2 * H:3 * H], dact[..., 2 * H:3 * H])          # tanh' for g
        o_dtanh_c = tanh_derivative(extra["tanh_c"], record_pool.empty_like(h))
        o_dtanh_c *= act[..., 3 * H:]
        return {"dact": dact, "o_dtanh_c": o_dtanh_c}

    def backward(self, dh_next, dc_next, dh_out, rec: StepRecord, fac, w_hh, out: GradStep):
        """Writes ∂L/∂h_t, ∂L/∂c_t (total), the gate gradients and ∂L/∂(pre-activations)."""
        H = rec.h.shape[-1]
        a, tc = rec.act, rec.extra["tanh_c"]
        i, f, g = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H]
        dgates = out.dgates                                        # (…, B, 4H) ∂L/∂(i, f, g, o)
        dh = np.add(dh_out, dh_next, out=out.dh)                   # total ∂L/∂h_t
        np.multiply(dh, tc, out=dgates[..., 3 * H:])               # ∂L/∂o_t
        dc = np.multiply(dh, fac["o_dtanh_c"], out=out.dc)         # ∂L/∂c_t through h_t ...
        dc += dc_next                                              # ... and through c_{t+1}
        np.multiply(dc, g, out=dgates[..., :H])                    # ∂L/∂i_t
        np.multiply(dc, rec.c_prev, out=dgates[..., H:2 * H])      # ∂L/∂f_t
        np.multiply(dc, i, out=dgates[..., 2 * H:3 * H])           # ∂L/∂g_t
        dz = np.multiply(dgates, fac["dact"], out=out.dz_ih)       # (…, B, 4H) ∂L/∂(pre-activations)
        return dz @ w_hh, dc * f                                    # ∂L/∂h_{t−1}, ∂L/∂c_{t−1} (c path)

    def jacobian(self, rec: StepRecord, w_hh):
        """∂(h_t, c_t)/∂(h_{t-1}, c_{t-1}), (B, 2H, 2H)."""
        H = rec.h.shape[-1]
        a, tc = rec.act, rec.extra["tanh_c"]
        i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
        w_i, w_f, w_g, w_o = (w_hh[k * H:(k + 1) * H] for k in range(4))   # (H, H) each
        dc_dh = [(rec.c_prev * f * (1 - f), w_f), (g * i * (1 - i), w_i), (i * (1 - g * g), w_g)]
        return cell_state_jacobian(dc_dh, tc * o * (1 - o), w_o, o * (1 - tc * tc), f)
