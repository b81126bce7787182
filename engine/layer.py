"""One direction of one layer unrolled in time: the forward recurrence and BPTT through it.

Only the recurrence loops over t; the input projections of all timesteps (and, after the
backward loop, ∂L/∂W_ih, ∂L/∂W_hh and the gradient sent to the layer below) are single GEMMs
over T·B rows. Arrays are time-first: (T, B, ·); the backward loop also accepts extra
leading dimensions between T and B (…), used to push several loss terms at once.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from .cell import Cell, StepRecord


@dataclass
class LayerRecord:
    """Everything the forward pass of one direction recorded: (T, B, H) arrays."""

    reverse: bool
    h: np.ndarray
    c: np.ndarray | None = None
    gates: dict[str, np.ndarray] = field(default_factory=dict)
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def allocate(cls, cell: Cell, T: int, B: int, H: int, reverse: bool, dtype) -> "LayerRecord":
        """Preallocated, zero-filled records for a T-step run."""
        def new() -> np.ndarray:
            return np.zeros((T, B, H), dtype=dtype)
        gates = {g: new() for g in cell.gates}
        extra = {"ghn": new()} if cell.name == "gru" else {}
        return cls(reverse, new(), new() if cell.has_cell_state else None, gates, extra)

    @property
    def T(self) -> int:
        """Number of timesteps."""
        return self.h.shape[0]

    def forward_order(self) -> range:
        """Timesteps in the order this direction processes them."""
        return range(self.T - 1, -1, -1) if self.reverse else range(self.T)

    def backward_order(self) -> range:
        """Timesteps in the order BPTT visits them (the reverse of forward_order)."""
        return range(self.T) if self.reverse else range(self.T - 1, -1, -1)

    def previous(self, values: np.ndarray) -> np.ndarray:
        """(T, B, H): at t, the value at the step processed just before t (zeros for the first)."""
        prev = np.zeros_like(values)
        if self.reverse:
            prev[:-1] = values[1:]
        else:
            prev[1:] = values[:-1]
        return prev

    def step(self, t: int) -> StepRecord:
        """The record of step t, with the previous state (zeros at the first processed step)."""
        p = t + 1 if self.reverse else t - 1
        first = p < 0 or p >= self.T
        zeros = np.zeros_like(self.h[t])
        return StepRecord(
            h=self.h[t],
            h_prev=zeros if first else self.h[p],
            c=None if self.c is None else self.c[t],
            c_prev=None if self.c is None else (zeros if first else self.c[p]),
            gates={g: v[t] for g, v in self.gates.items()},
            extra={k: v[t] for k, v in self.extra.items()},
        )


def forward_direction(cell: Cell, xp: np.ndarray, w_hh: np.ndarray, b_hh: np.ndarray,
                      rec: LayerRecord) -> Iterator[int]:
    """Run the recurrence over xp (T, B, blocks·H) = W_ih x_t + b_ih, filling `rec`; yields each t when done."""
    B, H = rec.h.shape[1:]
    h_prev = np.zeros((B, H), dtype=rec.h.dtype)      # initial state h(−1) = 0
    c_prev = np.zeros_like(h_prev)
    for t in rec.forward_order():
        h, c, gates, extra = cell.forward(xp[t], h_prev, c_prev, w_hh, b_hh)
        rec.h[t] = h
        if rec.c is not None:
            rec.c[t] = c
            c_prev = rec.c[t]
        for name, value in gates.items():
            rec.gates[name][t] = value
        for name, value in extra.items():
            rec.extra[name][t] = value
        h_prev = rec.h[t]
        yield t


class BackwardSink:
    """Receives what each backward step produced; subclasses decide what to keep."""

    def put(self, t: int, dh, dz_ih, dz_hh, gate_grads: dict) -> None:
        """Called once per step with ∂L/∂h_t (total), the pre-activation gradients and gate gradients."""
        raise NotImplementedError


def backward_direction(cell: Cell, rec: LayerRecord, w_hh: np.ndarray, dh_out: np.ndarray,
                       sink: BackwardSink) -> Iterator[int]:
    """BPTT through one direction. dh_out (T, …, B, H) is ∂L/∂h_t through the output path only
    (the head or the layer above); the recurrence adds Wᵀ-weighted gradient from the step after.
    Yields each t once the step's values are in `sink`."""
    dh_next = np.zeros(dh_out.shape[1:], dtype=dh_out.dtype)   # (…, B, H) recurrent part of ∂L/∂h_t
    dc_next = np.zeros_like(dh_next)
    for t in rec.backward_order():
        dh = dh_out[t] + dh_next                               # total ∂L/∂h_t
        dz_ih, dz_hh, dh_next, dc_next, gate_grads = cell.backward(dh, dc_next, rec.step(t), w_hh)
        sink.put(t, dh, dz_ih, dz_hh, gate_grads)
        yield t


class RecordingSink(BackwardSink):
    """Keeps every gradient of a direction: ∂L/∂h_t, ∂L/∂c_t, gate gradients, pre-activation gradients."""

    def __init__(self, cell: Cell, T: int, B: int, H: int, dtype) -> None:
        rows = cell.blocks * H
        self.dh = np.zeros((T, B, H), dtype=dtype)
        self.gates = {g: np.zeros((T, B, H), dtype=dtype) for g in cell.gates}
        self.dc = np.zeros((T, B, H), dtype=dtype) if cell.has_cell_state else None
        self.dz_ih = np.zeros((T, B, rows), dtype=dtype)
        self.dz_hh = self.dz_ih if cell.name != "gru" else np.zeros((T, B, rows), dtype=dtype)

    def put(self, t, dh, dz_ih, dz_hh, gate_grads) -> None:
        """Store step t."""
        self.dh[t] = dh
        self.dz_ih[t] = dz_ih
        if self.dz_hh is not self.dz_ih:
            self.dz_hh[t] = dz_hh
        for name, value in gate_grads.items():
            if name == "c":
                self.dc[t] = value
            else:
                self.gates[name][t] = value


def weight_gradients(sink: RecordingSink, rec: LayerRecord, layer_input: np.ndarray) -> dict[str, np.ndarray]:
    """∂L/∂W_ih, ∂L/∂W_hh, ∂L/∂b_ih, ∂L/∂b_hh summed over t, each one GEMM over T·B rows."""
    T, B, rows = sink.dz_ih.shape
    dz_ih = sink.dz_ih.reshape(T * B, rows)
    dz_hh = sink.dz_hh.reshape(T * B, rows)
    h_prev = rec.previous(rec.h).reshape(T * B, -1)
    return {
        "weight_ih": dz_ih.T @ layer_input.reshape(T * B, -1),   # Σ_t ∂L/∂z_t x_tᵀ
        "weight_hh": dz_hh.T @ h_prev,                           # Σ_t ∂L/∂z_t h_{t−1}ᵀ
        "bias_ih": dz_ih.sum(axis=0),
        "bias_hh": dz_hh.sum(axis=0),
    }


def weight_contributions(sink: RecordingSink, rec: LayerRecord, layer_input: np.ndarray) -> dict[str, np.ndarray]:
    """Per-step Frobenius norms (T,) of the terms summed by weight_gradients."""
    h_prev = rec.previous(rec.h)
    return {
        "weight_ih": outer_sum_norms(sink.dz_ih, layer_input),
        "weight_hh": outer_sum_norms(sink.dz_hh, h_prev),
        "bias_ih": np.linalg.norm(sink.dz_ih.sum(axis=1), axis=-1),
        "bias_hh": np.linalg.norm(sink.dz_hh.sum(axis=1), axis=-1),
    }


def outer_sum_norms(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """‖a_tᵀ b_t‖_F for every t, a (T, B, M), b (T, B, N), via ‖AᵀB‖² = ⟨AAᵀ, BBᵀ⟩ (O(B²) per step, not O(MN))."""
    gram_a = a @ a.transpose(0, 2, 1)            # (T, B, B), batched GEMM
    gram_b = b @ b.transpose(0, 2, 1)            # (T, B, B)
    sq = (gram_a * gram_b).sum(axis=(1, 2))
    return np.sqrt(np.maximum(sq, 0.0))
