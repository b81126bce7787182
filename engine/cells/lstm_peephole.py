"""The peephole LSTM of the lectures (Gers & Schmidhuber): the gates also look at the cell state.

Parameters: torch's LSTM layout (rows i, f, g, o) plus `weight_peephole` (3, H), rows p_i, p_f, p_o.

Forward (a_t = W_ih x_t + b_ih + W_hh h_{t−1} + b_hh, split into four H-blocks):
    i = σ(a_i + p_i ⊙ c_{t−1}),   f = σ(a_f + p_f ⊙ c_{t−1}),   g = tanh(a_g)
    c_t = f ⊙ c_{t−1} + i ⊙ g
    o = σ(a_o + p_o ⊙ c_t)                 (the output gate peeks at the new cell state)
    h_t = o ⊙ tanh(c_t)

Backward (δh_t, δc_t the total gradients; ∂L/∂a the pre-activation gradients):
    ∂L/∂o = δh_t ⊙ tanh(c_t),   ∂L/∂a_o = ∂L/∂o ⊙ o(1 − o)
    δc_t = δh_t ⊙ o ⊙ (1 − tanh²c_t) + p_o ⊙ ∂L/∂a_o
           + f_{t+1} ⊙ δc_{t+1} + p_i ⊙ ∂L/∂a_i,{t+1} + p_f ⊙ ∂L/∂a_f,{t+1}
    ∂L/∂i = δc_t ⊙ g,  ∂L/∂f = δc_t ⊙ c_{t−1},  ∂L/∂g = δc_t ⊙ i;  ∂L/∂a = ∂L/∂gate ⊙ σ′ or tanh′
    ∂L/∂W_ih, ∂L/∂W_hh, ∂L/∂b as for the LSTM
    ∂L/∂p_i = Σ_t ∂L/∂a_i ⊙ c_{t−1},  ∂L/∂p_f = Σ_t ∂L/∂a_f ⊙ c_{t−1},  ∂L/∂p_o = Σ_t ∂L/∂a_o ⊙ c_t
    (sums over the batch too: p is shared by every entry)

Step Jacobian (u = h_{t−1}, v = c_{t−1}; σ′ of each gate written i′, f′, o′; g′ = 1 − g²):
    ∂c/∂u = diag(v f′) W_f + diag(g i′) W_i + diag(i g′) W_g
    ∂c/∂v = diag(f + v f′ p_f + g i′ p_i)
    ∂h/∂· = diag(tanh c ⊙ o′) (W_o δ_{·u} + diag(p_o) ∂c/∂·) + diag(o (1 − tanh²c)) ∂c/∂·
The peepholes are the cell's extra weights (Cell.extra_weights): each step reads them from
StepRecord.weights. No torch module has these equations. Shapes: B batch, H hidden; xp is (B, 4H).
"""
from __future__ import annotations

from types import MappingProxyType

import numpy as np

from .base import StepRecord, GradStep, cell_state_jacobian, sigmoid_
from .lecture import Lecture
from .lstm import LSTMCell

PEEP = "weight_peephole"


class PeepholeLSTMCell(LSTMCell):
    """LSTM whose input and forget gates see c_{t−1} and whose output gate sees c_t."""

    name = "lstm_peephole"
    torch_class = ""
    extra_weights = (PEEP,)
    extra_weight_rows = MappingProxyType({PEEP: ("Pⁱ", "Pᶠ", "Pᵒ")})     # the page names the rows i, f, o
    lecture = Lecture(
        panel=(
            '<math display="block"><msub><mi>f</mi><mi>t</mi></msub><mo>=</mo><mi>σ</mi><mo>(</mo><msup><mi>U</mi>'
            '<mi>f</mi></msup><msub><mi>x</mi><mi>t</mi></msub><mo>+</mo><msup><mi>W</mi><mi>f</mi></msup><msub>'
            '<mi>h</mi><mrow><mi>t</mi><mo>−</mo><mn>1</mn></mrow></msub><mo>+</mo><msup><mi>P</mi><mi>f</mi></msup>'
            '<mo>⊙</mo><msub><mi>c</mi><mrow><mi>t</mi><mo>−</mo><mn>1</mn></mrow></msub><mo>+</mo><msup><mi>b</mi>'
            '<mi>f</mi></msup><mo>)</mo></math>'
            '<math display="block"><msub><mi>c</mi><mi>t</mi></msub><mo>=</mo><msub><mi>f</mi><mi>t</mi></msub>'
            '<mo>⊙</mo><msub><mi>c</mi><mrow><mi>t</mi><mo>−</mo><mn>1</mn></mrow></msub><mo>+</mo><msub><mi>i</mi>'
            '<mi>t</mi></msub><mo>⊙</mo><msub><mi>g</mi><mi>t</mi></msub></math>'
            '<math display="block"><msub><mi>o</mi><mi>t</mi></msub><mo>=</mo><mi>σ</mi><mo>(</mo><msup><mi>U</mi>'
            '<mi>o</mi></msup><msub><mi>x</mi><mi>t</mi></msub><mo>+</mo><msup><mi>W</mi><mi>o</mi></msup><msub>'
            '<mi>h</mi><mrow><mi>t</mi><mo>−</mo><mn>1</mn></mrow></msub><mo>+</mo><msup><mi>P</mi><mi>o</mi></msup>'
            '<mo>⊙</mo><msub><mi>c</mi><mi>t</mi></msub><mo>+</mo><msup><mi>b</mi><mi>o</mi></msup><mo>)</mo>'
            '<mo>,</mo><mspace width="1em"/><msub><mi>h</mi><mi>t</mi></msub><mo>=</mo><msub><mi>o</mi><mi>t</mi>'
            '</msub><mo>⊙</mo><mi>tanh</mi><mo>(</mo><msub><mi>c</mi><mi>t</mi></msub><mo>)</mo></math>'
            '<p class="eq-note">Peepholes P<sup>i</sup>, P<sup>f</sup>, P<sup>o</sup> = the rows of '
            'weight_peephole (diagonal: one weight per unit; the lecture deck writes V, which is the output layer '
            'here); i peeks at c<sub>t−1</sub> like f, o at the new c<sub>t</sub>. '
            'g = tanh(U<sup>g</sup>x<sub>t</sub> + W<sup>g</sup>h<sub>t−1</sub> + b<sup>g</sup>).</p>'
        ),
        forward=("i = σ({U} {input} + {W} h{prev} + b + Pⁱ ⊙ c{prev}),  f = σ(… + Pᶠ ⊙ c{prev}),  g = tanh(…)",
                 "c{t} = f ⊙ c{prev} + i ⊙ g", "{state:c}",
                 "o = σ({U} {input} + {W} h{prev} + b + Pᵒ ⊙ c{t})     (the output gate peeks at c{t})", "{gates}",
                 "h{t} = o ⊙ tanh(c{t})"),
        recurrent="(recurrent path through the gates of step {next_step})",
        state_gradients={"c": "∂L/∂c{t} = ∂L/∂h{t} ⊙ o ⊙ (1 − tanh²c{t}) + Pᵒ ⊙ ∂L/∂aₒ{t}"},
        state_recurrences={"c": " + f{next} ⊙ ∂L/∂c{next} + Pⁱ ⊙ ∂L/∂aᵢ{next} + Pᶠ ⊙ ∂L/∂a_f{next}"},
    )

    def parameter_shapes(self, input_size: int, hidden_size: int) -> dict[str, tuple[int, ...]]:
        """The LSTM's four plus weight_peephole (3, H), rows i, f, o."""
        return {**super().parameter_shapes(input_size, hidden_size), PEEP: (3, hidden_size)}

    def forward(self, xp, h_prev, c_prev, w_hh, b_hh, out: StepRecord) -> None:
        """i, f from c_{t−1}; c_t; then o from c_t; h_t = o ⊙ tanh(c_t)."""
        H = h_prev.shape[-1]
        p = out.weights[PEEP]
        a = np.matmul(h_prev, w_hh.T, out=out.act)     # (B, 4H) pre-activations, in place
        a += xp
        a[:, :H] += p[0] * c_prev
        a[:, H:2 * H] += p[1] * c_prev
        a[:, 2 * H:3 * H] *= 2.0                        # tanh(x) = 2σ(2x) − 1
        sigmoid_(a[:, :3 * H])
        i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
        g *= 2.0
        g -= 1.0
        c = np.multiply(f, c_prev, out=out.c)
        c += i * g
        tc = np.tanh(c, out=out.extra["tanh_c"])
        o += p[2] * c                                   # the output gate peeks at c_t
        sigmoid_(o)
        np.multiply(o, tc, out=out.h)

    def backward(self, dh_next, dc_next, dh_out, rec: StepRecord, fac, w_hh, out: GradStep):
        """As the LSTM's, plus the peephole paths into ∂L/∂c_t and ∂L/∂c_{t−1}."""
        H = rec.h.shape[-1]
        p = rec.weights[PEEP]
        a, tc = rec.act, rec.extra["tanh_c"]
        i, f, g = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H]
        dgates, dz, dact = out.dgates, out.dz_ih, fac["dact"]
        dh = np.add(dh_out, dh_next, out=out.dh)                   # total ∂L/∂h_t
        np.multiply(dh, tc, out=dgates[..., 3 * H:])               # ∂L/∂o_t
        dz_o = np.multiply(dgates[..., 3 * H:], dact[..., 3 * H:], out=dz[..., 3 * H:])
        dc = np.multiply(dh, fac["o_dtanh_c"], out=out.dc)         # through h_t ...
        dc += p[2] * dz_o                                          # ... through o_t's peephole ...
        dc += dc_next                                              # ... and through step t+1
        np.multiply(dc, g, out=dgates[..., :H])                    # ∂L/∂i_t
        np.multiply(dc, rec.c_prev, out=dgates[..., H:2 * H])      # ∂L/∂f_t
        np.multiply(dc, i, out=dgates[..., 2 * H:3 * H])           # ∂L/∂g_t
        np.multiply(dgates[..., :3 * H], dact[..., :3 * H], out=dz[..., :3 * H])
        dc_prev = dc * f + p[0] * dz[..., :H] + p[1] * dz[..., H:2 * H]
        return dz @ w_hh, dc_prev

    def extra_weight_gradients(self, dz_ih, rec: StepRecord):
        """Per step Σ_b (∂L/∂a_i ⊙ c_{t−1}, ∂L/∂a_f ⊙ c_{t−1}, ∂L/∂a_o ⊙ c_t): (n, 3, H)."""
        H = rec.h.shape[-1]
        return {PEEP: np.stack([(dz_ih[..., :H] * rec.c_prev).sum(axis=1),
                                (dz_ih[..., H:2 * H] * rec.c_prev).sum(axis=1),
                                (dz_ih[..., 3 * H:] * rec.c).sum(axis=1)], axis=1)}

    def jacobian(self, rec: StepRecord, w_hh):
        """∂(h_t, c_t)/∂(h_{t−1}, c_{t−1}), (B, 2H, 2H), the peephole terms included."""
        H = rec.h.shape[-1]
        p = rec.weights[PEEP]
        a, tc, v = rec.act, rec.extra["tanh_c"], rec.c_prev
        i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
        di, df, do = i * (1 - i), f * (1 - f), o * (1 - o)
        w_i, w_f, w_g, w_o = (w_hh[k * H:(k + 1) * H] for k in range(4))
        dc_dh = [(v * df, w_f), (g * di, w_i), (i * (1 - g * g), w_g)]
        dc_dc = f + v * df * p[1] + g * di * p[0]                   # diagonal
        k = tc * do * p[2] + o * (1 - tc * tc)                      # ∂h_t/∂c_t (diagonal), through o and tanh
        return cell_state_jacobian(dc_dh, tc * do, w_o, k, dc_dc)
