"""The step-wise event stream: one Event per cell step and phase, in the order of the event
schedule (engine.schedule, docs/DESIGN.md section "Event schedule").

Within a segment — forward: layer by layer (forward direction t ascending, then the reverse
direction t descending), then for each t the output logits and the loss. Backward: logits t
descending, then from the top layer down, each direction in the reverse of its forward order.
Forward blocks come segment by segment, backward blocks in the reverse order of the segments.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
import numpy as np

from .norms import batch_mean_norm
from .record import TraceRecord
from .schedule import event_schedule


@dataclass(frozen=True)
class Event:
    """One computed step. `values` holds batch-first arrays of this step (views: copy to keep)."""

    phase: str                         # "forward" | "backward"
    node: str                          # "h_l0", "h_l0_reverse", ..., "logits", "loss"
    t: int
    layer: int | None                  # None for logits / loss
    direction: int                     # 0 forward, 1 reverse
    values: dict[str, np.ndarray] = field(default_factory=dict)
    valid: np.ndarray | None = None    # (B,) the entries for which t is real (a padded batch), or None: all

    @property
    def padding(self) -> bool:
        """True at a step that is padding for every batch element (its norm 0 measures nothing)."""
        return self.valid is not None and not self.valid.any()

    @property
    def norm(self) -> float:
        """Batch mean of the L2 norm of the step's main vector (h, dh, logits, dlogits), or |L_t|; in a
        padded batch over the real entries (0 at a step that is padding for every element)."""
        kind = self.node if self.node in ("logits", "loss") else "h"
        main = self.values[MAIN_VALUE[kind, self.phase]]
        if main.ndim == 0:
            return float(abs(main))
        if self.padding:
            return 0.0
        return float(batch_mean_norm(main, self.valid))


MAIN_VALUE = {("h", "forward"): "h", ("h", "backward"): "dh", ("logits", "forward"): "logits",
              ("logits", "backward"): "dlogits", ("loss", "forward"): "loss"}


def hidden_values(trace: TraceRecord, node: str, phase: str, t: int) -> dict[str, np.ndarray]:
    """The values of an h-node event: state, cell state and gates (forward) or their gradients (backward)."""
    suffix = node[1:]                          # "_l0" or "_l0_reverse"
    source = trace.activations if phase == "forward" else trace.gradients
    prefix = "" if phase == "forward" else "d"
    cell = trace.cell_impl
    names = [*cell.states, *cell.gates]
    values = {prefix + name: source[f"{name}{suffix}"][t] for name in names}
    if "embedding" in source and node.startswith("h_l0"):      # the embedding rides on the layer-0 events
        first, last = trace.arch.node(0, 0), trace.arch.node(0, trace.directions - 1)
        if node == (first if phase == "forward" else last):   # e_t read first; ∂L/∂e_t complete after the last direction
            values[prefix + "e"] = source["embedding"][t]
    return values


def output_values(trace: TraceRecord, node: str, phase: str, t: int) -> dict[str, np.ndarray]:
    """The values of a logits or loss event."""
    if node == "loss":
        return {"loss": trace.loss_t[t]}
    if phase == "backward":
        return {"dlogits": trace.gradients["logits"][t]}
    values = {"logits": trace.activations["logits"][t]}
    if "probs" in trace.activations:
        values["probs"] = trace.activations["probs"][t]
    return values


def hidden_event(trace: TraceRecord, phase: str, layer: int, direction: int, t: int) -> Event:
    """The Event of one h-node step, read from a (possibly still filling) trace."""
    node = trace.arch.node(layer, direction)
    reverse = int(trace.arch.reversed(layer, direction))          # the Event's direction: 1 when it runs in reverse
    return Event(phase, node, t, layer, reverse, hidden_values(trace, node, phase, t), step_valid(trace, t))


def output_event(trace: TraceRecord, phase: str, node: str, t: int) -> Event:
    """The Event of a logits or loss step."""
    return Event(phase, node, t, None, 0, output_values(trace, node, phase, t), step_valid(trace, t))


def step_valid(trace: TraceRecord, t: int) -> np.ndarray | None:
    """(B,) the batch entries for which step t is real, or None when the run is not padded."""
    return None if trace.lengths is None else trace.lengths > t


def replay(trace: TraceRecord) -> Iterator[Event]:
    """Every event the recorder yields for this trace, in the same order, from its records: the
    blocks of its event schedule (engine.schedule) over its chain of segments."""
    L, D = trace.num_layers, trace.directions
    segments = {seg.name: seg for seg in trace.stages}
    for block in event_schedule(L, D, trace.stages)["blocks"]:
        seg, phase = segments[block["segment"]], block["phase"]
        a, b = seg.start, seg.stop
        if block["kind"] == "outputs":
            if phase == "forward":
                for t in range(a, b):
                    yield output_event(trace, phase, "logits", t)
                    yield output_event(trace, phase, "loss", t)
            else:
                for t in range(b - 1, a - 1, -1):
                    yield output_event(trace, phase, "logits", t)
            continue
        layers = range(L) if phase == "forward" else reversed(range(L))
        for k in layers:
            for d in range(D):
                later_first = trace.arch.reversed(k, d) == (phase == "forward")   # reverse forward, or forward backward
                for t in (range(b - 1, a - 1, -1) if later_first else range(a, b)):
                    yield hidden_event(trace, phase, k, d, t)
