"""How far back a loss reaches (issue 21): where gradient arrives at a network from outside its
recurrence (its head's loss steps, `output_grads` from an outer head, gradients at its final states),
the decay profile from the last such step — for a replayed torch model too — and the memory horizon:
the distance at which ‖∂L_k/∂h_t‖ has fallen below a tenth of its peak."""
from __future__ import annotations

import numpy as np

from ..norms import batch_mean_norm
from ..readout import scatter_final
from ..record import TraceRecord
from .decay import decay_bound, decay_factor, vanishing_profile
from .flow import flow_from_top, loss_steps


def arrival_norms(trace: TraceRecord, node: str) -> np.ndarray | None:
    """(T,) batch mean of ‖gradient arriving at `node` from outside the recurrence‖ at each step: the
    head's ∂L/∂o_t·V at loss steps, `output_grads` and the final-state gradients (at the node's last
    processed step). None for a node below the top layer (its gradient comes from the layer above)."""
    layer = int(node.split("_l")[1].split("_")[0])
    if layer != trace.num_layers - 1:
        return None
    H, reverse = trace.hidden_size, node.endswith("_reverse")
    part = slice(H, 2 * H) if reverse and trace.directions == 2 else slice(0, H)   # a reverse-only layer: its one half
    arriving = np.zeros((trace.T, trace.B, H), dtype=np.float64)
    dlogits = np.nan_to_num(trace.gradients.get("logits", np.zeros((trace.T, trace.B, 0))))
    if dlogits.shape[-1] and "head.weight" in trace.params:
        through_head = dlogits @ trace.params["head.weight"][:, part]
        if getattr(trace.arch, "readout", "per_step") == "final_state":   # issue 19: the head reads h_n
            full = scatter_final(dlogits[trace.T - 1] @ trace.params["head.weight"], trace.T, H, trace.directions,
                                 trace.lengths)                     # forward: each element's last real step
            arriving += full[..., part]
        else:
            arriving += through_head
    if getattr(trace, "output_grads", None) is not None:
        arriving += trace.output_grads[..., part]
    suffix = node[1:]
    last = 0 if reverse else trace.T - 1
    for state in trace.cell_impl.states:
        g = trace.final_state_grads.get(state + suffix)
        if g is not None:
            arriving[last] += np.abs(g)              # a norm is all that is read: any state's gradient counts
    return batch_mean_norm(arriving)


def arrival_steps(trace: TraceRecord) -> np.ndarray:
    """The steps at which gradient arrives from outside at any top-layer node (loss steps included)."""
    top = [n for n in trace.node_names if arrival_norms(trace, n) is not None]
    hit = np.zeros(trace.T, dtype=bool)
    for node in top:
        norms = arrival_norms(trace, node)
        hit |= np.isfinite(norms) & (norms > 0)
    return np.flatnonzero(hit | (trace.mask.any(axis=1) if trace.mask is not None else False))


def judged_profile(trace: TraceRecord, node: str) -> dict:
    """The decay profile from the last step where gradient arrives (the first for a reverse node):
    the engine's own (engine.analysis.decay.vanishing_profile) for a run driven by its loss; for a
    run driven from outside (output_grads, final_state_grads) the gradient of that one step alone."""
    if len(loss_steps(trace)) or (getattr(trace, "output_grads", None) is None and not trace.final_state_grads):
        return vanishing_profile(trace, node)
    steps = arrival_steps(trace)
    sigma_max, bound = decay_bound(trace, node)
    if not len(steps):
        nan_t = np.full(trace.T, np.nan)
        return {"k": None, "distance": nan_t, "norms": nan_t, "factor": float("nan"), "bound": bound,
                "sigma_max": sigma_max}
    reverse = node.endswith("_reverse")
    k = int(steps[0] if reverse else steps[-1])
    norms = trace.remember(("single_arrival", k), lambda: _single_arrival(trace, k))[node]
    t = np.arange(trace.T, dtype=np.float64)
    distance = (t - k) if reverse else (k - t)
    distance[distance < 0] = np.nan
    return {"k": k, "distance": distance, "norms": norms, "factor": decay_factor(distance, norms),
            "bound": bound, "sigma_max": sigma_max}


def _single_arrival(trace: TraceRecord, k: int) -> dict[str, np.ndarray]:
    """node → (T,) ‖∂(what arrives at step k)/∂h_t‖: step k's outside gradient alone (its output
    gradient; a final-state gradient when no output gradient arrives there) back-propagated through
    the recorded network."""
    H, D = trace.hidden_size, trace.directions
    d_top = np.zeros((trace.T, trace.B, D * H), dtype=trace.dtype)
    if getattr(trace, "output_grads", None) is not None:
        d_top[k] = trace.output_grads[k]
    if not d_top[k].any():
        top = trace.num_layers - 1
        for d in range(D):
            g = trace.final_state_grads.get(f"h_l{top}{trace.arch.suffix(d)}")
            if g is not None and (0 if d else trace.T - 1) == k:
                d_top[k, :, d * H:(d + 1) * H] = g
    return flow_from_top(trace, d_top)


def memory_horizon(profile: dict, ratio: float) -> tuple[int | None, int]:
    """(N, reach): ‖∂L_k/∂h_t‖ first falls below `ratio` × its peak N steps back from k (None when it
    never does within the `reach` steps the loss can reach)."""
    distance, norms = profile["distance"], profile["norms"]
    ok = np.isfinite(distance) & np.isfinite(norms)
    if ok.sum() < 1:
        return None, 0
    order = np.argsort(distance[ok])
    d, n = distance[ok][order], norms[ok][order]
    top = int(np.argmax(n))
    below = np.flatnonzero((n < ratio * n[top]) & (np.arange(len(n)) > top))
    return (int(d[below[0]]) if len(below) else None), int(d[-1])
