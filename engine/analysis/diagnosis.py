"""What is wrong with this RNN? Findings computed from a trace, each with its numbers and where it is worst.

Every check returns findings only when its problem is present, so a healthy trace yields none.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..chain import Segment
from ..record import TraceRecord
from .decay import vanishing_profile
from .finding import Finding, Thresholds
from .horizon import arrival_steps, judged_profile, memory_horizon
from .model_checks import forward_growth, gate_saturation, last_step_readout, nothing_to_judge, update_ratio_findings


def diagnose(trace: TraceRecord, thresholds: Thresholds = Thresholds(), *, decay: bool = True,
             required_lag: int | None = None) -> list[Finding]:
    """Every finding for `trace`, problems first (then warnings, then "info" facts). A trace truncated
    on purpose (truncate=k, or Elman's context units) gets no vanishing/exploding finding: its gradient
    stops by design. `decay=False` leaves that check out. A chain of several segments (an
    encoder–decoder) gets each segment's own findings, titled with its name ("Encoder: …") on the whole
    time axis, and the gradient's decay measured along the whole chain, from the last loss back across
    the hand-offs.

    `required_lag` (default: `trace.required_lag`, which the server sets from a task that needs it) is
    the distance back that the user says matters: a vanishing warning when the gradient from the last
    loss falls below a tenth of its peak sooner. Without it a run with a loss at several steps gets its
    memory horizon as an "info" finding, and one with a single loss step a warning only when the
    gradient is all but gone (below `vanish_ratio` of its peak). A run with no loss and no gradient
    gets "Nothing to judge", never silence."""
    if required_lag is None:
        required_lag = getattr(trace, "required_lag", None)
    if required_lag is not None and (isinstance(required_lag, bool) or not isinstance(required_lag, (int, np.integer))
                                     or required_lag < 1):
        raise ValueError(f"required_lag must be a whole number of steps ≥ 1 or None; got {required_lag!r}")
    decay = decay and trace.bptt_window is None               # a truncated recurrence cuts it on purpose
    arriving = arrival_steps(trace)           # a run driven from outside (no loss of its own) gets its horizon too
    judge = _Judge(thresholds, required_lag, len(arriving) > 1 or not trace.mask.any())
    idle = nothing_to_judge(trace)
    if not trace.segmented:
        findings = _findings(trace, thresholds, decay and not idle, judge)
        if not idle:
            findings += update_ratio_findings(trace, thresholds) + last_step_readout(trace)
        return _ordered(idle + findings)
    findings: list[Finding] = []
    for seg in trace.stages:
        shift = seg.start
        for f in _findings(_SegmentView(trace, seg), thresholds, False, judge):
            findings.append(replace(f, t=None if f.t is None else f.t + shift, steps=[s + shift for s in f.steps],
                                    title=f"{seg.name.capitalize()}: {f.title}"))
    broken = {f.node for f in findings if f.kind == "nonfinite"}
    for node in trace.node_names:
        if decay and not idle and node not in broken:         # no decay fit through NaN/Inf
            findings += judge.decay(vanishing_profile(trace, node), node)
    return _ordered(idle + findings)


def _ordered(findings: list[Finding]) -> list[Finding]:
    """Problems, then warnings, then info."""
    rank = {"problem": 0, "warning": 1}
    return sorted(findings, key=lambda f: rank.get(f.severity, 2))


class _Judge:
    """The decay check with the run's facts: the required lag and whether losses arrive at several steps."""

    def __init__(self, th: Thresholds, required_lag: int | None, per_step: bool) -> None:
        self.th, self.required_lag, self.per_step = th, required_lag, per_step

    def decay(self, profile: dict, node: str) -> list[Finding]:
        """gradient_decay with this run's facts."""
        return gradient_decay(profile, node, self.th, self.required_lag, self.per_step)


def _findings(trace, th: Thresholds, decay: bool, judge: _Judge) -> list[Finding]:
    """The checks of every node of a record (or of one segment's view of it), node by node."""
    findings: list[Finding] = []
    for node in trace.node_names:
        nonfinite = _nonfinite(trace, node)
        findings += nonfinite
        findings += forward_growth(trace, node, th)
        if decay and not nonfinite:
            findings += judge.decay(judged_profile(trace, node), node)
        findings += gate_saturation(trace, node, th, lambda mask: _real_mean(mask, trace, empty=0.0))
        findings += _dead_relu(trace, node, th)
        findings += _forget_gate(trace, node, th)
    return findings


class _SegmentView:
    """One segment's steps of a record (views), with the facts the per-node checks read."""

    def __init__(self, trace: TraceRecord, seg: Segment) -> None:
        self.cell_impl, self.node_names, self.T = trace.cell_impl, trace.node_names, seg.steps
        self.valid, self.params = None, {name[len(seg.weights):]: v for name, v in trace.params.items()
                                         if name.startswith(seg.weights)}
        self.activations = {name: v[seg.span] for name, v in trace.activations.items()}
        self.gradients = {name: v[seg.span] for name, v in trace.gradients.items()}


def weight_spectra(trace: TraceRecord) -> dict[str, dict[str, float]]:
    """node → spectral radius and σ_max of its W_hh (each gate block for gated cells); keyed
    "encoder h_l0", … by segment for a chain of several segments, each with its own weights."""
    cell = trace.cell_impl
    out = {}
    for seg in trace.stages:
        for node in trace.node_names:
            w = trace.weight(seg, "weight_hh" + node[1:]).astype(np.float64)
            entry: dict[str, float] = {"sigma_max": float(np.linalg.norm(w, 2))}
            for gate, block in cell.recurrent_blocks(w).items():
                entry[f"radius_{gate}"] = float(np.max(np.abs(np.linalg.eigvals(block))))
            out[f"{seg.name} {node}" if trace.segmented else node] = entry
    return out


def _nonfinite(trace: TraceRecord, node: str) -> list[Finding]:
    out = []
    for phase, table in (("forward", trace.activations), ("backward", trace.gradients)):
        bad = ~np.isfinite(table[node]).all(axis=(1, 2))                # (T,)
        if bad.any():
            steps = np.flatnonzero(bad)
            first = int(steps[-1] if node.endswith("_reverse") else steps[0])
            what = "h" if phase == "forward" else "∂L/∂h"
            out.append(Finding("nonfinite", "problem", node, first, f"NaN/Inf in {what} ({node})",
                               f"{what} of {node} is not finite at {len(steps)} of {trace.T} steps; "
                               f"the first is t={first} ({phase} pass).",
                               [int(s) for s in steps], {"first_t": first, "count": int(len(steps))}))
    return out


def gradient_decay(profile: dict, node: str, th: Thresholds, required_lag: int | None = None,
                   per_step: bool = False) -> list[Finding]:
    """A finding about how far the gradient from the last loss reaches, from a node's decay profile
    (decay.vanishing_profile, horizon.judged_profile, or an encoder–decoder's joined one), or none:
    exploding; vanishing against `required_lag`; the memory horizon ("info") of a per-step loss;
    vanishing to below `vanish_ratio` of the peak for a single loss step (docs: diagnose)."""
    if profile["k"] is None:
        return []
    distance, norms = profile["distance"], profile["norms"]
    reach = np.isfinite(distance)
    if reach.sum() < 2:
        return []
    order = np.argsort(distance[reach])
    d = distance[reach][order]                     # 0, 1, 2, … away from the loss step
    n = norms[reach][order]
    steps_t = np.flatnonzero(reach)[order]
    factor = profile["factor"]
    numbers = {"factor": factor, "bound": profile["bound"], "sigma_max": profile["sigma_max"], "k": profile["k"]}
    top = int(np.argmax(n))
    peak = float(n[top])
    if n[0] > 0 and peak > th.explode_ratio * n[0]:
        numbers.update(distance=float(d[top]), ratio=float(peak / n[0]))
        return [Finding("exploding", "problem", node, int(steps_t[top]), f"Exploding gradient ({node})",
                        f"‖∂L_{profile['k']}/∂h_t‖ grows to {peak / n[0]:.3g}× its value at the loss step "
                        f"over {int(d[top])} steps (per-step factor {factor:.3g}).",
                        [int(t) for t in steps_t[n > th.explode_ratio * n[0]]], numbers)]
    if required_lag is not None or per_step:
        return _horizon(profile, node, th, required_lag, numbers, d, n, steps_t, peak)
    below = np.flatnonzero((n < th.vanish_ratio * peak) & (np.arange(len(n)) > top)) if peak > 0 else []
    if len(below):
        first = int(below[0])
        numbers.update(distance=float(d[first]), ratio=float(n[first] / peak))
        return [Finding("vanishing", "warning", node, int(steps_t[first]), f"Vanishing gradient ({node})",
                        f"‖∂L_{profile['k']}/∂h_t‖ falls below {th.vanish_ratio:g} of its peak after "
                        f"{int(d[first])} steps (per-step factor {factor:.3g}, bound {profile['bound']:.3g}).",
                        [int(t) for t in steps_t[below]], numbers)]
    return []


def _horizon(profile, node, th, required_lag, numbers, d, n, steps_t, peak) -> list[Finding]:
    """The memory horizon as "info", or a vanishing warning when it is shorter than the required lag."""
    horizon, reach = memory_horizon(profile, th.horizon_ratio)
    k = profile["k"]
    numbers.update(horizon=horizon, reach=reach, required_lag=required_lag)
    words = (f"the gradient from the loss at t={k} reaches ~{horizon} steps back (there it is below "
             f"{th.horizon_ratio:g} of its peak; per-step factor {profile['factor']:.3g})" if horizon is not None
             else f"the gradient from the loss at t={k} reaches all {reach} steps back (never below "
                  f"{th.horizon_ratio:g} of its peak)")
    if required_lag is not None and horizon is not None and horizon <= min(required_lag, reach):
        at = int(np.flatnonzero(d == horizon)[0])
        lag_i = np.flatnonzero(d <= min(required_lag, reach))
        numbers.update(ratio=float(n[lag_i[-1]] / peak) if peak > 0 else float("nan"))
        return [Finding("vanishing", "warning", node, int(steps_t[at]), f"Vanishing gradient ({node})",
                        f"{words[0].upper()}{words[1:]}, but a lag of {required_lag} steps matters: the inputs "
                        f"further back barely affect the loss.",
                        [int(t) for t in steps_t[(d >= horizon) & (d <= required_lag)]], numbers)]
    return [Finding("horizon", "info", node, int(steps_t[np.flatnonzero(d == horizon)[0]]) if horizon is not None
                    else None, f"Memory horizon ({node})", f"{words[0].upper()}{words[1:]}.", [], numbers)]


def _dead_relu(trace: TraceRecord, node: str, th: Thresholds) -> list[Finding]:
    if not trace.cell_impl.dead_units:
        return []
    h = trace.activations[node]
    with np.errstate(invalid="ignore"):
        dead = ~(h > 0).any(axis=(0, 1))                                 # (H,) never fired
    share = float(dead.mean())
    if share <= th.dead_share:
        return []
    silent_t = (~(h > 0)).mean(axis=(1, 2))
    worst = int(np.argmax(silent_t))
    return [Finding("dead_relu", "warning", node, worst, f"Dead ReLU units ({node})",
                    f"{int(dead.sum())} of {dead.size} units ({share:.0%}) output 0 at every step and batch entry: "
                    f"no gradient flows through them.",
                    [int(t) for t in np.flatnonzero(silent_t >= share)], {"share": share,
                                                                           "units": np.flatnonzero(dead).tolist()})]


def _forget_gate(trace: TraceRecord, node: str, th: Thresholds) -> list[Finding]:
    gate = trace.cell_impl.forget_gate
    if gate is None:
        return []
    mean_f = _real_mean(trace.activations[gate + node[1:]], trace, empty=1.0)   # (T,)
    if not mean_f.min() < th.forget_closed:
        return []
    worst = int(np.argmin(mean_f))
    steps = np.flatnonzero(mean_f < th.forget_closed)
    return [Finding("forget_gate", "warning", node, worst, f"Forget gates close ({node})",
                    f"The mean forget gate is {mean_f[worst]:.2f} at t={worst} (below {th.forget_closed} at "
                    f"{len(steps)} steps): the cell state is wiped, so the LSTM's long path is cut.",
                    [int(t) for t in steps], {"mean_f": mean_f.tolist()})]


def _real_mean(values: np.ndarray, trace, empty: float) -> np.ndarray:
    """(T,) mean over batch and units; in a padded batch over the real entries only (`empty` at a step
    that is padding for every element), so padding's recorded zeros are not read as closed gates."""
    valid = getattr(trace, "valid", None)
    if valid is None:
        return values.mean(axis=(1, 2))
    count = valid.sum(axis=1) * values.shape[-1]
    total = np.where(valid[..., None], values, 0).sum(axis=(1, 2))
    return np.where(count > 0, total / np.maximum(count, 1), empty)


# -- issue 15: the per-node checks a recursive network's tree shares (engine.topologies.tree_diagnosis) --
def shared_checks(record, node: str, th: Thresholds = Thresholds()) -> list[Finding]:
    """The checks that read only a node's per-step activations and gradients ((N, B, H), any axis:
    a tree's nodes in post-order too): non-finite values, then saturation. `record` needs
    activations, gradients, T and cell_impl."""
    return _nonfinite(record, node) + gate_saturation(record, node, th,
                                                      lambda mask: _real_mean(mask, record, empty=0.0))
