"""Where gradients vanish or explode: Jacobian norms, the ‖∂L_k/∂h_t‖ flow matrix, the per-step decay.

∂h_T/∂h_t = Π_{j=t+1..T} diag(φ'(z_j)) W, so ‖∂h_T/∂h_t‖ ≤ (σ_max(W) · max φ')^{T−t}.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .cells import get_cell
from .cells import GradStep, StepRecord
from .layer import BackwardSink, backward_direction

if TYPE_CHECKING:
    from .trace import Trace

EXACT_WORK_BUDGET = 2e9         # Σ B·S³ over the steps whose Jacobian norm is computed (per node)
JACOBIAN_CHUNK_BYTES = 64 << 20
FLOW_WORK_BUDGET = 4e9          # multiply-adds one flow_matrix may spend (rows are dropped to stay under it)
FLOW_MEMORY_BUDGET = 256 << 20  # bytes of the gradient buffer between layers


def jacobian_norms(trace: "Trace") -> dict[str, np.ndarray]:
    """node → (T,) batch mean of ‖∂s_t/∂s_prev‖₂ (exact: the top eigenvalue of J Jᵀ), NaN at each
    direction's first processed step. The work is B·S³ per step (S = H, or 2H for an LSTM); when
    T·B·S³ exceeds EXACT_WORK_BUDGET (long sequences of wide states) only an even subsample of the
    steps, as many as the budget pays for, is computed and the others are NaN."""
    cell = get_cell(trace.cell)
    T, B, H = trace.T, trace.B, trace.hidden_size
    S = cell.state_size(H)
    affordable = max(2, int(EXACT_WORK_BUDGET // (B * float(S) ** 3)))
    out = {}
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(trace.num_layers):
            for d in range(trace.directions):
                s = f"_l{k}{trace.arch.suffix(d)}"
                rec = trace.layer_record(k, d)
                later = np.arange(T - 2, -1, -1) if d else np.arange(1, T)     # every step but the first processed
                if len(later) > affordable:
                    later = later[np.unique(np.round(np.linspace(0, len(later) - 1, affordable)).astype(int))]
                norms = np.full(T, np.nan)
                norms[later] = exact_jacobian_norms(cell, rec, trace.params[f"weight_hh{s}"], later, B, S)
                out[f"h{s}"] = norms.astype(trace.dtype)
    return out


def exact_jacobian_norms(cell, rec, w_hh: np.ndarray, steps: np.ndarray, B: int, S: int) -> np.ndarray:
    """Batch-mean spectral norms of ∂s_t/∂s_{t−1} at `steps` of a layer record (S = H, or 2H for an
    LSTM), for chunks of ≤ JACOBIAN_CHUNK_BYTES of Jacobians at a time."""
    chunk = max(1, int(JACOBIAN_CHUNK_BYTES // (B * S * S * 8)))
    h_prev = rec.h_prev_all()
    c_prev = None if rec.c is None else rec.previous(rec.c, rec.c0)
    norms = np.empty(len(steps), dtype=np.float64)
    for start in range(0, len(steps), chunk):
        part = steps[start:start + chunk]
        jac = cell.jacobian(_flatten_steps(rec, part, h_prev, c_prev), w_hh)          # (n·B, S, S)
        norms[start:start + len(part)] = spectral_norms(jac).reshape(-1, B).mean(axis=1)
    return norms


def _flatten_steps(rec, steps: np.ndarray, h_prev: np.ndarray, c_prev: np.ndarray | None) -> StepRecord:
    """A StepRecord whose rows are every (t, b) of `steps`: cells' Jacobians are row-wise, so this batches t."""
    def flat(a):
        return None if a is None else a[steps].reshape(-1, a.shape[-1])
    return StepRecord(h=flat(rec.h), h_prev=flat(h_prev), act=flat(rec.act), c=flat(rec.c), c_prev=flat(c_prev),
                      extra={name: flat(v) for name, v in rec.extra.items()})


def spectral_norms(jac: np.ndarray) -> np.ndarray:
    """(N,) largest singular value of each (S, S) matrix in jac (N, S, S); NaN if it is not finite."""
    jac = jac.astype(np.float64, copy=False)
    finite = np.isfinite(jac).all(axis=(1, 2))
    safe = np.where(finite[:, None, None], jac, 0.0)
    top = np.linalg.eigvalsh(safe @ np.swapaxes(safe, 1, 2))[:, -1]
    norms = np.sqrt(np.maximum(top, 0.0))
    return np.where(finite, norms, np.nan)


class FlowSink(BackwardSink):
    """Keeps, per step, the batch-mean ‖∂L_k/∂h_t‖ for each of K loss terms, and the gradient for the layer below;
    the step's other gradients go to scratch buffers reused across steps."""

    def __init__(self, cell, T: int, K: int, B: int, H: int, w_ih: np.ndarray, d_below: np.ndarray | None,
                 dtype) -> None:
        self.norms = np.zeros((K, T))
        self.w_ih = w_ih
        self.d_below = d_below             # (T, K, B, I_k) accumulated, or None for the bottom layer
        rows = cell.blocks * H
        dz_ih = np.zeros((K, B, rows), dtype=dtype)
        self.scratch = GradStep(
            dh=np.zeros((K, B, H), dtype=dtype), dz_ih=dz_ih,
            dz_hh=np.zeros_like(dz_ih) if cell.separate_hh_grad else dz_ih,
            dgates=np.zeros((K, B, rows), dtype=dtype) if cell.gates else None,
            dc=np.zeros((K, B, H), dtype=dtype) if cell.has_cell_state else None)

    def buffers(self, t: int) -> GradStep:
        """The reused scratch buffers."""
        return self.scratch

    def done(self, t: int, step: GradStep) -> None:
        """Record step t's norms (dh is (K, B, H)) and send its input gradient down."""
        self.norms[:, t] = np.sqrt((step.dh * step.dh).sum(axis=-1)).mean(axis=-1)
        if self.d_below is not None:
            self.d_below[t] += step.dz_ih @ self.w_ih


def loss_steps(trace: "Trace") -> np.ndarray:
    """The timesteps that carry a loss term (a target for at least one batch entry)."""
    return np.flatnonzero(trace.mask.any(axis=1))


def flow_rows(trace: "Trace", max_rows: int) -> np.ndarray:
    """Which loss steps k get a row in the flow matrix: all, or an even subsample with both ends."""
    ks = loss_steps(trace)
    cell = get_cell(trace.cell)
    H, D = trace.hidden_size, trace.directions
    per_row = trace.T * trace.B * H * (cell.blocks * H + trace.input_size) * D * trace.num_layers
    rows = int(min(max_rows, max(2, FLOW_WORK_BUDGET // max(per_row, 1))))
    if len(ks) <= rows:
        return ks
    return ks[np.unique(np.round(np.linspace(0, len(ks) - 1, rows)).astype(int))]


def flow_norms(trace: "Trace", ks: np.ndarray) -> dict[str, np.ndarray]:
    """node → (len(ks), T): batch mean of ‖∂L_k/∂h_t‖, back-propagating only the loss term of step k.
    The K loss terms travel together as an extra batch dimension (chunked to bound memory)."""
    T, B, H, D = trace.T, trace.B, trace.hidden_size, trace.directions
    widest = max(trace.input_size, H * D)
    chunk = max(1, int(FLOW_MEMORY_BUDGET // (T * B * widest * 8)))
    parts = [_flow_chunk(trace, ks[i:i + chunk]) for i in range(0, len(ks), chunk)] or [_flow_chunk(trace, ks)]
    return {node: np.concatenate([p[node] for p in parts], axis=0) for node in trace.node_names}


def _flow_chunk(trace: "Trace", ks: np.ndarray) -> dict[str, np.ndarray]:
    cell, p = get_cell(trace.cell), trace.params
    T, B, H, K = trace.T, trace.B, trace.hidden_size, len(ks)
    dlogits = np.zeros((T, K, B, trace.output_size), dtype=trace.dtype)
    dlogits[ks, np.arange(K)] = trace.gradients["logits"][ks]      # ∂L_k/∂o_t is nonzero only at t = k
    out = {}
    with np.errstate(over="ignore", invalid="ignore"):
        d_above = dlogits @ p["head.weight"]                           # (T, K, B, D·H)
        for k in reversed(range(trace.num_layers)):
            d_below = None if k == 0 else np.zeros((T, K, B, trace.arch.layer_input_size(k)), dtype=trace.dtype)
            for d in range(trace.directions):
                s = f"_l{k}{trace.arch.suffix(d)}"
                sink = FlowSink(cell, T, K, B, H, p[f"weight_ih{s}"], d_below, trace.dtype)
                for _ in backward_direction(cell, trace.layer_record(k, d), p[f"weight_hh{s}"],
                                            d_above[..., d * H:(d + 1) * H], sink, window=trace.bptt_window):
                    pass
                out[f"h{s}"] = sink.norms
            d_above = d_below
    return out


def decay_factor(distance: np.ndarray, norms: np.ndarray) -> float:
    """Per-step factor ρ of a fit norms ≈ C·ρ^distance (least squares in log space); NaN if < 2 usable points."""
    ok = np.isfinite(norms) & (norms > 0) & np.isfinite(distance) & (distance >= 0)
    if ok.sum() < 2 or np.ptp(distance[ok]) == 0:
        return float("nan")
    slope = np.polyfit(distance[ok], np.log(norms[ok]), 1)[0]
    return float(np.exp(slope))


def decay_bound(trace: "Trace", node: str) -> tuple[float, float]:
    """(σ_max(W_hh), the bound on the per-step factor) of a node: σ_max(W_hh)·max φ' (max φ' = 1 for
    tanh and relu) for Elman cells, the largest measured Jacobian norm for gated ones."""
    w_hh = trace.params["weight_hh" + node[1:]]
    sigma_max = float(np.linalg.norm(w_hh.astype(np.float64), 2)) if np.isfinite(w_hh).all() else float("nan")
    max_dphi = get_cell(trace.cell).max_dphi
    if max_dphi is not None:
        return sigma_max, sigma_max * max_dphi
    jn = trace.jacobian_norms[node]
    return sigma_max, float(np.nanmax(jn)) if np.isfinite(jn).any() else float("nan")


def vanishing_profile(trace: "Trace", node: str) -> dict:
    """‖∂L_k/∂h_t‖ against the distance from k (last loss step; the first one for a reverse node),
    the fitted per-step factor, σ_max(W_hh) and the bound on the per-step factor: σ_max(W_hh)·max φ'
    (max φ' = 1 for tanh and relu) for Elman cells, the largest measured Jacobian norm for gated ones."""
    if node not in trace.node_names:
        raise ValueError(f"unknown node {node!r}; nodes are {', '.join(trace.node_names)}")
    ks = loss_steps(trace)
    reverse = node.endswith("_reverse")
    sigma_max, bound = decay_bound(trace, node)
    if len(ks) == 0:
        nan_t = np.full(trace.T, np.nan)
        return {"k": None, "distance": nan_t, "norms": nan_t, "factor": float("nan"), "bound": bound,
                "sigma_max": sigma_max}
    k = int(ks[0] if reverse else ks[-1])
    norms = flow_norms(trace, np.array([k]))[node][0]
    t = np.arange(trace.T, dtype=np.float64)
    distance = (t - k) if reverse else (k - t)
    distance[distance < 0] = np.nan                 # steps that L_k does not reach through this direction
    return {"k": k, "distance": distance, "norms": norms, "factor": decay_factor(distance, norms),
            "bound": bound, "sigma_max": sigma_max}


def summarize(trace: "Trace") -> dict:
    """Everything the plots need, as Python floats and lists (NaN/Inf kept as floats)."""
    def floats(a) -> list:
        return np.asarray(a, dtype=np.float64).tolist()

    vanishing = {}
    for node in trace.node_names:
        v = trace.vanishing(node)
        vanishing[node] = {"k": v["k"], "distance": floats(v["distance"]), "norms": floats(v["norms"]),
                           "factor": v["factor"], "bound": v["bound"], "sigma_max": v["sigma_max"]}
    flow = {}
    for node in trace.node_names:
        ks, matrix = trace.flow_matrix(node)
        flow[node] = {"ks": [int(k) for k in ks], "matrix": floats(matrix)}
    with np.errstate(over="ignore", invalid="ignore"):
        grad_norms = {n: float(np.linalg.norm(g.astype(np.float64))) for n, g in trace.grads.items()}
    return {
        "loss": float(trace.loss),
        "loss_t": floats(trace.loss_t),
        "gradient_norms": {n: floats(v) for n, v in trace.gradient_norms.items()},
        "jacobian_norms": {n: floats(v) for n, v in trace.jacobian_norms.items()},
        "grad_contributions": {n: floats(v) for n, v in trace.grad_contributions.items()},
        "grad_norms": grad_norms,
        "vanishing": vanishing,
        "flow": flow,
    }
