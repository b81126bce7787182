"""The per-step decay of the gradient and its bound.

∂h_T/∂h_t = Π_{j=t+1..T} ∂h_j/∂h_{j−1}; for an Elman cell each factor is diag(φ′(z_j)) W, so
‖∂h_T/∂h_t‖ ≤ (σ_max(W) · max φ′)^{T−t}. A cell without such a closed form (LSTM, GRU) is bounded
by its largest measured step-Jacobian norm instead.
"""
from __future__ import annotations

import numpy as np

from ..chain import mixed_steps, steps_where, weight_layout
from ..readout import FINAL_STATE
from ..record import TraceRecord
from .flow import flow_norms, loss_steps
from .jacobians import jacobian_norms


def decay_factor(distance: np.ndarray, norms: np.ndarray) -> float:
    """Per-step factor ρ of a fit norms ≈ C·ρ^distance (least squares in log space); NaN if < 2 usable points."""
    ok = np.isfinite(norms) & (norms > 0) & np.isfinite(distance) & (distance >= 0)
    if ok.sum() < 2 or np.ptp(distance[ok]) == 0:
        return float("nan")
    slope = np.polyfit(distance[ok], np.log(norms[ok]), 1)[0]
    return float(np.exp(slope))


def decay_bound(trace: TraceRecord, node: str) -> tuple[float, float]:
    """(σ_max(W_hh), the bound on the per-step factor) of a node: σ_max(W_hh)·max φ′ when the cell
    declares max φ′ (Elman cells: 1), else the largest measured Jacobian norm. With several weight
    sets (a chain's segments), the largest over them, each measured on its own steps (the hand-off
    edges between different weights left out)."""
    suffix = node[1:]
    max_dphi = trace.cell_impl.max_dphi
    jn = None if max_dphi is not None else np.array(jacobian_norms(trace)[node], dtype=np.float64)
    if jn is not None:
        jn[mixed_steps(trace.chain, node.endswith("_reverse"))] = np.nan
    sigmas, bounds = [], []
    for prefix in weight_layout(trace.chain):
        w_hh = trace.params[f"{prefix}weight_hh{suffix}"]
        sigma = float(np.linalg.norm(w_hh.astype(np.float64), 2)) if np.isfinite(w_hh).all() else float("nan")
        sigmas.append(sigma)
        if jn is None:
            bounds.append(sigma * max_dphi)
        else:
            own = jn[steps_where(trace.chain, lambda seg: seg.weights == prefix)]
            bounds.append(float(np.nanmax(own)) if np.isfinite(own).any() else float("nan"))
    return max(sigmas), max(bounds)


def vanishing_profile(trace: TraceRecord, node: str) -> dict:
    """‖∂L_k/∂h_t‖ against the distance from k (last loss step; the first one for a reverse node; with
    readout='final_state' the distance from where the one loss enters: T − 1 forward, t = 0 reverse),
    the fitted per-step factor, σ_max(W_hh) and the bound on the per-step factor (decay_bound)."""
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
    # the final-state readout's one loss (recorded at row T − 1) enters the reverse direction at t = 0
    start = 0 if reverse and trace.arch.readout == FINAL_STATE else k
    distance = (t - start) if reverse else (start - t)
    distance[distance < 0] = np.nan                 # steps that L_k does not reach through this direction
    if trace.valid is not None:
        distance[~trace.valid.any(axis=1)] = np.nan  # padding for every element: no gradient to measure
    return {"k": k, "distance": distance, "norms": norms, "factor": decay_factor(distance, norms),
            "bound": bound, "sigma_max": sigma_max}
