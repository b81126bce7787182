"""Step Jacobian norms: how much one recurrent step can stretch or shrink a gradient.

‖∂s_t/∂s_{t−1}‖₂ per step and batch entry, exact (the top eigenvalue of J Jᵀ); each cell provides
its own Jacobian (engine.cells).
"""
from __future__ import annotations

import numpy as np

from ..cells import Cell, StepRecord
from ..layer import LayerRecord
from ..record import TraceRecord

EXACT_WORK_BUDGET = 2e9         # Σ B·S³ over the steps whose Jacobian norm is computed (per node)
JACOBIAN_CHUNK_BYTES = 64 << 20


def jacobian_norms(trace: TraceRecord) -> dict[str, np.ndarray]:
    """node → (T,) batch mean of ‖∂s_t/∂s_prev‖₂, NaN at each direction's first processed step
    (computed once per record). A step reads its own segment's weights, so the edge into a segment
    (an encoder–decoder's context) is that segment's first step. The work is B·S³ per step (S = H,
    or 2H with a cell state); when T·B·S³ exceeds EXACT_WORK_BUDGET (long sequences of wide states) only an even subsample of the
    steps, as many as the budget pays for, is computed and the others are NaN."""
    return trace.remember("jacobian_norms", lambda: _jacobian_norms(trace))


def _jacobian_norms(trace: TraceRecord) -> dict[str, np.ndarray]:
    cell = trace.cell_impl
    T, B = trace.T, trace.B
    S = cell.state_size(trace.hidden_size)
    affordable = max(2, int(EXACT_WORK_BUDGET // (B * float(S) ** 3)))
    out = {}
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(trace.num_layers):
            for d in range(trace.directions):
                s = trace.arch.tag(k, d)
                rec = trace.layer_record(k, d)
                later = np.arange(T - 2, -1, -1) if rec.reverse else np.arange(1, T)   # all but the first processed
                if len(later) > affordable:
                    later = later[np.unique(np.round(np.linspace(0, len(later) - 1, affordable)).astype(int))]
                norms = np.full(T, np.nan)
                for seg in trace.stages:                 # each step with its stage's W_hh
                    steps = later[(later >= seg.start) & (later < seg.stop)]
                    if len(steps):
                        norms[steps] = exact_jacobian_norms(cell, rec, trace.weight(seg, f"weight_hh{s}"), steps, B, S,
                                                             trace.cell_weights(seg, s))
                out[f"h{s}"] = norms.astype(trace.dtype)
    return out


def exact_jacobian_norms(cell: Cell, rec: LayerRecord, w_hh: np.ndarray, steps: np.ndarray, B: int,
                         S: int, weights: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """Batch-mean spectral norms of ∂s_t/∂s_{t−1} at `steps` of a layer record (S = the state's
    width; `weights`: the cell's extra weights), for chunks of ≤ JACOBIAN_CHUNK_BYTES of Jacobians at a time."""
    chunk = max(1, int(JACOBIAN_CHUNK_BYTES // (B * S * S * 8)))
    h_prev = rec.h_prev_all()
    c_prev = None if rec.c is None else rec.previous(rec.c, rec.c0)
    # in a padded batch only the entries whose step and previous processed step are both real count
    counted = None if rec.valid is None else rec.valid & rec.previous_valid()
    norms = np.empty(len(steps), dtype=np.float64)
    for start in range(0, len(steps), chunk):
        part = steps[start:start + chunk]
        flat = _flatten_steps(rec, part, h_prev, c_prev)
        flat.weights = weights or {}
        jac = cell.jacobian(flat, w_hh)                                              # (n·B, S, S)
        per = spectral_norms(jac).reshape(-1, B)
        norms[start:start + len(part)] = per.mean(axis=1) if counted is None else masked_mean(per, counted[part])
    return norms


def masked_mean(values: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Mean over the last axis of the entries `keep`; NaN where none is kept."""
    count = keep.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        total = np.where(keep, values, 0.0).sum(axis=-1)
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _flatten_steps(rec: LayerRecord, steps: np.ndarray, h_prev: np.ndarray,
                   c_prev: np.ndarray | None) -> StepRecord:
    """A StepRecord whose rows are every (t, b) of `steps`: cells' Jacobians are row-wise, so this batches t."""
    def flat(a):
        return None if a is None else a[steps].reshape(-1, a.shape[-1])
    return StepRecord(h=flat(rec.h), h_prev=flat(h_prev), act=flat(rec.act), c=flat(rec.c), c_prev=flat(c_prev),
                      extra={name: flat(v) for name, v in rec.extra.items()})


def spectral_norms(jac: np.ndarray) -> np.ndarray:
    """(N,) largest singular value of each (S, S) matrix in jac (N, S, S); NaN if it is not finite."""
    jac = jac.astype(np.float64, copy=False)
    finite = np.isfinite(jac).all(axis=(1, 2))
    safe = jac if finite.all() else np.where(finite[:, None, None], jac, 0.0)   # no copy in the usual case
    top = np.linalg.eigvalsh(safe @ np.swapaxes(safe, 1, 2))[:, -1]
    norms = np.sqrt(np.maximum(top, 0.0))
    return np.where(finite, norms, np.nan)
