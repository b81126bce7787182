"""What every recurrent cell provides, and the per-step views the layer driver hands it.

Cells write their results straight into the preallocated (T, B, ·) records through these
views (`out=` buffers), so the recurrence allocates little and copies nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class StepRecord:
    """Forward values of one timestep (views into the layer's records, batch-first)."""

    h: np.ndarray                       # (B, H) h_t
    h_prev: np.ndarray                  # (B, H) state processed just before (zeros at the first step)
    act: np.ndarray | None = None       # (B, blocks·H) gate activations in block order (gated cells)
    c: np.ndarray | None = None         # (B, H) LSTM c_t
    c_prev: np.ndarray | None = None
    extra: dict[str, np.ndarray] = field(default_factory=dict)   # cell-private values (tanh c_t, W_hn h + b_hn)


@dataclass
class GradStep:
    """Where a backward step writes (views into the layer's gradient records, or reused scratch)."""

    dh: np.ndarray                      # (…, B, H) total ∂L/∂h_t
    dz_ih: np.ndarray                   # (…, B, blocks·H) ∂L/∂(input pre-activations)
    dz_hh: np.ndarray                   # same buffer as dz_ih except for the GRU
    dgates: np.ndarray | None = None    # (…, B, blocks·H) ∂L/∂gate in block order (gated cells)
    dc: np.ndarray | None = None        # (…, B, H) total ∂L/∂c_t


class Cell:
    """Interface of a recurrent cell (stateless; the weights are passed in)."""

    name: str
    gates: tuple[str, ...] = ()
    blocks: int = 1                     # rows of W_ih / W_hh are blocks × H
    has_cell_state: bool = False
    folds_hh_bias: bool = True          # b_hh can be added to the input projection once for all steps
    extras: tuple[str, ...] = ()        # names of cell-private (T, B, H) records
    gate_ranges: dict[str, tuple[float, float]] = {}   # gate → the range of its activation
    gate_titles: dict[str, str] = {}    # gate → what the lectures call it

    @property
    def states(self) -> tuple[str, ...]:
        """The recurrent state's parts: ("h",) or ("h", "c")."""
        return ("h", "c") if self.has_cell_state else ("h",)

    def describe(self) -> dict:
        """What a reader of the stream needs to draw this cell (JSON-ready; travels in `meta`)."""
        return {"name": self.name, "states": list(self.states),
                "gates": [{"name": g, "title": self.gate_titles.get(g, g), "range": list(self.gate_ranges[g])}
                          for g in self.gates]}

    def forward(self, xp: np.ndarray, h_prev: np.ndarray, c_prev: np.ndarray | None, w_hh: np.ndarray,
                b_hh: np.ndarray, out: StepRecord) -> None:
        """One step from the input projection xp (B, blocks·H); writes h (and c, act, extra) into `out`."""
        raise NotImplementedError

    def backward_factors(self, h: np.ndarray, h_prev: np.ndarray, act: np.ndarray | None,
                         extra: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Local derivatives of every step at once ((T, B, ·) arrays, one vectorised pass before the
        BPTT loop, so each step of the loop does only what depends on the gradient)."""
        raise NotImplementedError

    def backward(self, dh_next: np.ndarray, dc_next: np.ndarray | None, dh_out: np.ndarray, rec: StepRecord,
                 fac: dict[str, np.ndarray], w_hh: np.ndarray, out: GradStep) -> tuple[np.ndarray, np.ndarray | None]:
        """One step back. ∂L/∂h_t = dh_out (output path) + dh_next (recurrence); `fac` holds this step's
        backward_factors. Writes the step's gradients into `out`, returns (dh_prev, dc_prev)."""
        raise NotImplementedError

    def jacobian(self, rec: StepRecord, w_hh: np.ndarray) -> np.ndarray:
        """∂s_t/∂s_prev per batch entry, (B, S, S) with s = h or the stacked (h, c)."""
        raise NotImplementedError

    def gate_views(self, act: np.ndarray) -> dict[str, np.ndarray]:
        """name → view of one gate's block in an (…, blocks·H) array."""
        H = act.shape[-1] // self.blocks
        return {g: act[..., k * H:(k + 1) * H] for k, g in enumerate(self.gates)}


def sigmoid_(a: np.ndarray) -> np.ndarray:
    """Logistic function in place (saturates to exactly 0/1; exp overflow is harmless here)."""
    with np.errstate(over="ignore"):
        np.negative(a, out=a)
        np.exp(a, out=a)
        a += 1.0
        np.reciprocal(a, out=a)
    return a


def diag_times(d: np.ndarray, w: np.ndarray) -> np.ndarray:
    """diag(d_b) W for every batch row b: d (B, H), w (H, K) → (B, H, K)."""
    return d[:, :, None] * w[None, :, :]


def diag(d: np.ndarray) -> np.ndarray:
    """diag(d_b) for every batch row: (B, H) → (B, H, H)."""
    return d[:, :, None] * np.eye(d.shape[-1], dtype=d.dtype)
