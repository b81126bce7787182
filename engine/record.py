"""The record of one run: every activation and gradient at every timestep, nothing derived.

`engine.analysis` computes what derives from a record (Jacobian norms, the flow matrix, the
decay, the summary, the diagnosis) as functions of it; `engine.trace.Trace` is this record with
thin properties that call them. See docs/DESIGN.md, section "Trace contract".
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .chain import Chain, Segment, cut_steps, plain_chain, stages, truncation_window
from .layer import LayerRecord
from .params import Architecture, ArchitectureFacts


class TraceRecord(ArchitectureFacts):
    """The recorded arrays of one run (time-first) and the parameters it used."""

    def __init__(self, arch: Architecture, loss_type: str, x: np.ndarray, targets: np.ndarray,
                 mask: np.ndarray, params: dict[str, np.ndarray], chain: Chain | None = None,
                 dtype=None, lengths: np.ndarray | None = None) -> None:
        self.arch = arch
        self._dtype = np.dtype(dtype if dtype is not None else x.dtype)
        self.lengths = lengths                         # (B,) int64: element b's steps t ≥ lengths[b] are padding
        self.chain: Chain = chain if chain is not None else plain_chain(x.shape[0])   # engine.chain
        self.loss_type = loss_type
        self.loss_reduction = "step_mean"              # engine.losses.REDUCTIONS: how the loss terms are weighted
        self.x = x                                     # (T, B, I), or token ids (T, B) with an embedding
        self.targets = targets                         # (T, B) ints or (T, B, O) floats
        self.mask = mask                               # (T, B) bool
        self.params = params                           # the state dict the run used
        self.activations: dict[str, np.ndarray] = {}
        self.gradients: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.grad_contributions: dict[str, np.ndarray] = {}
        self.initial_state: dict[str, np.ndarray] = {}         # h(−1) (and c(−1)) per node when not zeros
        self.initial_state_grads: dict[str, np.ndarray] = {}   # ∂L/∂h(−1), ∂L/∂c(−1) per node, (B, H)
        self.final_state_grads: dict[str, np.ndarray] = {}     # gradient that arrived from outside at the last state
        self.output_grads: np.ndarray | None = None            # (T, B, D·H) ∂L/∂(top outputs) from an outer head
        self.input_grads: np.ndarray | None = None             # (T, B, I) ∂L/∂x_t (dense inputs; see gradients["embedding"])
        self.required_lag: int | None = None                   # the lag the diagnosis judges the gradient against
        self.loss_t = np.zeros(x.shape[0], dtype=self._dtype)
        self.loss = 0.0
        self.derived: dict[Any, Any] = {}                      # engine.analysis's cache of derived values
        self._private: dict[str, dict[str, np.ndarray]] = {}   # per direction: gate block array, cell-private records

    # -- shape facts -------------------------------------------------------------------------
    recurrent_gradient = property(lambda self: self.bptt_window != 1, doc="False for Elman's context units")
    bptt_window = property(lambda self: truncation_window(self.chain),
                           doc="k: BPTT only inside windows of k steps (1: Elman), None when untruncated")
    stages = property(lambda self: stages(self.chain), doc="the chain's parts, each one block of events")
    T = property(lambda self: self.x.shape[0], doc="timesteps")
    B = property(lambda self: self.x.shape[1], doc="batch size")
    dtype = property(lambda self: self._dtype, doc="compute dtype")

    @property
    def valid(self) -> np.ndarray | None:
        """(T, B) bool: where a step is real (t < lengths[b]); None when nothing is padded."""
        if self.lengths is None:
            return None
        return np.arange(self.T)[:, None] < self.lengths[None, :]

    @property
    def segmented(self) -> bool:
        """True when the chain has more than one part (an encoder–decoder, say)."""
        return len(self.stages) > 1

    def weight(self, segment: Segment, name: str) -> np.ndarray:
        """The parameter `name` (torch naming, e.g. weight_hh_l0) that `segment` runs with."""
        return self.params[segment.weights + name]

    def cell_weights(self, segment: Segment, suffix: str) -> dict[str, np.ndarray]:
        """The cell's extra weights (Cell.extra_weights, e.g. peepholes) of the layer/direction `suffix`
        (e.g. _l0_reverse) that `segment` runs with; {} for torch's cells."""
        return {name: self.weight(segment, name + suffix) for name in self.cell_impl.extra_weights}

    def cuts(self, reverse: bool) -> frozenset[int]:
        """The steps after which a direction's backward pass (`reverse`: one that runs from the last
        step back) carries nothing further back: the chain's detached hand-offs (truncation windows,
        Elman's context units)."""
        return cut_steps(self.chain, bool(reverse))

    def layer_record(self, layer: int, direction: int) -> LayerRecord:
        """The forward record of one layer/direction, as the backward pass and the Jacobians need it.
        A trace loaded from disk rebuilds the cell-private records (Cell.rebuild_extras) here."""
        s = self.arch.tag(layer, direction)
        cell = self.cell_impl
        h = self.activations[f"h{s}"]
        rec = LayerRecord(self.arch.reversed(layer, direction), h, None, self.activations.get(f"c{s}"),
                          h0=self.initial_state.get(f"h{s}"), c0=self.initial_state.get(f"c{s}"), valid=self.valid)
        if s not in self._private:
            private: dict[str, np.ndarray] = {}
            if cell.gates:
                private["act"] = np.concatenate([self.activations[f"{g}{s}"] for g in cell.gates], axis=-1)
            act, h_prev = private.get("act"), rec.h_prev_all()
            parts = [cell.rebuild_extras(h_prev[seg.span], None if act is None else act[seg.span],
                                         None if rec.c is None else rec.c[seg.span],
                                         self.weight(seg, f"weight_hh{s}"), self.weight(seg, f"bias_hh{s}"))
                     for seg in self.stages]            # each stage with its own weights
            private.update({name: rec.zero_padding(parts[0][name] if len(parts) == 1
                                                   else np.concatenate([p[name] for p in parts]))
                            for name in parts[0]})
            self._private[s] = private
        rec.act = self._private[s].get("act")
        rec.extra = {k: v for k, v in self._private[s].items() if k != "act"}
        return rec

    def remember(self, key: Any, compute) -> Any:
        """`derived[key]`, computed by `compute()` on first use (the analysis caches through this)."""
        if key not in self.derived:
            self.derived[key] = compute()
        return self.derived[key]
