"""The GRU cell, torch.nn.GRU's equations; gate rows in the order r, z, n.

Forward (h = h_{t−1}):
    r = σ(W_ir x + b_ir + W_hr h + b_hr),  z = σ(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
    h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}

(The lectures often write z and 1 − z the other way round.)

Backward (δ_t = ∂L/∂h_t total; a_· the pre-activations):
    ∂L/∂n = δ_t ⊙ (1 − z),   ∂L/∂z = δ_t ⊙ (h_{t−1} − n)
    ∂L/∂a_n = ∂L/∂n ⊙ (1 − n²),   ∂L/∂r = ∂L/∂a_n ⊙ (W_hn h + b_hn)
    ∂L/∂a_r = ∂L/∂r ⊙ r(1 − r),   ∂L/∂a_z = ∂L/∂z ⊙ z(1 − z)
    input part  ∂L/∂(W_i· x + b_i·) = (∂L/∂a_r, ∂L/∂a_z, ∂L/∂a_n)
    recurrent   ∂L/∂(W_h· h + b_h·) = (∂L/∂a_r, ∂L/∂a_z, r ⊙ ∂L/∂a_n)   — they differ in the n block
    δ_{t−1} gets δ_t ⊙ z + W_hhᵀ ∂L/∂(W_h· h + b_h·)

Because r multiplies W_hn h + b_hn, b_hh cannot be folded into the input projection and the
recurrent pre-activation gradient needs its own buffer; the cell keeps W_hn h + b_hn privately
(rebuilt from h_{t−1} and the weights for a loaded trace). The decay bound is the largest measured
Jacobian norm. Shapes: B batch, H hidden; xp is (B, 3H).
"""
from __future__ import annotations

import numpy as np

from .lecture import Lecture
from .. import record_pool
from .base import Cell, GradStep, StepRecord, diag, diag_times, sigmoid_, sigmoid_derivative, tanh_derivative


class GRUCell(Cell):
    """Gated recurrent unit."""

    name = "gru"
    torch_class = "GRU"
    gates = ("r", "z", "n")
    blocks = 3
    folds_hh_bias = False            # b_hn sits inside r ⊙ (…)
    separate_hh_grad = True          # r ⊙ gates the recurrent part of n
    extras = ("ghn",)
    gate_ranges = {"r": (0.0, 1.0), "z": (0.0, 1.0), "n": (-1.0, 1.0)}
    gate_titles = {"r": "reset gate", "z": "update gate", "n": "candidate"}
    saturating = gate_ranges
    lecture = Lecture(
        panel=(
            '<math display="block"><msub><mi>h</mi><mi>t</mi></msub><mo>=</mo><mo>(</mo><mn>1</mn><mo>−</mo>'
            '<msub><mi>z</mi><mi>t</mi></msub><mo>)</mo><mo>⊙</mo><msub><mi>n</mi><mi>t</mi></msub><mo>+</mo>'
            '<msub><mi>z</mi><mi>t</mi></msub><mo>⊙</mo><msub><mi>h</mi><mrow><mi>t</mi><mo>−</mo><mn>1</mn></mrow>'
            '</msub></math>'
            '<math display="block"><mtable columnalign="left"><mtr><mtd><msub><mi>n</mi><mi>t</mi></msub><mo>=</mo>'
            '<mi>tanh</mi><mo>(</mo><msub><mi>U</mi><mi>n</mi></msub><msub><mi>x</mi><mi>t</mi></msub><mo>+</mo>'
            '<msub><mi>b</mi><mrow><mi>i</mi><mi>n</mi></mrow></msub></mtd></mtr><mtr><mtd><mspace width="2.2em"/>'
            '<mo>+</mo><msub><mi>r</mi><mi>t</mi></msub><mo>⊙</mo><mo>(</mo><msub><mi>W</mi><mi>n</mi></msub>'
            '<msub><mi>h</mi><mrow><mi>t</mi><mo>−</mo><mn>1</mn></mrow></msub><mo>+</mo><msub><mi>b</mi><mrow>'
            '<mi>h</mi><mi>n</mi></mrow></msub><mo>)</mo><mo>)</mo></mtd></mtr></mtable></math>'
            "<p class=\"eq-note\"><strong>Convention shown: torch's</strong> h = (1−z)⊙n + z⊙h<sub>prev</sub>. "
            "Many lecture notes swap z and 1−z; the numbers here are torch's.</p>"
        ),
        forward=("r, z = σ({U} {input} + {W} h{prev} + b),  n = tanh(Uₙx + bᵢₙ + r ⊙ (Wₙh{prev} + bₕₙ))", "{gates}",
                 "h{t} = (1 − z) ⊙ n + z ⊙ h{prev}     (torch convention)"),
        recurrent="z{next} ⊙ ∂L/∂h{next} + (path through r, z, n)",
    )

    def rebuild_extras(self, h_prev, act, c, w_hh, b_hh):
        """W_hn h_{t−1} + b_hn."""
        H = h_prev.shape[-1]
        return {"ghn": h_prev @ w_hh[2 * H:].T + b_hh[2 * H:]}

    def forward(self, xp, h_prev, c_prev, w_hh, b_hh, out: StepRecord) -> None:
        """Gates into out.act, W_hn h + b_hn into out.extra["ghn"], h_t into out.h."""
        H = h_prev.shape[-1]
        gh = h_prev @ w_hh.T                            # (B, 3H)
        gh += b_hh
        a = out.act
        np.add(xp[:, :2 * H], gh[:, :2 * H], out=a[:, :2 * H])
        sigmoid_(a[:, :2 * H])                          # r, z
        r, z, n = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
        ghn = out.extra["ghn"]
        ghn[...] = gh[:, 2 * H:]
        np.multiply(r, ghn, out=n)
        n += xp[:, 2 * H:]
        np.tanh(n, out=n)
        h = np.subtract(h_prev, n, out=out.h)           # h_t = n + z ⊙ (h_{t−1} − n)
        h *= z
        h += n

    def backward_factors(self, h, h_prev, act, extra):
        """1 − z, h_{t−1} − n, tanh'(n) and σ' of r and z (contiguous), for every step."""
        H = h.shape[-1]
        rz, n = act[..., :2 * H], act[..., 2 * H:]
        scratch = lambda: record_pool.empty_like(h)     # noqa: E731
        return {"one_minus_z": np.subtract(1.0, act[..., H:2 * H], out=scratch()),
                "h_prev_minus_n": np.subtract(h_prev, n, out=scratch()),
                "dtanh_n": tanh_derivative(n, scratch()),
                "dsig_rz": sigmoid_derivative(rz, record_pool.empty(rz.shape, rz.dtype))}

    def backward(self, dh_next, dc_next, dh_out, rec: StepRecord, fac, w_hh, out: GradStep):
        """Writes ∂L/∂h_t, the gate gradients and ∂L/∂(pre-activations) (input and recurrent parts differ)."""
        H = rec.h.shape[-1]
        r, z = rec.act[:, :H], rec.act[:, H:2 * H]
        dgates, dz_ih, dz_hh = out.dgates, out.dz_ih, out.dz_hh     # (…, B, 3H) each
        dh = np.add(dh_out, dh_next, out=out.dh)                     # total ∂L/∂h_t
        d_n = np.multiply(dh, fac["one_minus_z"], out=dgates[..., 2 * H:])
        np.multiply(dh, fac["h_prev_minus_n"], out=dgates[..., H:2 * H])          # ∂L/∂z
        da_n = np.multiply(d_n, fac["dtanh_n"], out=dz_ih[..., 2 * H:])            # ∂L/∂(pre-activation of n)
        np.multiply(da_n, rec.extra["ghn"], out=dgates[..., :H])                    # ∂L/∂r
        np.multiply(dgates[..., :2 * H], fac["dsig_rz"], out=dz_ih[..., :2 * H])
        dz_hh[..., :2 * H] = dz_ih[..., :2 * H]
        np.multiply(da_n, r, out=dz_hh[..., 2 * H:])                  # r ⊙ gates the recurrent part of n
        return dh * z + dz_hh @ w_hh, None

    def jacobian(self, rec: StepRecord, w_hh):
        """∂h_t/∂h_{t-1}, (B, H, H)."""
        H = rec.h.shape[-1]
        a, ghn = rec.act, rec.extra["ghn"]
        r, z, n = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
        w_r, w_z, w_n = (w_hh[k * H:(k + 1) * H] for k in range(3))
        dn = (1 - n * n)[:, :, None] * (diag_times(r, w_n) + diag_times(ghn * r * (1 - r), w_r))
        return diag(z) + (1 - z)[:, :, None] * dn + diag_times((rec.h_prev - n) * z * (1 - z), w_z)
