"""What a direction's ∂L/∂(pre-activations) feed, consumed one backward block at a time.

A RecordingSink (engine.layer) keeps ∂L/∂(pre-activations) only for the current block of steps (layer.factor_block);
each finished block is handed to `DirectionGradients.block`, which adds its share to the weight
gradients (summed per weight prefix), writes its steps' contribution norms and sends the gradient
to what feeds the layer (the layer below, the embedding or ∂L/∂x_t). No T-long pre-activation
gradient is ever allocated: the trace's peak stays close to its own bytes (issue 17).
"""
from __future__ import annotations

import numpy as np

from .chain import Segment
from .layer import LayerRecord
from .weight_terms import weight_contributions, weight_gradients


class DirectionGradients:
    """Sums one layer/direction's weight gradients and contribution norms over the backward blocks.

    `below` (T, B, ·), if given, receives Σ ∂L/∂z_ih · W_ih per step: the output-path gradient of
    the layer below, the embedding's ∂L/∂e_t or ∂L/∂x_t (added to, never overwritten)."""

    def __init__(self, tr, layer: int, direction: int, rec: LayerRecord, layer_input: np.ndarray,
                 below: np.ndarray | None, contributions: bool) -> None:
        self.tr, self.rec, self.layer_input, self.below = tr, rec, layer_input, below
        self.suffix = tr.arch.tag(layer, direction)
        self.contributions = contributions
        self.grads: dict[str, np.ndarray] = {}       # full parameter name → gradient so far
        self.norms: dict[str, np.ndarray] = {}       # full parameter name → (T,) norms, NaN at other prefixes' steps
        self.segment: Segment | None = None

    def block(self, lo: int, hi: int, dz_ih: np.ndarray, dz_hh: np.ndarray) -> None:
        """Consume the steps [lo, hi) of the current segment (`self.segment`, set by the caller)."""
        tr, seg, s, steps = self.tr, self.segment, self.suffix, slice(lo, hi)
        cell = tr.cell_impl
        if self.below is not None:
            self.below[steps] += dz_ih @ tr.weight(seg, f"weight_ih{s}")
        for name, g in weight_gradients(cell, dz_ih, dz_hh, self.rec, self.layer_input, steps).items():
            key = f"{seg.weights}{name}{s}"
            if key in self.grads:
                self.grads[key] += g
            else:
                self.grads[key] = g
        if self.contributions:
            for name, norms in weight_contributions(cell, dz_ih, dz_hh, self.rec, self.layer_input, steps).items():
                key = f"{seg.weights}{name}{s}"
                if key not in self.norms:
                    self.norms[key] = np.full(tr.T, np.nan, dtype=norms.dtype)
                self.norms[key][steps] = norms
