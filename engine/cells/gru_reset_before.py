"""The GRU as the lectures write it (Cho et al. 2014, ONNX's default): the reset gate is applied to
h_{t−1} before the recurrent product. torch's GRU ("gru") applies it after.

Parameters: torch's GRU shapes, rows r, z, n.

Forward (u = h_{t−1}):
    r = σ(W_ir x + b_ir + W_hr u + b_hr),   z = σ(W_iz x + b_iz + W_hz u + b_hz)
    n = tanh(W_in x + b_in + W_hn (r ⊙ u) + b_hn)
    h_t = (1 − z) ⊙ n + z ⊙ u

Backward (δ_t = ∂L/∂h_t total; a_· the pre-activations):
    ∂L/∂n = δ_t ⊙ (1 − z),   ∂L/∂z = δ_t ⊙ (u − n),   ∂L/∂a_n = ∂L/∂n ⊙ (1 − n²)
    q = W_hnᵀ ∂L/∂a_n  (= ∂L/∂(r ⊙ u)),   ∂L/∂r = q ⊙ u
    ∂L/∂a_r = ∂L/∂r ⊙ r(1 − r),   ∂L/∂a_z = ∂L/∂z ⊙ z(1 − z)
    δ_{t−1} gets δ_t ⊙ z + W_hrᵀ ∂L/∂a_r + W_hzᵀ ∂L/∂a_z + r ⊙ q
    ∂L/∂W_hr = Σ_t ∂L/∂a_r uᵀ,  ∂L/∂W_hz = Σ_t ∂L/∂a_z uᵀ,  ∂L/∂W_hn = Σ_t ∂L/∂a_n (r ⊙ u)ᵀ
    ∂L/∂b_ih = ∂L/∂b_hh = Σ_t ∂L/∂a_t

W_hn multiplies r ⊙ h_{t−1}, not h_{t−1}: the cell says so through Cell.recurrent_operands. b_hh sits
outside r, so it folds into the input projection and both pre-activation gradients are one array.

Step Jacobian:
    ∂h_t/∂u = diag(z) + diag((u − n) z(1 − z)) W_hz
              + diag((1 − z)(1 − n²)) W_hn (diag(r) + diag(u r(1 − r)) W_hr)
Shapes: B batch, H hidden; xp is (B, 3H). No torch module has these equations.
"""
from __future__ import annotations

import numpy as np

from .base import GradStep, StepRecord, diag, diag_times, sigmoid_
from .gru import GRUCell
from .lecture import Lecture


class ResetBeforeGRUCell(GRUCell):
    """GRU with n = tanh(W_in x + b_in + W_hn (r ⊙ h_{t−1}) + b_hn)."""

    name = "gru_reset_before"
    torch_class = ""
    folds_hh_bias = True
    separate_hh_grad = False
    extras = ()
    gate_titles = {"r": "reset gate (applied to h_{t−1} before W_hn)", "z": "update gate", "n": "candidate"}
    lecture = Lecture(
        panel=(
            '<math display="block"><msub><mi>h</mi><mi>t</mi></msub><mo>=</mo><mo>(</mo><mn>1</mn><mo>−</mo>'
            '<msub><mi>z</mi><mi>t</mi></msub><mo>)</mo><mo>⊙</mo><msub><mi>g</mi><mi>t</mi></msub><mo>+</mo>'
            '<msub><mi>z</mi><mi>t</mi></msub><mo>⊙</mo><msub><mi>h</mi><mrow><mi>t</mi><mo>−</mo><mn>1</mn></mrow>'
            '</msub></math>'
            '<math display="block"><msub><mi>g</mi><mi>t</mi></msub><mo>=</mo><mi>tanh</mi><mo>(</mo><msub><mi>W</mi>'
            '<mi>g</mi></msub><mo>(</mo><msub><mi>r</mi><mi>t</mi></msub><mo>⊙</mo><msub><mi>h</mi><mrow><mi>t</mi>'
            '<mo>−</mo><mn>1</mn></mrow></msub><mo>)</mo><mo>+</mo><msub><mi>U</mi><mi>g</mi></msub><msub><mi>x</mi>'
            '<mi>t</mi></msub><mo>+</mo><msub><mi>b</mi><mi>g</mi></msub><mo>)</mo></math>'
            '<p class="eq-note"><strong>The lectures\' GRU</strong>: the reset gate r acts on h<sub>t−1</sub> '
            '<em>before</em> the product with W<sub>g</sub> (torch\'s GRU applies it after). The candidate g is '
            'the row block n; h = (1−z)⊙g + z⊙h<sub>prev</sub> as in torch.</p>'
        ),
        forward=("r, z = σ({U} {input} + {W} h{prev} + b)", "n = tanh(Uₙ {input} + Wₙ (r ⊙ h{prev}) + bₙ)     "
                 "(reset before the product)", "{gates}", "h{t} = (1 − z) ⊙ n + z ⊙ h{prev}"),
        recurrent="z{next} ⊙ ∂L/∂h{next} + r{next} ⊙ Wₙᵀ ∂L/∂aₙ{next} + (path through r, z)",
    )

    def rebuild_extras(self, h_prev, act, c, w_hh, b_hh):
        """Nothing private."""
        return {}

    def recurrent_operands(self, h_prev, act):
        """W_hn multiplies r ⊙ h_{t−1}."""
        H = h_prev.shape[-1]
        return {"n": act[..., :H] * h_prev}

    def forward(self, xp, h_prev, c_prev, w_hh, b_hh, out: StepRecord) -> None:
        """r, z first; then n from r ⊙ h_{t−1}; h_t into out.h (b_hh is folded into xp)."""
        H = h_prev.shape[-1]
        a = out.act
        np.matmul(h_prev, w_hh[:2 * H].T, out=a[:, :2 * H])
        a[:, :2 * H] += xp[:, :2 * H]
        sigmoid_(a[:, :2 * H])                          # r, z
        r, z, n = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
        np.matmul(r * h_prev, w_hh[2 * H:].T, out=n)
        n += xp[:, 2 * H:]
        np.tanh(n, out=n)
        h = np.subtract(h_prev, n, out=out.h)           # h_t = n + z ⊙ (h_{t−1} − n)
        h *= z
        h += n

    def backward(self, dh_next, dc_next, dh_out, rec: StepRecord, fac, w_hh, out: GradStep):
        """Writes ∂L/∂h_t, the gate gradients and ∂L/∂(pre-activations) (one array for both parts)."""
        H = rec.h.shape[-1]
        r, z = rec.act[:, :H], rec.act[:, H:2 * H]
        dgates, dz = out.dgates, out.dz_ih
        dh = np.add(dh_out, dh_next, out=out.dh)
        d_n = np.multiply(dh, fac["one_minus_z"], out=dgates[..., 2 * H:])
        np.multiply(dh, fac["h_prev_minus_n"], out=dgates[..., H:2 * H])          # ∂L/∂z
        da_n = np.multiply(d_n, fac["dtanh_n"], out=dz[..., 2 * H:])
        q = da_n @ w_hh[2 * H:]                                                   # ∂L/∂(r ⊙ h_{t−1})
        np.multiply(q, rec.h_prev, out=dgates[..., :H])                           # ∂L/∂r
        np.multiply(dgates[..., :2 * H], fac["dsig_rz"], out=dz[..., :2 * H])
        return dh * z + dz[..., :2 * H] @ w_hh[:2 * H] + q * r, None

    def jacobian(self, rec: StepRecord, w_hh):
        """∂h_t/∂h_{t−1}, (B, H, H)."""
        H = rec.h.shape[-1]
        a, u = rec.act, rec.h_prev
        r, z, n = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
        w_r, w_z, w_n = (w_hh[k * H:(k + 1) * H] for k in range(3))
        through_r = diag(r) + diag_times(u * r * (1 - r), w_r)                 # ∂(r ⊙ u)/∂u, (B, H, H)
        dn = ((1 - z) * (1 - n * n))[:, :, None] * (w_n[None] @ through_r)
        return diag(z) + diag_times((u - n) * z * (1 - z), w_z) + dn
