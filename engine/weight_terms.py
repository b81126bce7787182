"""The terms the lecture's "sum over timesteps" adds up: a block of steps' weight gradients
(∂L/∂W_ih, ∂L/∂W_hh, the biases and a cell's extra weights, each one GEMM over the block's n·B rows)
and the Frobenius norm of each step's term (the trace's grad_contributions), from the block's
∂L/∂(pre-activations) and the layer's records (engine.grad_blocks consumes each finished block).
"""
from __future__ import annotations

import numpy as np

from .cells import Cell
from .layer import LayerRecord


def weight_gradients(cell: Cell, dz_ih: np.ndarray, dz_hh: np.ndarray, rec: LayerRecord, layer_input: np.ndarray,
                     steps: slice | np.ndarray = slice(None)) -> dict[str, np.ndarray]:
    """∂L/∂W_ih, ∂L/∂W_hh, ∂L/∂b_ih, ∂L/∂b_hh summed over `steps`, given dz_ih / dz_hh (n, B, rows),
    ∂L/∂(pre-activations) of those steps; each one GEMM over their n·B rows."""
    T, B, rows = dz_ih.shape
    dz_ih_2d = dz_ih.reshape(T * B, rows)
    dz_hh_2d = dz_hh.reshape(T * B, rows)
    h_prev = rec.h_prev_at(steps).reshape(T * B, -1)
    grads = {
        "weight_ih": dz_ih_2d.T @ layer_input[steps].reshape(T * B, -1),   # Σ_t ∂L/∂z_t x_tᵀ
        "weight_hh": dz_hh_2d.T @ h_prev,                                  # Σ_t ∂L/∂z_t h_{t−1}ᵀ
        "bias_ih": dz_ih_2d.sum(axis=0),
    }
    grads["bias_hh"] = grads["bias_ih"].copy() if dz_hh is dz_ih else dz_hh_2d.sum(axis=0)
    # ---- cells beyond torch's (engine.cells.base: recurrent_operands, extra_weights) ----
    H = rec.h.shape[-1]
    for gate, operand in _operands(cell, rec, steps).items():       # a W_hh block that multiplies r ⊙ h_{t−1}, …
        rows = cell.gate_rows(gate, H)
        grads["weight_hh"][rows] = dz_hh_2d[:, rows].T @ operand.reshape(T * B, -1)
    if cell.extra_weights:
        for name, terms in cell.extra_weight_gradients(dz_ih, rec.span(steps)).items():
            grads[name] = terms.sum(axis=0)
    return grads


def _operands(cell: Cell, rec: LayerRecord, steps: slice | np.ndarray) -> dict[str, np.ndarray]:
    """Cell.recurrent_operands of `steps` (usually none)."""
    return cell.recurrent_operands(rec.h_prev_at(steps), None if rec.act is None else rec.act[steps])


def weight_contributions(cell: Cell, dz_ih: np.ndarray, dz_hh: np.ndarray, rec: LayerRecord,
                         layer_input: np.ndarray, steps: slice | np.ndarray = slice(None)) -> dict[str, np.ndarray]:
    """Per-step Frobenius norms (one per step of `steps`) of the terms summed by weight_gradients."""
    shared = dz_hh is dz_ih
    gram_ih = gram(dz_ih)
    gram_hh = gram_ih if shared else gram(dz_hh)
    bias_ih = np.linalg.norm(dz_ih.sum(axis=1), axis=-1)
    out = {
        "weight_ih": gram_norms(gram_ih, gram(layer_input[steps])),
        "weight_hh": gram_norms(gram_hh, gram(rec.h_prev_at(steps))),
        "bias_ih": bias_ih,
        "bias_hh": bias_ih if shared else np.linalg.norm(dz_hh.sum(axis=1), axis=-1),
    }
    # ---- cells beyond torch's (engine.cells.base: recurrent_operands, extra_weights) ----
    H = rec.h.shape[-1]
    operands = _operands(cell, rec, steps)
    if operands:                    # ‖Σ_b …‖_F² adds up over the row blocks of W_hh
        plain = np.ones(dz_hh.shape[-1], dtype=bool)
        sq = np.zeros(dz_hh.shape[0], dtype=dz_hh.dtype)
        for gate, operand in operands.items():
            rows = cell.gate_rows(gate, H)
            plain[rows] = False
            sq += (gram(dz_hh[..., rows]) * gram(operand)).sum(axis=(1, 2))
        sq += (gram(dz_hh[..., plain]) * gram(rec.h_prev_at(steps))).sum(axis=(1, 2))
        out["weight_hh"] = np.sqrt(np.maximum(sq, 0.0))
    if cell.extra_weights:
        for name, terms in cell.extra_weight_gradients(dz_ih, rec.span(steps)).items():
            out[name] = np.linalg.norm(terms.reshape(len(terms), -1), axis=1)
    return out


def gram(a: np.ndarray) -> np.ndarray:
    """a_t a_tᵀ for every t: (T, B, M) → (T, B, B), one batched GEMM."""
    return a @ a.transpose(0, 2, 1)


def gram_norms(gram_a: np.ndarray, gram_b: np.ndarray) -> np.ndarray:
    """‖a_tᵀ b_t‖_F for every t from the Gram matrices, via ‖AᵀB‖² = ⟨AAᵀ, BBᵀ⟩ (O(B²) per step, not O(MN))."""
    sq = (gram_a * gram_b).sum(axis=(1, 2))
    return np.sqrt(np.maximum(sq, 0.0))


def outer_sum_norms(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """‖a_tᵀ b_t‖_F for every t, a (T, B, M), b (T, B, N)."""
    return gram_norms(gram(a), gram(b))
