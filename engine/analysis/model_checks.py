"""Checks of a recorded run that the decay alone does not see (issue 21): forward growth before any
NaN, gates judged by the direction they saturate in, each parameter's update ratio, a bidirectional
network read out at its last step, and a run with nothing to judge."""
from __future__ import annotations

import numpy as np

from ..norms import batch_mean_norm, frobenius
from ..record import TraceRecord
from .finding import Finding, Thresholds
from .horizon import arrival_norms, arrival_steps

# gate → (the limit at which it blocks, what that means); saturating at the other limit (f ≈ 1, z ≈ 1,
# i ≈ 1 …) keeps or passes the signal and is no problem. tanh outputs are judged at both limits.
BLOCKING = {
    "i": (0.0, "the input gate is shut: new input cannot enter the cell state"),
    "o": (0.0, "the output gate is shut: the cell state does not reach h, and no gradient from h reaches it"),
    "r": (0.0, "the reset gate is shut: the candidate ignores h_{t−1}"),
    "z": (0.0, "z ≈ 0 overwrites the state with the candidate at every step: nothing is kept"),
}
JUDGED_ELSEWHERE = ("f",)      # the forget gate has its own check (diagnosis._forget_gate)


def forward_growth(trace: TraceRecord, node: str, th: Thresholds) -> list[Finding]:
    """‖h_t‖ of a cell with unbounded h (ReLU) rising to `growth_ratio` × its first value: the forward
    pass is leaving its range, which overflows to Inf/NaN a few steps (or an update) later."""
    if not trace.cell_impl.dead_units:                       # bounded cells saturate instead (gate_saturation)
        return []
    norms = batch_mean_norm(trace.activations[node], trace.valid)
    order = np.arange(trace.T)[::-1] if node.endswith("_reverse") else np.arange(trace.T)
    n = norms[order]
    finite = np.isfinite(n)
    start = np.flatnonzero(finite & (n > 0))
    if not len(start):
        return []
    first = float(n[start[0]])
    with np.errstate(invalid="ignore", over="ignore"):
        grown = np.where(finite, n, np.inf) > th.growth_ratio * first
    if not grown.any():
        return []
    peak_i = int(np.nanargmax(np.where(finite, n, -np.inf)))
    cross = int(order[np.flatnonzero(grown)[0]])
    nonfinite = int((~finite).sum())
    after = f", then {nonfinite} steps are not finite" if nonfinite else ""
    return [Finding("growth", "problem", node, cross, f"Forward growth ({node})",
                    f"‖h_t‖ grows from {first:.3g} to {float(n[peak_i]):.3g} (×{float(n[peak_i]) / first:.3g}) "
                    f"along the sequence{after}: the activations leave their range (W_hh lets them build up, "
                    f"σ_max = {float(np.linalg.norm(trace.params['weight_hh' + node[1:]], 2)):.3g}).",
                    [int(order[i]) for i in np.flatnonzero(grown)],
                    {"first": first, "peak": float(n[peak_i]), "ratio": float(n[peak_i]) / first,
                     "norms": norms.tolist()})]


def gate_saturation(trace: TraceRecord, node: str, th: Thresholds, share_of) -> list[Finding]:
    """Saturated outputs judged by direction: a σ gate only at the limit where it blocks (BLOCKING), a
    tanh output at either limit (its derivative ≈ 0 there); `share_of(mask)` → (T,) share per step."""
    out = []
    suffix = node[1:]
    for name, (low, high) in trace.cell_impl.saturating.items():
        if name in JUDGED_ELSEWHERE:
            continue
        values = trace.activations[name + suffix]
        margin = th.saturation_margin * (high - low) / 2
        with np.errstate(invalid="ignore"):
            if name in BLOCKING:
                limit, meaning = BLOCKING[name]
                mask = values <= limit + margin if limit == low else values >= limit - margin
            else:
                mask, meaning = (values <= low + margin) | (values >= high - margin), \
                    "their derivatives are ≈ 0, so gradient barely passes"
        share = share_of(mask)
        if share.max() <= th.saturated_share:
            continue
        worst = int(np.argmax(share))
        steps = np.flatnonzero(share > th.saturated_share)
        kind, title = ("gate_closed", f"Closed {name} gate ({node})") if name in BLOCKING \
            else ("saturation", f"Saturated {name} ({node})")
        out.append(Finding(kind, "warning", node, worst, title,
                           f"{share[worst]:.0%} of {name} outputs are within {th.saturation_margin} of "
                           f"{'their limits' if name not in BLOCKING else BLOCKING[name][0]} at t={worst} "
                           f"(over {th.saturated_share:.0%} at {len(steps)} steps): {meaning}.",
                           [int(t) for t in steps], {"share": share.tolist(), "gate": name}))
    return out


def update_ratios(trace: TraceRecord) -> dict[str, float]:
    """parameter → ‖∂L/∂W‖ / ‖W‖ (NaN for a zero weight or a non-finite gradient)."""
    out = {}
    for name, g in trace.grads.items():
        if name not in trace.params:                 # a topology's fixed or derived weight
            continue
        w = frobenius(trace.params[name])
        gn = frobenius(g) if np.isfinite(g).all() else float("nan")
        with np.errstate(over="ignore"):             # a ratio beyond the float range is inf: still flagged
            out[name] = gn / w if w > 0 else float("nan")
    return out


def update_ratio_findings(trace: TraceRecord, th: Thresholds) -> list[Finding]:
    """One problem per parameter whose gradient dwarfs the weight (one SGD step of lr 0.01 would move
    it by more than its own size)."""
    out = []
    for name, ratio in update_ratios(trace).items():
        if not ratio > th.update_ratio:
            continue
        node = _node_of(trace, name)
        out.append(Finding("update_ratio", "problem", node, None, f"Huge update for {name}",
                           f"‖∂L/∂{name}‖ / ‖{name}‖ = {ratio:.3g}: one SGD step with lr = 0.01 would change it "
                           f"by {0.01 * ratio:.3g}× its own size (clip the gradient or lower the learning rate).",
                           [], {"ratio": ratio, "parameter": name}))
    return out


def _node_of(trace: TraceRecord, param: str) -> str:
    """The h node a parameter belongs to (weight_hh_l0_reverse → h_l0_reverse); the top node for the head."""
    for node in trace.node_names:
        if param.endswith(node[1:]):
            return node
    return trace.node_names[-1]


def last_step_readout(trace: TraceRecord) -> list[Finding]:
    """A bidirectional network read out only at its last step (`out[:, -1]`): the reverse direction
    has then read one input, x_{T−1}, when the loss sees it — only one reverse step reaches the loss."""
    if not trace.bidirectional or trace.T < 2:
        return []
    node = f"h_l{trace.num_layers - 1}_reverse"
    arriving = arrival_norms(trace, node)
    steps = np.flatnonzero(np.isfinite(arriving) & (arriving > 0))
    if list(steps) != [trace.T - 1]:
        return []
    return [Finding("readout", "warning", node, trace.T - 1, f"Reverse direction read at its first step ({node})",
                    f"The loss reads the network only at t={trace.T - 1}: there the reverse direction has seen "
                    f"just x_{trace.T - 1}, so only one reverse step reaches the loss. Read both directions' final "
                    f"states (h_n) or pool over time instead of out[:, -1].",
                    [trace.T - 1], {"steps": [int(s) for s in steps]})]


def nothing_to_judge(trace: TraceRecord) -> list[Finding]:
    """A run without a loss or any gradient reaching it: there is nothing to call healthy."""
    moving = any(np.any(np.nan_to_num(trace.gradients[n]) != 0) for n in trace.node_names)
    if len(arrival_steps(trace)) and moving:
        return []
    return [Finding("no_gradient", "warning", trace.node_names[-1], None, "Nothing to judge",
                    "No loss and no gradient reach this run (no targets, output_grads or final_state_grads "
                    "that are not zero): the gradient checks cannot say whether it is healthy.", [], {})]
