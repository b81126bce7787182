"""What is wrong with this RNN? Findings computed from a trace, each with its numbers and where it is worst.

Every check returns findings only when its problem is present, so a healthy trace yields none.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np

from ..chain import Segment
from ..record import TraceRecord
from .decay import vanishing_profile


@dataclass(frozen=True)
class Thresholds:
    """When a measurement becomes a finding."""

    vanish_ratio: float = 1e-3        # ‖∂L_k/∂h_t‖ below this fraction of its peak ...
    explode_ratio: float = 1e3        # ... or above this multiple of its value at the loss step
    saturation_margin: float = 0.01   # a tanh/σ output this close to its limits is saturated
    saturated_share: float = 0.5      # finding when more than this share of outputs is saturated at some step
    dead_share: float = 0.1           # finding when more than this share of ReLU units never fires
    forget_closed: float = 0.3        # finding when the mean forget gate (LSTM) falls below this at some step


@dataclass
class Finding:
    """One diagnosed problem."""

    kind: str                          # vanishing | exploding | nonfinite | saturation | dead_relu | forget_gate
    severity: str                      # "warning" | "problem"
    node: str                          # the h node (layer/direction) it concerns
    t: int | None                      # the step where it is worst (the graph links here)
    title: str
    detail: str                        # one sentence with the numbers
    steps: list[int] = field(default_factory=list)          # where it happens (timeline flags)
    numbers: dict[str, float | list] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """Plain-Python form (NaN/Inf stay floats)."""
        return asdict(self)


def diagnose(trace: TraceRecord, thresholds: Thresholds = Thresholds(), *, decay: bool = True) -> list[Finding]:
    """Every finding for `trace`, problems first. A trace truncated on purpose (truncate=k, or
    Elman's context units) gets no vanishing/exploding finding: its gradient stops by design.
    `decay=False` leaves that check out. A chain of several segments (an encoder–decoder) gets each
    segment's own findings, titled with its name ("Encoder: …") on the whole time axis, and the
    gradient's decay measured along the whole chain, from the last loss back across the hand-offs."""
    decay = decay and trace.bptt_window is None               # a truncated recurrence cuts it on purpose
    if not trace.segmented:
        return sorted(_findings(trace, thresholds, decay), key=lambda f: f.severity != "problem")
    findings: list[Finding] = []
    for seg in trace.stages:
        shift = seg.start
        for f in _findings(_SegmentView(trace, seg), thresholds, decay=False):
            findings.append(replace(f, t=None if f.t is None else f.t + shift, steps=[s + shift for s in f.steps],
                                    title=f"{seg.name.capitalize()}: {f.title}"))
    broken = {f.node for f in findings if f.kind == "nonfinite"}
    for node in trace.node_names:
        if decay and node not in broken:                      # no decay fit through NaN/Inf
            findings += gradient_decay(vanishing_profile(trace, node), node, thresholds)
    return sorted(findings, key=lambda f: f.severity != "problem")


def _findings(trace, th: Thresholds, decay: bool) -> list[Finding]:
    """The checks of every node of a record (or of one segment's view of it), node by node."""
    findings: list[Finding] = []
    for node in trace.node_names:
        nonfinite = _nonfinite(trace, node)
        findings += nonfinite
        if decay and not nonfinite:
            findings += gradient_decay(vanishing_profile(trace, node), node, th)
        findings += _saturation(trace, node, th)
        findings += _dead_relu(trace, node, th)
        findings += _forget_gate(trace, node, th)
    return findings


class _SegmentView:
    """One segment's steps of a record (views), with the facts the per-node checks read."""

    def __init__(self, trace: TraceRecord, seg: Segment) -> None:
        self.cell_impl, self.node_names, self.T = trace.cell_impl, trace.node_names, seg.steps
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


def gradient_decay(profile: dict, node: str, th: Thresholds) -> list[Finding]:
    """A vanishing or exploding finding from a node's vanishing profile (decay.vanishing_profile, or
    an encoder–decoder's joined one), or none."""
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
    below = np.flatnonzero((n < th.vanish_ratio * peak) & (np.arange(len(n)) > top)) if peak > 0 else []
    if len(below):
        first = int(below[0])
        numbers.update(distance=float(d[first]), ratio=float(n[first] / peak))
        return [Finding("vanishing", "warning", node, int(steps_t[first]), f"Vanishing gradient ({node})",
                        f"‖∂L_{profile['k']}/∂h_t‖ falls below {th.vanish_ratio:g} of its peak after "
                        f"{int(d[first])} steps (per-step factor {factor:.3g}, bound {profile['bound']:.3g}).",
                        [int(t) for t in steps_t[below]], numbers)]
    return []


def _saturating_outputs(trace: TraceRecord, node: str) -> dict[str, tuple[np.ndarray, float, float]]:
    """name → (values, low limit, high limit) of every tanh/σ output recorded for this node."""
    s = node[1:]
    return {name: (trace.activations[name + s], low, high)
            for name, (low, high) in trace.cell_impl.saturating.items()}


def _saturation(trace: TraceRecord, node: str, th: Thresholds) -> list[Finding]:
    out = []
    for name, (values, low, high) in _saturating_outputs(trace, node).items():
        margin = th.saturation_margin * (high - low) / 2
        with np.errstate(invalid="ignore"):
            saturated = (values <= low + margin) | (values >= high - margin)
        share = _real_mean(saturated, trace, empty=0.0)                  # (T,)
        if share.max() > th.saturated_share:
            worst = int(np.argmax(share))
            steps = np.flatnonzero(share > th.saturated_share)
            out.append(Finding("saturation", "warning", node, worst, f"Saturated {name} ({node})",
                               f"{share[worst]:.0%} of {name} outputs are within {th.saturation_margin} of their "
                               f"limits at t={worst} (over {th.saturated_share:.0%} at {len(steps)} steps): "
                               f"their derivatives are ≈ 0, so gradient barely passes.",
                               [int(t) for t in steps], {"share": share.tolist(), "gate": name}))
    return out


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
