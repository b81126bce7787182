"""A diagnosed problem (`Finding`) and when a measurement becomes one (`Thresholds`)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Thresholds:
    """When a measurement becomes a finding."""

    vanish_ratio: float = 1e-3        # ‖∂L_k/∂h_t‖ below this fraction of its peak ...
    explode_ratio: float = 1e3        # ... or above this multiple of its value at the loss step
    saturation_margin: float = 0.01   # a tanh/σ output this close to its limits is saturated
    saturated_share: float = 0.5      # finding when more than this share of outputs is saturated at some step
    dead_share: float = 0.1           # finding when more than this share of ReLU units never fires
    forget_closed: float = 0.3        # finding when the mean forget gate (LSTM) falls below this at some step
    horizon_ratio: float = 0.1        # the memory horizon: where ‖∂L_k/∂h_t‖ falls below this fraction of its peak
    growth_ratio: float = 10.0        # forward growth: ‖h_t‖ (unbounded cells) rises to this multiple of its start
    update_ratio: float = 100.0       # ‖∂L/∂W‖ / ‖W‖ above this: one step of lr 0.01 outgrows the weight itself


@dataclass
class Finding:
    """One diagnosed problem (or, severity "info", a fact worth knowing: the memory horizon)."""

    kind: str                          # vanishing | exploding | nonfinite | saturation | dead_relu | forget_gate |
                                       # growth | gate_closed | horizon | update_ratio | readout | no_gradient
    severity: str                      # "warning" | "problem" | "info" (a measurement, not a problem: the horizon)
    node: str                          # the h node (layer/direction) it concerns
    t: int | None                      # the step where it is worst (the graph links here)
    title: str
    detail: str                        # one sentence with the numbers
    steps: list[int] = field(default_factory=list)          # where it happens (timeline flags)
    numbers: dict[str, float | list] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """Plain-Python form (NaN/Inf stay floats)."""
        return asdict(self)
