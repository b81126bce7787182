"""Runs a network step by step, filling a Trace and yielding an Event after every cell step."""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .events import Event, hidden_event, output_event
from .layer import (LayerRecord, RecordingSink, backward_direction, forward_direction, outer_sum_norms,
                    weight_contributions, weight_gradients)
from .losses import compute_loss, target_mask
from .params import Architecture
from .trace import Trace


class StepRun:
    """An in-progress run: iterate it for Events; `trace` is the finished Trace once exhausted."""

    def __init__(self, arch: Architecture, params: dict[str, np.ndarray], x: np.ndarray, targets: np.ndarray,
                 loss: str, initial_state: dict[str, np.ndarray] | None = None, emit: bool = True,
                 final_state_grads: dict[str, np.ndarray] | None = None, bptt_window: int | None = None,
                 contributions: bool = True) -> None:
        """A run of the network (arch, params) on checked inputs (`Network.steps` / `Network.run`
        build it); `params` is the run's own copy of the state dict."""
        self.trace: Trace | None = None
        self._partial = Trace(arch, loss, x, targets, target_mask(targets, loss), params)
        self._partial.initial_state = dict(initial_state or {})
        self._partial.final_state_grads = dict(final_state_grads or {})
        self._partial.bptt_window = bptt_window
        self._emit = emit
        self._contributions = contributions
        self._gen = self._generate()

    def __iter__(self) -> "StepRun":
        return self

    def __next__(self) -> Event:
        return next(self._gen)

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
        tr = self._partial
        arch, cell, p = tr.arch, tr.cell_impl, tr.params
        T, B = tr.T, tr.B
        H, D, dtype = arch.hidden_size, arch.directions, tr.dtype
        emit = self._emit
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            # ---- forward, layer by layer ----
            records: dict[tuple[int, int], LayerRecord] = {}
            inputs: list[np.ndarray] = []                      # what each layer reads, (T, B, I_k)
            layer_input = tr.x
            for k in range(arch.num_layers):
                inputs.append(layer_input)
                for d in range(D):
                    s = f"_l{k}{arch.suffix(d)}"
                    rec = records[k, d] = LayerRecord.allocate(cell, T, B, H, bool(d), dtype)
                    rec.h0 = tr.initial_state.get(f"h{s}")
                    rec.c0 = tr.initial_state.get(f"c{s}")
                    self._expose(tr.activations, s, rec.h, rec.c, cell.gate_views(rec.act) if cell.gates else {})
                    tr._private[s] = {"act": rec.act, **rec.extra}
                    bias = p[f"bias_ih{s}"] + p[f"bias_hh{s}"] if cell.folds_hh_bias else p[f"bias_ih{s}"]
                    xp = (layer_input.reshape(T * B, -1) @ p[f"weight_ih{s}"].T
                          + bias).reshape(T, B, -1)                       # (T, B, blocks·H) all steps in one GEMM
                    for t in forward_direction(cell, xp, p[f"weight_hh{s}"], p[f"bias_hh{s}"], rec):
                        if emit:
                            yield hidden_event(tr, "forward", k, d, t)
                layer_input = np.concatenate([records[k, d].h for d in range(D)], axis=-1) if D > 1 \
                    else records[k, 0].h
            top = layer_input                                                  # (T, B, D·H)
            logits = (top.reshape(T * B, -1) @ p["head.weight"].T + p["head.bias"]).reshape(T, B, -1)
            result = compute_loss(logits, tr.targets, tr.loss_type)
            tr.activations["logits"] = logits
            tr.gradients["logits"] = result.dlogits
            if result.probs is not None:
                tr.activations["probs"] = result.probs
                tr.gradients["probs"] = result.dprobs
            tr.loss_t = result.loss_t
            tr.loss = float(result.loss_t.sum())
            if emit:
                for t in range(T):
                    yield output_event(tr, "forward", "logits", t)
                    yield output_event(tr, "forward", "loss", t)
                for t in range(T - 1, -1, -1):
                    yield output_event(tr, "backward", "logits", t)

            # ---- backward: the head, then BPTT from the top layer down ----
            dlogits = result.dlogits                                           # (T, B, O)
            O = dlogits.shape[-1]
            tr.grads["head.weight"] = dlogits.reshape(T * B, O).T @ top.reshape(T * B, -1)
            tr.grads["head.bias"] = dlogits.sum(axis=(0, 1))
            if self._contributions:
                tr.grad_contributions["head.weight"] = outer_sum_norms(dlogits, top)
                tr.grad_contributions["head.bias"] = np.linalg.norm(dlogits.sum(axis=1), axis=-1)
            d_above = dlogits @ p["head.weight"]                               # (T, B, D·H) output path
            for k in reversed(range(arch.num_layers)):
                d_below = np.zeros_like(inputs[k])
                for d in range(D):
                    s = f"_l{k}{arch.suffix(d)}"
                    sink = RecordingSink(cell, T, B, H, dtype)
                    self._expose(tr.gradients, s, sink.dh, sink.dc, sink.gates)
                    steps = backward_direction(cell, records[k, d], p[f"weight_hh{s}"],
                                               d_above[..., d * H:(d + 1) * H], sink,
                                               tr.final_state_grads.get(f"h{s}"), tr.final_state_grads.get(f"c{s}"),
                                               window=tr.bptt_window)
                    for t in steps:
                        if emit:
                            yield hidden_event(tr, "backward", k, d, t)
                    dh0, dc0 = sink.initial
                    tr.initial_state_grads[f"h{s}"] = dh0
                    if dc0 is not None:
                        tr.initial_state_grads[f"c{s}"] = dc0
                    for name, g in weight_gradients(sink, records[k, d], inputs[k]).items():
                        tr.grads[f"{name}{s}"] = g
                    if self._contributions:
                        for name, n in weight_contributions(sink, records[k, d], inputs[k]).items():
                            tr.grad_contributions[f"{name}{s}"] = n
                    d_below += sink.dz_ih @ p[f"weight_ih{s}"]               # ∂L/∂(layer input), one GEMM
                d_above = d_below
        tr.grads = {name: tr.grads[name] for name in arch.shapes()}            # state_dict order
        if self._contributions:
            tr.grad_contributions = {name: tr.grad_contributions[name] for name in arch.shapes()}
        self.trace = tr

    @staticmethod
    def _expose(table: dict, suffix: str, h, c, gates: dict) -> None:
        """Publish a direction's record arrays under their trace names (h_l0, c_l0, i_l0, ...)."""
        table[f"h{suffix}"] = h
        if c is not None:
            table[f"c{suffix}"] = c
        for name, value in gates.items():
            table[f"{name}{suffix}"] = value
