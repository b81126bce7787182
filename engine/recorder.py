"""Runs a network step by step, filling a Trace and yielding an Event after every cell step."""
from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from . import record_pool
from .events import Event, hidden_event, output_event
from .chain import Segment, check_chain, plain_chain, stages, steps_where, weight_layout
from .grad_blocks import DirectionGradients
from .input_projection import BlockProjection
from .layer import FACTOR_BLOCK, Carry, LayerRecord, RecordingSink, backward_direction, forward_direction
from .weight_terms import gram, gram_norms, outer_sum_norms
from .losses import IGNORE, compute_loss, target_mask
from .params import EMBEDDING, Architecture
from .readout import FINAL_STATE, FinalStateOutputs, allocate_head_records, one_target_per_sequence
from .trace import Trace


class StepRun:
    """An in-progress run: iterate it for Events; `trace` is the finished Trace once exhausted."""

    def __init__(self, arch: Architecture, params: dict[str, np.ndarray], x: np.ndarray, targets: np.ndarray,
                 loss: str, initial_state: dict[str, np.ndarray] | None = None, emit: bool = True,
                 final_state_grads: dict[str, np.ndarray] | None = None, contributions: bool = True,
                 chain: Sequence[Segment] | None = None, lengths: np.ndarray | None = None, dtype=None,
                 loss_reduction: str = "step_mean", output_grads: np.ndarray | None = None) -> None:
        """A run of the model (arch, params) on checked inputs over a chain of segments (engine.chain;
        default one segment, the plain network); `Network.steps` / `Network.run` / `Seq2Seq.run` build
        it. `params` is the run's own copy of the state dict (arch.shapes(chain)'s names). The
        targets of silent segments' steps are dropped (-100), and so are those of padding (`lengths`,
        checked (B,) ints in [1, T]); x is token ids (T, B) when the architecture has an embedding.
        `loss_reduction` (engine.losses.REDUCTIONS, checked) weights the loss terms; with
        arch.readout == "final_state" each element's one target moves to row T − 1 (engine.readout)."""
        chain = check_chain(chain if chain is not None else plain_chain(x.shape[0]), x.shape[0])
        if len(stages(chain)) > 1 and arch.reads_future:
            raise ValueError("a chain of segments needs a unidirectional forward network "
                             "(a reverse direction reads the future)")
        if not all(seg.emits for seg in chain):
            targets = np.array(targets, copy=True)
            targets[steps_where(chain, lambda seg: not seg.emits)] = IGNORE
        if arch.readout == FINAL_STATE:
            targets = one_target_per_sequence(targets, loss)
        elif lengths is not None:
            targets = np.array(targets, copy=True)
            targets[np.arange(x.shape[0])[:, None] >= lengths[None, :]] = IGNORE      # padding carries no loss
        self.trace: Trace | None = None
        self._partial = Trace(arch, loss, x, targets, target_mask(targets, loss), params, chain,
                              dtype=dtype if dtype is not None else x.dtype, lengths=lengths)
        self._partial.loss_reduction = loss_reduction
        self._partial.initial_state = dict(initial_state or {})
        self._partial.final_state_grads = dict(final_state_grads or {})
        self._partial.output_grads = output_grads     # issue 21: ∂L/∂(top outputs) from an outer head (checked)
        self._emit = emit
        self._contributions = contributions
        self._gen = self._generate()

    def __iter__(self) -> "StepRun":
        return self

    def __next__(self) -> Event:
        return next(self._gen)

    @property
    def schedule(self) -> dict:
        """The run's event schedule (engine.schedule), known before its first step."""
        return self._partial.schedule

    @property
    def stages(self) -> tuple[Segment, ...]:
        """The parts of the run's chain (engine.chain.stages), known before its first step."""
        return self._partial.stages

    def close(self) -> None:
        """Stop early and release the work in progress."""
        self._gen.close()

    def run_to_end(self) -> Trace:
        """Consume every remaining step and return the finished trace."""
        for _ in self._gen:
            pass
        assert self.trace is not None
        return self.trace

    def _generate(self) -> Iterator[Event]:
        """Forward stage by stage (each layer by layer, then its outputs), backward through the
        stages in reverse (each one's outputs, then its layers top-down), in the event schedule's
        order (engine.schedule); the weight gradients are summed per weight prefix at the end."""
        tr = self._partial
        arch, cell = tr.arch, tr.cell_impl
        T, B, L, D, H, dtype = tr.T, tr.B, arch.num_layers, arch.directions, arch.hidden_size, tr.dtype
        emit = self._emit
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            records: dict[tuple[int, int], LayerRecord] = {}
            for k in range(L):
                for d in range(D):
                    s = arch.tag(k, d)
                    rec = records[k, d] = LayerRecord.allocate(cell, T, B, H, arch.reversed(k, d), dtype, tr.valid)
                    rec.h0 = tr.initial_state.get(f"h{s}")
                    rec.c0 = tr.initial_state.get(f"c{s}")
                    self._expose(tr.activations, s, rec.h, rec.c, cell.gate_views(rec.act) if cell.gates else {})
                    tr._private[s] = {"act": rec.act, **rec.extra}
            out = FinalStateOutputs(tr) if arch.readout == FINAL_STATE else _Outputs(tr)
            embedding = _Embedding(tr) if arch.embedded else None
            inputs: list[np.ndarray] = [tr.x if embedding is None else embedding.e] * L   # each layer's input, (T, B, I_k)
            # ---- forward, stage by stage (engine.chain.stages), layer by layer ----
            for seg in tr.stages:
                a = seg.start
                if embedding is not None:
                    embedding.forward(seg)
                for k in range(L):
                    inputs[k] = inputs[0] if k == 0 else _layer_output(records, k - 1, D)
                    for d in range(D):
                        s = arch.tag(k, d)
                        w_hh, b_hh = tr.weight(seg, f"weight_hh{s}"), tr.weight(seg, f"bias_hh{s}")
                        bias = tr.weight(seg, f"bias_ih{s}") + b_hh if cell.folds_hh_bias else tr.weight(seg, f"bias_ih{s}")
                        xp = BlockProjection(inputs[k][seg.span], tr.weight(seg, f"weight_ih{s}"), bias)
                        steps = range(seg.stop - 1, a - 1, -1) if arch.reversed(k, d) else range(a, seg.stop)
                        for t in forward_direction(cell, xp, w_hh, b_hh, records[k, d], steps, start=a,
                                                   weights=tr.cell_weights(seg, s)):
                            if emit:
                                yield hidden_event(tr, "forward", k, d, t)
                if seg.emits:
                    out.forward(seg, _layer_output(records, L - 1, D))
                    if emit:
                        for t in range(a, seg.stop):
                            yield output_event(tr, "forward", "logits", t)
                            yield output_event(tr, "forward", "loss", t)
            tr.loss = float(tr.loss_t[steps_where(tr.chain, lambda seg: seg.emits)].sum())
            xp = None                   # the last projection block's buffer is not needed by the backward pass

            # ---- backward through the stages in reverse: outputs, then BPTT from the top layer down ----
            top = _layer_output(records, L - 1, D)
            # ∂L/∂h through the output path; the top layer's, when only the per-step head sends it, is
            # computed one block of steps at a time as BPTT reaches them (_Outputs.blocks_d_top)
            head_only = tr.output_grads is None and isinstance(out, _Outputs)
            d_out = [None if k == L - 1 and head_only else record_pool.zeros((T, B, D * H), dtype) for k in range(L)]
            if tr.output_grads is not None:                                   # issue 21: an outer head's gradient
                d_out[L - 1] += tr.output_grads
            sinks, carries, accs = {}, {}, {}
            if embedding is None:                                      # issue 21: ∂L/∂x_t
                tr.input_grads = record_pool.zeros((T, B, arch.input_size), dtype)
            for k in reversed(range(L)):
                for d in range(D):
                    s = arch.tag(k, d)
                    sinks[k, d] = RecordingSink(cell, T, B, H, dtype)
                    below = d_out[k - 1] if k > 0 else tr.input_grads if embedding is None else embedding.de
                    if k == 0 and embedding is not None and emit:
                        below = None                           # ∂L/∂e_t step by step: layer 0's events show it
                    accs[k, d] = DirectionGradients(tr, k, d, records[k, d], inputs[k], below, self._contributions)
                    sinks[k, d].on_block = accs[k, d].block
                    self._expose(tr.gradients, s, sinks[k, d].dh, sinks[k, d].dc, sinks[k, d].gates)
                    carries[k, d] = Carry(cell, (B, H), dtype, tr.final_state_grads.get(f"h{s}"),
                                          tr.final_state_grads.get(f"c{s}"))
            for seg in reversed(tr.stages):
                a = seg.start
                if seg.emits:
                    if emit:
                        for t in range(seg.stop - 1, a - 1, -1):
                            yield output_event(tr, "backward", "logits", t)
                    if not head_only:
                        out.add_d_top(seg, d_out[L - 1][seg.span])    # added: output_grads may be there already
                for k in reversed(range(L)):
                    for d in range(D):
                        s = arch.tag(k, d)
                        steps = range(a, seg.stop) if arch.reversed(k, d) else range(seg.stop - 1, a - 1, -1)
                        accs[k, d].segment = seg              # its blocks feed the layer below, ∂L/∂W, …
                        dh_out = (out.blocks_d_top(seg, d) if d_out[k] is None
                                  else d_out[k][seg.span, :, d * H:(d + 1) * H])
                        for t in backward_direction(cell, records[k, d], tr.weight(seg, f"weight_hh{s}"),
                                                    dh_out, sinks[k, d],
                                                    carries[k, d], steps, start=a, cuts=tr.cuts(arch.reversed(k, d)),
                                                    weights=tr.cell_weights(seg, s)):
                            if emit:
                                if k == 0 and embedding is not None:    # ∂L/∂e_t, complete after the last direction
                                    embedding.de[t] += sinks[0, d].dz_at(t) @ tr.weight(seg, f"weight_ih{s}")
                                yield hidden_event(tr, "backward", k, d, t)
            out.head_gradients(top, self._contributions)
            if embedding is not None:
                embedding.table_gradients(self._contributions)
            for k in reversed(range(L)):
                for d in range(D):
                    self._layer_gradients(k, d, sinks[k, d], accs[k, d])
        names = arch.shapes(tr.chain)
        tr.grads = {name: tr.grads[name] for name in names}                     # state_dict order
        if self._contributions:
            tr.grad_contributions = {name: tr.grad_contributions[name] for name in names}
        self.trace = tr

    def _layer_gradients(self, k: int, d: int, sink: RecordingSink, acc: DirectionGradients) -> None:
        """∂L/∂h(−1) of a direction and its weight gradients (summed per weight prefix over the blocks)."""
        tr = self._partial
        s = tr.arch.tag(k, d)
        dh0, dc0 = sink.initial
        tr.initial_state_grads[f"h{s}"] = dh0
        if dc0 is not None:
            tr.initial_state_grads[f"c{s}"] = dc0
        tr.grads.update(acc.grads)
        tr.grad_contributions.update(acc.norms)

    @staticmethod
    def _expose(table: dict, suffix: str, h, c, gates: dict) -> None:
        """Publish a direction's record arrays under their trace names (h_l0, c_l0, i_l0, ...)."""
        table[f"h{suffix}"] = h
        if c is not None:
            table[f"c{suffix}"] = c
        for name, value in gates.items():
            table[f"{name}{suffix}"] = value


def _layer_output(records: dict[tuple[int, int], LayerRecord], k: int, D: int) -> np.ndarray:
    """(T, B, D·H): what layer k hands up (its directions' states side by side)."""
    return records[k, 0].h if D == 1 else np.concatenate([records[k, d].h for d in range(D)], axis=-1)


def on_axis(values: np.ndarray, steps: slice | np.ndarray, T: int) -> np.ndarray:
    """Per-step values of `steps` placed on the whole time axis, NaN at the other steps."""
    if isinstance(steps, slice) and steps.indices(T)[:2] == (0, T):
        return values
    full = np.full((T,) + values.shape[1:], np.nan, dtype=values.dtype)
    full[steps] = values
    return full


class _Outputs:
    """The head and loss records of a run: logits, probabilities and their gradients, NaN at the
    steps of silent segments; the per-step losses, zero there."""

    def __init__(self, tr: Trace) -> None:
        self.tr = tr
        self.logits, self.dlogits = allocate_head_records(tr)

    def forward(self, seg: Segment, top: np.ndarray) -> None:
        """The head and the loss on an emitting segment's steps."""
        tr, n = self.tr, seg.steps
        B = tr.B
        logits = (top[seg.span].reshape(n * B, -1) @ tr.weight(seg, "head.weight").T
                  + tr.weight(seg, "head.bias")).reshape(n, B, -1)
        result = compute_loss(logits, tr.targets[seg.span], tr.loss_type, tr.loss_reduction, int(tr.mask.sum()))
        self.logits[seg.span] = logits
        self.dlogits[seg.span] = result.dlogits
        if result.probs is not None:
            tr.activations["probs"][seg.span] = result.probs
            tr.gradients["probs"][seg.span] = result.dprobs
        tr.loss_t[seg.span] = result.loss_t
        valid = tr.valid
        if valid is not None:                                       # padding records zeros
            pad = ~valid[seg.span]
            for table in (tr.activations, tr.gradients):
                for name in ("logits", "probs"):
                    if name in table:
                        table[name][seg.span][pad] = 0

    def add_d_top(self, seg: Segment, into: np.ndarray) -> None:
        """Add ∂L/∂(top layer's output) through the head on a segment's steps into `into` (n, B, D·H),
        one block of steps at a time (a whole-segment product would be one more (T, B, D·H) at the peak)."""
        dlogits, head = self.dlogits[seg.span], self.tr.weight(seg, "head.weight")
        for lo in range(0, len(dlogits), FACTOR_BLOCK):
            into[lo:lo + FACTOR_BLOCK] += dlogits[lo:lo + FACTOR_BLOCK] @ head

    def blocks_d_top(self, seg: Segment, direction: int) -> BlockProjection | np.ndarray:
        """∂L/∂h_t of the top layer's `direction` through the head on a segment's steps, indexed by
        t − seg.start and computed one block of steps at a time: dlogits_t V[:, direction's columns]."""
        tr = self.tr
        H = tr.hidden_size
        if not seg.emits:                                            # a silent stage (an encoder): no head
            return np.broadcast_to(np.zeros((tr.B, H), dtype=tr.dtype), (seg.stop - seg.start, tr.B, H))
        head = tr.weight(seg, "head.weight")[:, direction * H:(direction + 1) * H]    # (O, H)
        return BlockProjection(self.dlogits[seg.span], head.T, None)

    def head_gradients(self, top: np.ndarray, contributions: bool) -> None:
        """∂L/∂V, ∂L/∂c of every head, summed over the steps of the segments that use it."""
        tr = self.tr
        for prefix, has_head in weight_layout(tr.chain).items():
            if not has_head:
                continue
            steps = steps_where(tr.chain, lambda seg: seg.emits and seg.weights == prefix)
            dl, h = self.dlogits[steps], top[steps]
            n, B, O = dl.shape
            tr.grads[f"{prefix}head.weight"] = dl.reshape(n * B, O).T @ h.reshape(n * B, -1)
            tr.grads[f"{prefix}head.bias"] = dl.sum(axis=(0, 1))
            if contributions:
                tr.grad_contributions[f"{prefix}head.weight"] = on_axis(outer_sum_norms(dl, h), steps, tr.T)
                tr.grad_contributions[f"{prefix}head.bias"] = on_axis(np.linalg.norm(dl.sum(axis=1), axis=-1),
                                                                      steps, tr.T)


class _Embedding:
    """The token table in front of the first layer: e_t = E[x_t] (zeros at padding), ∂L/∂e_t, and
    ∂L/∂E = Σ_t Σ_b onehot(x_tb) ∂L/∂e_tbᵀ (only the rows of tokens that occur are non-zero)."""

    def __init__(self, tr: Trace) -> None:
        self.tr = tr
        shape = (tr.T, tr.B, tr.input_size)
        tr.activations["embedding"] = self.e = record_pool.zeros(shape, tr.dtype)
        tr.gradients["embedding"] = self.de = record_pool.zeros(shape, tr.dtype)

    def forward(self, seg: Segment) -> None:
        """Look up a stage's rows in its own table."""
        self.e[seg.span] = self.tr.weight(seg, EMBEDDING)[self.tr.x[seg.span]]
        valid = self.tr.valid
        if valid is not None:
            self.e[seg.span][~valid[seg.span]] = 0

    def table_gradients(self, contributions: bool) -> None:
        """∂L/∂E of every weight prefix, and the per-step norms ‖Σ_b onehot(x_tb) ∂L/∂e_tbᵀ‖_F."""
        tr = self.tr
        for prefix in weight_layout(tr.chain):
            steps = steps_where(tr.chain, lambda seg: seg.weights == prefix)
            ids, de = tr.x[steps], self.de[steps]
            table = np.zeros_like(tr.params[f"{prefix}{EMBEDDING}"])
            np.add.at(table, ids.reshape(-1), de.reshape(-1, de.shape[-1]))
            tr.grads[f"{prefix}{EMBEDDING}"] = table
            if contributions:
                same = (ids[:, :, None] == ids[:, None, :]).astype(tr.dtype)     # gram of the one-hot rows
                tr.grad_contributions[f"{prefix}{EMBEDDING}"] = on_axis(gram_norms(same, gram(de)), steps, tr.T)
