"""One direction of one layer unrolled in time: the forward recurrence and BPTT through it.

Only the recurrence loops over t; the input projections (and, as each backward block of
factor_block(T) steps finishes, ∂L/∂W_ih, ∂L/∂W_hh and the gradient sent to the layer below) are GEMMs
over a block's n·B rows, per stage of the run's chain (engine.chain: each with its own weights; the
backward `Carry` crosses from one stage into the one before; engine.grad_blocks, engine.weight_terms,
engine.input_projection). Arrays are time-first: (T, B, ·); the backward loop also accepts extra
leading dimensions between T and B (…), used to push several loss terms at once.
"""
from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from . import record_pool
from .cells import Cell, GradStep, StepRecord

FACTOR_BLOCK = 32       # the most backward steps whose local derivatives are computed in one vectorised pass
MIN_FACTOR_BLOCK = 8
SMALL_BLOCK_BYTES = 256 << 10   # a full block's scratch row this small is not worth more blocks


def factor_block(T: int, row_bytes: int) -> int:
    """Steps per block of a T-step run whose steps each take `row_bytes` of scratch (B · blocks·H ·
    itemsize): T/8, within [MIN_FACTOR_BLOCK, FACTOR_BLOCK], so a block's scratch (its factors,
    ∂L/∂(pre-activations), input projection) is about an eighth of a record or less — at T = 100 a
    32-step block's put the run's peak at 1.6× its trace. Where FACTOR_BLOCK steps of scratch are
    under SMALL_BLOCK_BYTES, FACTOR_BLOCK: more blocks would only add per-block Python overhead."""
    if FACTOR_BLOCK * row_bytes <= SMALL_BLOCK_BYTES:
        return FACTOR_BLOCK
    return max(MIN_FACTOR_BLOCK, min(FACTOR_BLOCK, T // 8))


@dataclass
class LayerRecord:
    """Everything the forward pass of one direction recorded: (T, B, ·) arrays."""

    reverse: bool
    h: np.ndarray                                   # (T, B, H)
    act: np.ndarray | None = None                   # (T, B, blocks·H) gate activations (gated cells)
    c: np.ndarray | None = None                     # (T, B, H) cell state (cells with a "c" state)
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    h0: np.ndarray | None = None                    # (B, H) initial state; None means zeros
    c0: np.ndarray | None = None                    # (B, H) initial cell state; None means zeros
    valid: np.ndarray | None = None                 # (T, B) bool: False at padding (lengths); None: all real
    _h_prev: np.ndarray | None = field(default=None, repr=False)
    _prev_block: dict = field(default_factory=dict, repr=False)    # previous_at's copies of the last block asked for

    @classmethod
    def allocate(cls, cell: Cell, T: int, B: int, H: int, reverse: bool, dtype,
                 valid: np.ndarray | None = None) -> "LayerRecord":
        """Preallocated records for a T-step run (`valid` (T, B): where steps are real, None: all)."""
        # every step's forward writes all of them (padding included: `clear`), so no zero-fill
        act = record_pool.empty((T, B, cell.blocks * H), dtype) if cell.gates else None
        c = record_pool.empty((T, B, H), dtype) if cell.has_cell_state else None
        return cls(reverse, record_pool.empty((T, B, H), dtype), act, c,
                   {name: record_pool.empty((T, B, H), dtype) for name in cell.extras}, valid=valid)

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

    def previous(self, values: np.ndarray, initial: np.ndarray | None = None,
                 steps: slice | np.ndarray = slice(None)) -> np.ndarray:
        """(n, B, H): at each t of `steps` (default all), a copy of the value at the step processed just
        before t (`initial`, default zeros, for the first; in a padded batch also where the step before is
        padding: a reverse direction's first real step)."""
        t = np.arange(self.T)[steps]
        p = t + 1 if self.reverse else t - 1
        out = values[np.clip(p, 0, self.T - 1)]                      # a copy, not a view
        fresh = ((p < 0) | (p >= self.T))[:, None, None]
        if self.valid is not None:
            fresh = fresh | ~self.previous_valid()[steps][..., None]
        if fresh.any():
            out = np.where(fresh, np.zeros_like(out) if initial is None else initial, out).astype(values.dtype)
        return out

    def previous_valid(self) -> np.ndarray:
        """(T, B) bool: the step processed just before t exists and is real (not padding)."""
        valid = self.valid if self.valid is not None else np.ones(self.h.shape[:2], dtype=bool)
        out = np.zeros_like(valid)
        if self.reverse:
            out[:-1] = valid[1:]
        else:
            out[1:] = valid[:-1]
        return out

    def padded(self, t: int) -> np.ndarray | None:
        """(B,) bool: the batch entries for which step t is padding; None when none is."""
        if self.valid is None or self.valid[t].all():
            return None
        return ~self.valid[t]

    def zero_padding(self, values: np.ndarray) -> np.ndarray:
        """A (T, B, ·) record with its padded entries set to 0, in place (unchanged without padding)."""
        if self.valid is not None:
            values[~self.valid] = 0
        return values

    def clear(self, t: int, pad: np.ndarray) -> None:
        """Zero step t's records of the padded entries `pad` (B,): padding records nothing."""
        for values in (self.h, self.c, self.act, *self.extra.values()):
            if values is not None:
                values[t][pad] = 0

    def h_prev_all(self) -> np.ndarray:
        """(T, B, H) the state each step reads, h(−1) included (built once, after the forward pass)."""
        if self._h_prev is None:
            self._h_prev = self.previous(self.h, self.h0)
        return self._h_prev

    def previous_at(self, values: np.ndarray, initial: np.ndarray | None, steps: slice | np.ndarray) -> np.ndarray:
        """previous(values, initial, steps), the last block asked for kept (issue 17: a backward block needs
        only its own steps' copy, and its GEMMs and norms ask again)."""
        if self._h_prev is not None and values is self.h:
            return self._h_prev[steps]
        block = (steps.start, steps.stop, steps.step) if isinstance(steps, slice) else None
        if block is not None and self._prev_block.get("block") == block and id(values) in self._prev_block:
            return self._prev_block[id(values)]
        out = self.previous(values, initial, steps)
        if block is not None:
            if self._prev_block.get("block") != block:
                self._prev_block = {"block": block}
            self._prev_block[id(values)] = out
        return out

    def h_prev_at(self, steps: slice | np.ndarray) -> np.ndarray:
        """h_prev_all()[steps], built for those steps only (previous_at)."""
        return self.previous_at(self.h, self.h0, steps)

    def step(self, t: int) -> StepRecord:
        """Views of step t, with the previous state (the initial state at the first processed step)."""
        p = t + 1 if self.reverse else t - 1
        first = p < 0 or p >= self.T
        if first:
            h_prev = self.h0 if self.h0 is not None else np.zeros_like(self.h[t])
            c_prev = None if self.c is None else (self.c0 if self.c0 is not None else np.zeros_like(self.h[t]))
        else:
            h_prev = self.h[p]
            c_prev = None if self.c is None else self.c[p]
            if self.valid is not None and not self.valid[p].all():    # b's first real step: its initial state
                keep = self.valid[p][:, None]
                h_prev = np.where(keep, h_prev, np.zeros_like(h_prev) if self.h0 is None else self.h0)
                if c_prev is not None:
                    c_prev = np.where(keep, c_prev, np.zeros_like(c_prev) if self.c0 is None else self.c0)
        return StepRecord(
            h=self.h[t],
            h_prev=h_prev,
            act=None if self.act is None else self.act[t],
            c=None if self.c is None else self.c[t],
            c_prev=c_prev,
            extra={k: v[t] for k, v in self.extra.items()},
        )

    def span(self, steps: slice | np.ndarray) -> StepRecord:
        """The records of `steps` as one StepRecord of (n, B, ·) arrays, the previous states included."""
        c_prev = None if self.c is None else self.previous_at(self.c, self.c0, steps)
        return StepRecord(h=self.h[steps], h_prev=self.h_prev_at(steps),
                          act=None if self.act is None else self.act[steps], c=None if self.c is None else self.c[steps],
                          c_prev=c_prev, extra={k: v[steps] for k, v in self.extra.items()})


def forward_direction(cell: Cell, xp: np.ndarray, w_hh: np.ndarray, b_hh: np.ndarray, rec: LayerRecord,
                      steps: Sequence[int] | None = None, start: int = 0,
                      weights: dict[str, np.ndarray] | None = None) -> Iterator[int]:
    """Run the recurrence over `steps` (default: every step, in this direction's order) with one
    segment's weights, writing into `rec`; xp[t − start] (B, blocks·H) = W_ih x_t + b_ih (+ b_hh if
    the cell folds it); `weights` are the cell's extra weights (Cell.extra_weights). Yields each t
    when its step is recorded."""
    # The cells multiply by w_hh.T: stored row-major, BLAS takes its untransposed path (float32 LSTM
    # step: 31 µs instead of 43 µs). Same values, same shape; only the memory order differs.
    w_hh = np.ascontiguousarray(w_hh.T).T
    for t in rec.forward_order() if steps is None else steps:
        step = rec.step(t)
        step.weights = weights or {}
        cell.forward(xp[t - start], step.h_prev, step.c_prev, w_hh, b_hh, step)
        pad = rec.padded(t)
        if pad is not None:
            rec.clear(t, pad)
        yield t


class BackwardSink:
    """Provides the buffers a backward step writes into, and sees each finished step."""

    initial: tuple = (None, None)      # set after the last step: gradients w.r.t. the initial state

    def buffers(self, t: int) -> GradStep:
        """Where step t's gradients go."""
        raise NotImplementedError

    def done(self, t: int, step: GradStep) -> None:
        """Called once step t's gradients are in `step`."""

    def begin_block(self, lo: int, hi: int) -> None:
        """Called before the backward steps of [lo, hi) (one factor block, ≤ factor_block(T) steps)."""

    def end_block(self, lo: int, hi: int) -> None:
        """Called once every step of [lo, hi) is done."""


class Carry:
    """The recurrent part of ∂L/∂h (and ∂L/∂c) a direction's backward pass carries from one step to
    the step processed before it, across the segments of a chain. `dh_final` / `dc_final` seed it at
    the last processed step (a gradient arriving from outside, e.g. a decoder reading this state)."""

    def __init__(self, cell: Cell, shape: tuple[int, ...], dtype, dh_final: np.ndarray | None = None,
                 dc_final: np.ndarray | None = None) -> None:
        self.dh = np.zeros(shape, dtype=dtype)                  # (…, B, H)
        self.dc = np.zeros_like(self.dh) if cell.has_cell_state else None
        if dh_final is not None:
            self.dh += dh_final
        if dc_final is not None and self.dc is not None:
            self.dc += dc_final
        self.zero_h, self.zero_c = self.dh * 0, None if self.dc is None else self.dc * 0

    def cut(self, keep: np.ndarray | None = None) -> None:
        """Nothing crosses into the step processed before (a detached hand-off, a truncation window),
        except for the batch entries `keep` (B,) (padding: their gradient passes through unchanged)."""
        if keep is None:
            self.dh, self.dc = self.zero_h, self.zero_c
            return
        self.pass_through(keep, self.zero_h, self.zero_c)

    def pass_through(self, keep: np.ndarray, dh: np.ndarray, dc: np.ndarray | None) -> None:
        """Replace the carried gradient by (dh, dc) except for the batch entries `keep` (B,)."""
        self.dh = np.where(keep[:, None], self.dh, dh)
        if self.dc is not None:
            self.dc = np.where(keep[:, None], self.dc, dc)


def backward_direction(cell: Cell, rec: LayerRecord, w_hh: np.ndarray, dh_out: np.ndarray, sink: BackwardSink,
                       carry: Carry, steps: Sequence[int] | None = None, start: int = 0,
                       cuts: Collection[int] = (), weights: dict[str, np.ndarray] | None = None) -> Iterator[int]:
    """BPTT through `steps` of one direction (default: every step, in backward order) with one
    segment's W_hh. dh_out[t − start] (…, B, H) is ∂L/∂h_t through the output path only (the head or
    the layer above); the cell adds the recurrent part in `carry`, which is left holding what goes to
    the step processed before. After a step in `cuts` nothing crosses back (truncated BPTT, a
    detached hand-off; Elman's context units cut every step). `weights`: the cell's extra weights. Yields each t once the step's
    gradients are in the sink; sets `sink.initial` at the direction's first processed step."""
    steps = rec.backward_order() if steps is None else steps
    first = rec.forward_order()[0]
    lo = 0
    factors: dict[str, np.ndarray] = {}
    hi, last = 0, len(steps) - 1
    size = factor_block(rec.T, rec.h.shape[1] * cell.blocks * rec.h.shape[2] * rec.h.dtype.itemsize)
    for n, t in enumerate(steps):
        if n % size == 0:      # a block's factors stay in cache; the whole run's would be T·B·blocks·H fresh
            block = steps[n:n + size]
            lo, hi = min(block), max(block) + 1
            factors = cell.backward_factors(rec.h[lo:hi], rec.h_prev_at(slice(lo, hi)), None if rec.act is None else rec.act[lo:hi],
                                            {name: v[lo:hi] for name, v in rec.extra.items()})
            sink.begin_block(lo, hi)
        step = sink.buffers(t)
        fac = {name: value[t - lo] for name, value in factors.items()}
        pad = rec.padded(t)
        rec_t = rec.step(t)
        rec_t.weights = weights or {}
        if pad is None:
            carry.dh, carry.dc = cell.backward(carry.dh, carry.dc, dh_out[t - start], rec_t, fac, w_hh, step)
        else:                      # a padded entry records zeros; its carried gradient passes through unchanged
            dh_next, dc_next = carry.dh.copy(), None if carry.dc is None else carry.dc.copy()
            new_dh, new_dc = cell.backward(carry.dh, carry.dc, dh_out[t - start], rec_t, fac, w_hh, step)
            clear_gradients(step, pad)
            carry.dh, carry.dc = dh_next, dc_next
            carry.pass_through(pad, new_dh, new_dc)
        sink.done(t, step)
        if t == first:
            sink.initial = (carry.dh, carry.dc)                      # ∂L/∂h(−1), ∂L/∂c(−1)
        if t in cuts:
            carry.cut(pad)
        if n % size == size - 1 or n == last:
            sink.end_block(lo, hi)
        yield t


def clear_gradients(step: GradStep, pad: np.ndarray) -> None:
    """Zero a backward step's gradients of the padded batch entries `pad` (B,)."""
    for values in (step.dh, step.dz_ih, step.dz_hh, step.dgates, step.dc):
        if values is not None:
            values[..., pad, :] = 0


class RecordingSink(BackwardSink):
    """Keeps every gradient of a direction that the trace shows: ∂L/∂h_t, ∂L/∂c_t and the gate
    gradients. ∂L/∂(pre-activations) lives only for one block of steps: `on_block(lo, hi, dz_ih, dz_hh)`
    (set by the caller) consumes each finished block, (hi − lo, B, blocks·H) in time order — the
    whole run's would be T·B·blocks·H bytes that nothing shows."""

    def __init__(self, cell: Cell, T: int, B: int, H: int, dtype) -> None:
        rows = cell.blocks * H
        self.cell = cell
        # every backward step writes all of them (padding included: clear_gradients)
        self.dh = record_pool.empty((T, B, H), dtype)
        self.dc = record_pool.empty((T, B, H), dtype) if cell.has_cell_state else None
        self.dgates = record_pool.empty((T, B, rows), dtype) if cell.gates else None   # ∂L/∂gate, block order
        self.gates = cell.gate_views(self.dgates) if cell.gates else {}
        n = min(T, factor_block(T, B * rows * np.dtype(dtype).itemsize))
        self.dz_ih = record_pool.empty((n, B, rows), dtype)                    # the current block's, from lo
        self.dz_hh = record_pool.empty((n, B, rows), dtype) if cell.separate_hh_grad else self.dz_ih
        self.on_block = None
        self._lo = 0

    def begin_block(self, lo: int, hi: int) -> None:
        """Step t of [lo, hi) writes its ∂L/∂(pre-activations) at row t − lo of the block buffers."""
        self._lo = lo

    def buffers(self, t: int) -> GradStep:
        """Views of step t in the records (and in the block buffers)."""
        r = t - self._lo
        return GradStep(self.dh[t], self.dz_ih[r], self.dz_hh[r],
                        None if self.dgates is None else self.dgates[t], None if self.dc is None else self.dc[t])

    def dz_at(self, t: int) -> np.ndarray:
        """(B, blocks·H) ∂L/∂(input pre-activations) of step t of the current block."""
        return self.dz_ih[t - self._lo]

    def end_block(self, lo: int, hi: int) -> None:
        """Hand the finished block to `on_block`."""
        if self.on_block is not None:
            dz_ih = self.dz_ih[:hi - lo]
            # one view when the cell has one ∂L/∂z: weight_terms reuses its Gram matrix and bias sum (`is`)
            dz_hh = dz_ih if self.dz_hh is self.dz_ih else self.dz_hh[:hi - lo]
            self.on_block(lo, hi, dz_ih, dz_hh)
