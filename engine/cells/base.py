"""What every recurrent cell provides, and the per-step views the layer driver hands it.

A cell describes itself completely: its state and gate names, the parameter layout, which
records it keeps privately and how to rebuild them, what its backward pass needs, the step
Jacobian and the facts the analysis reads (max φ′ for the decay bound, which outputs saturate,
whether units can die). Nothing outside `engine/cells/` asks which cell it is handling.

Cells write their results straight into the preallocated (T, B, ·) records through these
views (`out=` buffers), so the recurrence allocates little and copies nothing.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from .lecture import Lecture, generic_lecture


@dataclass
class StepRecord:
    """Forward values of one timestep (views into the layer's records, batch-first)."""

    h: np.ndarray                       # (B, H) h_t
    h_prev: np.ndarray                  # (B, H) state processed just before (zeros at the first step)
    act: np.ndarray | None = None       # (B, blocks·H) gate activations in block order (gated cells)
    c: np.ndarray | None = None         # (B, H) cell state c_t (cells whose states include "c")
    c_prev: np.ndarray | None = None
    extra: dict[str, np.ndarray] = field(default_factory=dict)   # cell-private values (`Cell.extras`)
    weights: dict[str, np.ndarray] = field(default_factory=dict)  # the step's `Cell.extra_weights` (e.g. peepholes)


@dataclass
class GradStep:
    """Where a backward step writes (views into the layer's gradient records, or reused scratch)."""

    dh: np.ndarray                      # (…, B, H) total ∂L/∂h_t
    dz_ih: np.ndarray                   # (…, B, blocks·H) ∂L/∂(input pre-activations)
    dz_hh: np.ndarray                   # ∂L/∂(recurrent pre-activations): dz_ih itself unless separate_hh_grad
    dgates: np.ndarray | None = None    # (…, B, blocks·H) ∂L/∂gate in block order (gated cells)
    dc: np.ndarray | None = None        # (…, B, H) total ∂L/∂c_t


class Cell:
    """Interface of a recurrent cell (stateless; the weights are passed in)."""

    name: str
    torch_class: str = ""               # the torch.nn module with these equations and parameter layout
    states: tuple[str, ...] = ("h",)    # the recurrent state's parts: ("h",) or ("h", "c")
    gates: tuple[str, ...] = ()
    blocks: int = 1                     # rows of W_ih / W_hh are blocks × H (one block per gate)
    gate_ranges: dict[str, tuple[float, float]] = {}   # gate → the range of its activation
    gate_titles: dict[str, str] = {}    # gate → what the lectures call it
    folds_hh_bias: bool = True          # b_hh can be added to the input projection once for all steps
    separate_hh_grad: bool = False      # ∂L/∂(W_hh h + b_hh) differs from ∂L/∂(W_ih x + b_ih): own buffer
    extras: tuple[str, ...] = ()        # names of cell-private (T, B, H) records (not in a Trace)
    max_dphi: float | None = None       # max φ′: decay bound σ_max(W_hh)·max φ′; None: the largest measured Jacobian
    saturating: dict[str, tuple[float, float]] = {}    # recorded output → its limits, for the saturation check
    dead_units: bool = False            # a unit can output exactly 0 for every input (ReLU): the dead-unit check
    forget_gate: str | None = None      # the gate whose closing wipes the state; `forget_bias` adds to its bias
    kinks: bool = False                 # φ has kinks: finite differences need a narrow stencil
    lecture: Lecture | None = None      # the lecture's equations (None: a generic description)
    extra_weights: tuple[str, ...] = ()  # per-direction parameters beyond W_ih, W_hh, b_ih, b_hh (names
    #                                     without _l{k}); the engine hands their values to every step in
    #                                     StepRecord.weights and sums `extra_weight_gradients`
    extra_weight_rows: Mapping[str, tuple[str, ...]] = MappingProxyType({})   # lecture names of their rows

    @property
    def has_cell_state(self) -> bool:
        """True when the state carries a cell state c besides h."""
        return "c" in self.states

    def state_size(self, hidden_size: int) -> int:
        """Width S of the stacked recurrent state s_t (the Jacobian is S × S)."""
        return len(self.states) * hidden_size

    def describe(self) -> dict:
        """What a reader of the stream needs to draw this cell (JSON-ready; travels in `meta`)."""
        return {"name": self.name, "states": list(self.states),
                "gates": [{"name": g, "title": self.gate_titles.get(g, g), "range": list(self.gate_ranges[g])}
                          for g in self.gates],
                "lecture": self.lecture_notes().to_json(),
                **({"extra_weights": {w: list(self.extra_weight_rows.get(w, ())) for w in self.extra_weights}}
                   if self.extra_weights else {})}

    def lecture_notes(self) -> Lecture:
        """The lecture's equations of this cell, or a generic description from its gates and states."""
        return self.lecture or generic_lecture(self.name, self.gates, self.states)

    def parameter_shapes(self, input_size: int, hidden_size: int) -> dict[str, tuple[int, ...]]:
        """One layer/direction's parameters (torch names without the _l{k} suffix) and their shapes."""
        rows = self.blocks * hidden_size
        return {"weight_ih": (rows, input_size), "weight_hh": (rows, hidden_size), "bias_ih": (rows,),
                "bias_hh": (rows,)}

    def recurrent_blocks(self, w_hh: np.ndarray) -> dict[str, np.ndarray]:
        """W_hh's H × H blocks by gate ("W" for a cell without gates), for the weight spectra."""
        H = w_hh.shape[1]
        return {g: w_hh[k * H:(k + 1) * H] for k, g in enumerate(self.gates or ("W",))}

    def gate_rows(self, gate: str, hidden_size: int) -> slice:
        """The rows of W_ih / W_hh / the biases that belong to `gate`."""
        k = self.gates.index(gate)
        return slice(k * hidden_size, (k + 1) * hidden_size)

    def reads_torch(self, module: Any) -> bool:
        """True if the torch module has this cell's equations (ValueError for options it lacks)."""
        return type(module).__name__ == self.torch_class

    def rebuild_extras(self, h_prev: np.ndarray, act: np.ndarray | None, c: np.ndarray | None,
                       w_hh: np.ndarray, b_hh: np.ndarray) -> dict[str, np.ndarray]:
        """The private records (`extras`, (T, B, H) each) from the recorded ones, for a trace loaded
        from disk; h_prev (T, B, H) is the state each step read."""
        return {}

    def recurrent_operands(self, h_prev: np.ndarray, act: np.ndarray | None) -> dict[str, np.ndarray]:
        """gate → what that gate's block of W_hh multiplies when it is not h_{t−1} ((n, B, H), every
        step at once); ∂L/∂W_hh of that block is then Σ_t ∂L/∂a_t operand_tᵀ. Default: none."""
        return {}

    def extra_weight_gradients(self, dz_ih: np.ndarray, rec: StepRecord) -> dict[str, np.ndarray]:
        """Per-step terms of the gradients of `extra_weights`: name → (n, *shape), each step's term
        summed over the batch (their sum over steps is the gradient). dz_ih (n, B, blocks·H) is
        ∂L/∂(pre-activations); rec holds the steps' (n, B, ·) records (c_prev included)."""
        return {}

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


def sigmoid_derivative(s: np.ndarray, out: np.ndarray) -> np.ndarray:
    """σ′ = σ(1 − σ) from s = σ(a), into out (not s itself)."""
    np.subtract(1.0, s, out=out)
    return np.multiply(out, s, out=out)


def tanh_derivative(t: np.ndarray, out: np.ndarray) -> np.ndarray:
    """tanh′ = 1 − tanh² from t = tanh(a), into out (which may be t itself)."""
    np.multiply(t, t, out=out)
    return np.subtract(1.0, out, out=out)


def diag_times(d: np.ndarray, w: np.ndarray) -> np.ndarray:
    """diag(d_b) W for every batch row b: d (B, H), w (H, K) → (B, H, K)."""
    return d[:, :, None] * w[None, :, :]


def cell_state_jacobian(dc_dh_terms: list[tuple[np.ndarray, np.ndarray]], out_gain: np.ndarray, w_o: np.ndarray,
                        through_c: np.ndarray, dc_dc: np.ndarray) -> np.ndarray:
    """The step Jacobian of an LSTM-like cell, ∂(h_t, c_t)/∂(h_{t−1}, c_{t−1}), (B, 2H, 2H), in one array:

        ∂c_t/∂h_{t−1} = Σ diag(d) W  over dc_dh_terms [(d (B, H), W (H, H)), …]
        ∂h_t/∂h_{t−1} = diag(out_gain) W_o + diag(through_c) ∂c_t/∂h_{t−1}
        ∂h_t/∂c_{t−1} = diag(through_c ⊙ dc_dc),   ∂c_t/∂c_{t−1} = diag(dc_dc)

    (through_c = ∂h_t/∂c_t, dc_dc the diagonal of ∂c_t/∂c_{t−1}). Built in place: the summary computes it for
    up to ~1000 steps × B at once, where the blocks' temporaries and concatenations took as long as the norms."""
    (d0, w0), *rest = dc_dh_terms
    n, H = d0.shape
    dtype = np.result_type(d0, w0)
    jac = np.zeros((n, 2 * H, 2 * H), dtype=dtype)
    dc_dh = jac[:, H:, :H]
    np.multiply(d0[:, :, None], w0, out=dc_dh)
    term = np.empty((n, H, H), dtype=dtype)
    for d, w in rest:
        dc_dh += np.multiply(d[:, :, None], w, out=term)
    dh_dh = jac[:, :H, :H]
    np.multiply(through_c[:, :, None], dc_dh, out=dh_dh)
    dh_dh += np.multiply(out_gain[:, :, None], w_o, out=term)
    k = np.arange(H)
    jac[:, k, H + k] = through_c * dc_dc
    jac[:, H + k, H + k] = dc_dc
    return jac


def diag(d: np.ndarray) -> np.ndarray:
    """diag(d_b) for every batch row: (B, H) → (B, H, H)."""
    return d[:, :, None] * np.eye(d.shape[-1], dtype=d.dtype)
