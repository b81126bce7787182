"""What every recurrent cell provides, and the per-step record the drivers hand it."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class StepRecord:
    """The values a cell's backward step and Jacobian need at one timestep (views, batch-first)."""

    h: np.ndarray                 # (B, H) h_t
    h_prev: np.ndarray            # (B, H) the state processed just before (zeros at the first step)
    c: np.ndarray | None = None   # (B, H) LSTM c_t
    c_prev: np.ndarray | None = None
    gates: dict[str, np.ndarray] = field(default_factory=dict)   # name → (B, H)
    extra: dict[str, np.ndarray] = field(default_factory=dict)   # cell-private values (GRU W_hn h + b_hn)


class Cell:
    """Interface of a recurrent cell (stateless; the weights are passed in)."""

    name: str
    gates: tuple[str, ...]
    blocks: int                 # rows of W_ih / W_hh are blocks × H
    has_cell_state: bool

    def forward(self, xp, h_prev, c_prev, w_hh, b_hh):
        """One step from the input projection xp = W_ih x_t + b_ih: returns (h, c, gates, extra)."""
        raise NotImplementedError

    def backward(self, dh, dc, rec: StepRecord, w_hh):
        """One step back: returns (dz_ih, dz_hh, dh_prev, dc_prev, gate_grads)."""
        raise NotImplementedError

    def jacobian(self, rec: StepRecord, w_hh, b_hh) -> np.ndarray:
        """∂s_t/∂s_prev per batch entry, (B, S, S) with s = h or the stacked (h, c)."""
        raise NotImplementedError


def sigmoid(a: np.ndarray) -> np.ndarray:
    """Logistic function; saturates to exactly 0/1 without overflow warnings."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-a))
