"""An encoder–decoder run on one joined time axis: encoder steps t = 0..T_in−1, then decoder steps
t = T_in..T_in+T_out−1. The edge from h(T_in−1) into the decoder's first step is the context.

`JoinedSeq2SeqTrace` gives the page the same facts a `Trace` does (events, summary, diagnosis, weight
spectra), computed from the two halves. The flow matrix ‖∂L_k/∂h_t‖ crosses the context: each decoder
loss term is back-propagated alone (one copy of the batch per loss term, a few per run) through the
decoder, across the context and through the encoder.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from functools import cached_property

import numpy as np

from .analysis.decay import decay_bound, decay_factor
from .analysis.diagnosis import Finding, Thresholds, diagnose, gradient_decay, weight_spectra
from .analysis.jacobians import exact_jacobian_norms
from .analysis.summary import summarize
from .events import Event, replay
from .schedule import Segment, event_schedule
from .losses import IGNORE
from .patterns import Seq2Seq, Seq2SeqTrace, joint_names
from .norms import batch_mean_norm

FLOW_UNITS_PER_RUN = 1 << 19     # bounds K·T·B·H·layers of one flow run (~8× the server's largest trace)


def joined_segments(encoder_steps: int, steps: int) -> list[dict]:
    """[{name, start, stop}] of the encoder's and the decoder's steps on a joined axis of `steps`."""
    return [{"name": "encoder", "start": 0, "stop": encoder_steps},
            {"name": "decoder", "start": encoder_steps, "stop": steps}]


def joined_schedule(T_in: int, T_out: int, num_layers: int) -> dict:
    """The event schedule of a joined encoder–decoder stream (the encoder emits no outputs)."""
    return event_schedule(num_layers, 1, [Segment("encoder", 0, T_in, emits=False),
                                          Segment("decoder", T_in, T_in + T_out)])


def joined_event_count(T_in: int, T_out: int, num_layers: int) -> int:
    """How many events a joined encoder–decoder stream has."""
    return joined_schedule(T_in, T_out, num_layers)["total"]


def run_joined(model: Seq2Seq, x: np.ndarray, targets: np.ndarray, encoder_steps: int,
               loss: str = "cross_entropy") -> "JoinedSeq2SeqTrace":
    """Run `model` on joined inputs: x[:encoder_steps] is the encoder's input, x[encoder_steps:] the
    decoder's (teacher forced) and targets[encoder_steps:] its targets (targets before are ignored).
    Both halves read inputs of the same width (the decoder's: symbols + <go>)."""
    x = np.asarray(x)
    if not 0 < encoder_steps < x.shape[0]:
        raise ValueError(f"encoder_steps must split the {x.shape[0]} steps in two; got {encoder_steps}")
    trace = model.run(x[:encoder_steps], x[encoder_steps:], np.asarray(targets)[encoder_steps:], loss)
    return JoinedSeq2SeqTrace(model, trace)


def _pad(values: np.ndarray, before: int, after: int) -> np.ndarray:
    """values (n,) with NaN for the steps of the other half."""
    return np.concatenate([np.full(before, np.nan), np.asarray(values, np.float64), np.full(after, np.nan)])


class JoinedSeq2SeqTrace:
    """A Seq2SeqTrace seen on one time axis (T = T_in + T_out), with a Trace's page-facing facts."""

    def __init__(self, model: Seq2Seq, trace: Seq2SeqTrace) -> None:
        self.model = model
        self.parts = trace
        self.encoder, self.decoder = trace.encoder, trace.decoder
        self.T_in, self.T_out = self.encoder.T, self.decoder.T
        dec = self.decoder
        self.cell, self.num_layers, self.hidden_size = dec.cell, dec.num_layers, dec.hidden_size
        self.directions, self.bidirectional = 1, False
        self.input_size, self.output_size = dec.input_size, dec.output_size
        self.node_names = list(dec.node_names)
        self.loss_type, self.dtype, self.B = dec.loss_type, dec.dtype, dec.B
        self.bptt_window = None

    # -- the joined axis ----------------------------------------------------------------------
    T = property(lambda self: self.T_in + self.T_out, doc="encoder steps + decoder steps")
    loss = property(lambda self: self.parts.loss, doc="L = Σ_t L_t over the decoder's steps")
    grads = property(lambda self: self.parts.grads, doc="∂L/∂θ, keyed encoder.* and decoder.*")

    @property
    def segments(self) -> list[dict]:
        """[{name, start, stop}] of the encoder's and the decoder's steps."""
        return joined_segments(self.T_in, self.T)

    @property
    def mask(self) -> np.ndarray:
        """(T, B): which (step, element) carries a loss term (decoder steps only)."""
        return np.concatenate([np.zeros((self.T_in, self.B), bool), self.decoder.mask])

    @property
    def loss_t(self) -> np.ndarray:
        """(T,) per-step loss; zero at the encoder's steps."""
        return np.concatenate([np.zeros(self.T_in, self.decoder.loss_t.dtype), self.decoder.loss_t])

    @property
    def x(self) -> np.ndarray:
        """(T, B, I) the encoder's inputs, then the decoder's."""
        return np.concatenate([self.encoder.x, self.decoder.x])

    @property
    def targets(self) -> np.ndarray:
        """The decoder's targets, with "no target" (-100) at the encoder's steps."""
        dec = self.decoder.targets
        return np.concatenate([np.full((self.T_in,) + dec.shape[1:], IGNORE, dec.dtype), dec])

    @property
    def params(self) -> dict[str, np.ndarray]:
        """encoder.* (no head) and decoder.* parameters, as `Seq2Seq.state_dict()` names them."""
        return joint_names(self.encoder.params, self.decoder.params)

    @cached_property
    def activations(self) -> dict[str, np.ndarray]:
        """Every recorded activation on the joined axis; outputs (logits, probs) are NaN at the encoder's steps."""
        return self._joined(self.encoder.activations, self.decoder.activations)

    @cached_property
    def gradients(self) -> dict[str, np.ndarray]:
        """Every total gradient ∂L/∂(record) on the joined axis; ∂L/∂o is NaN at the encoder's steps."""
        return self._joined(self.encoder.gradients, self.decoder.gradients)

    def _joined(self, enc: dict, dec: dict) -> dict[str, np.ndarray]:
        out = {}
        for name, d in dec.items():
            e = enc[name] if name in enc and name not in ("logits", "probs") else np.full((self.T_in,) + d.shape[1:], np.nan)
            out[name] = np.concatenate([e.astype(d.dtype, copy=False), d])
        return out

    def events(self) -> Iterator[Event]:
        """The stream: encoder forward, decoder forward (states, outputs, losses), decoder backward,
        then the gradient crossing the context into the encoder, step by step back to t = 0."""
        enc = [e for e in replay(self.encoder) if e.node not in ("logits", "loss")]
        dec = [replace(e, t=e.t + self.T_in) for e in replay(self.decoder)]
        yield from (e for e in enc if e.phase == "forward")
        yield from dec
        yield from (e for e in enc if e.phase == "backward")

    @property
    def schedule(self) -> dict:
        """The stream's event schedule (engine.schedule): the encoder's blocks around the decoder's."""
        return joined_schedule(self.T_in, self.T_out, self.num_layers)

    @property
    def event_count(self) -> int:
        """len(list(self.events()))."""
        return joined_event_count(self.T_in, self.T_out, self.num_layers)

    # -- derived quantities -------------------------------------------------------------------
    @cached_property
    def gradient_norms(self) -> dict[str, np.ndarray]:
        """node → (T,) batch mean of ‖∂L/∂h_t‖ on the joined axis."""
        return {n: np.concatenate([self.encoder.gradient_norms[n], self.decoder.gradient_norms[n]])
                for n in self.node_names}

    @cached_property
    def jacobian_norms(self) -> dict[str, np.ndarray]:
        """node → (T,) batch mean of ‖∂s_t/∂s_{t−1}‖₂; at t = T_in it is the context edge's Jacobian
        (the decoder's first step with respect to the encoder's last state); NaN at t = 0."""
        cell = self.decoder.cell_impl
        S = cell.state_size(self.hidden_size)
        out = {}
        for k, node in enumerate(self.node_names):
            dec = self.decoder.jacobian_norms[node].astype(np.float64)
            with np.errstate(over="ignore", invalid="ignore"):
                dec[0] = exact_jacobian_norms(cell, self.decoder.layer_record(k, 0),
                                              self.decoder.params[f"weight_hh_l{k}"], np.array([0]), self.B, S)[0]
            out[node] = np.concatenate([self.encoder.jacobian_norms[node].astype(np.float64), dec])
        return out

    @cached_property
    def grad_contributions(self) -> dict[str, np.ndarray]:
        """parameter → (T,) its per-step contributions; NaN at the other half's steps."""
        return joint_names({k: _pad(v, 0, self.T_out) for k, v in self.encoder.grad_contributions.items()},
                           {k: _pad(v, self.T_in, 0) for k, v in self.decoder.grad_contributions.items()})

    def flow_matrix(self, node: str) -> tuple[np.ndarray, np.ndarray]:
        """(ks, M): M[j, t] = batch mean of ‖∂L_{ks[j]}/∂h_t‖ over the joined axis, for every decoder
        step ks that carries a loss (the encoder's columns are what crosses the context)."""
        if node not in self.node_names:
            raise ValueError(f"unknown node {node!r}; nodes are {', '.join(self.node_names)}")
        ks, table = self._flow
        return ks, table[node]

    @cached_property
    def _flow(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        ks = np.flatnonzero(self.decoder.mask.any(axis=1))          # decoder steps with a loss
        if len(ks) == 0:
            return ks + self.T_in, {n: np.zeros((0, self.T)) for n in self.node_names}
        # a few loss terms per run keep the copies of the batch to a few times the trace's own size
        units = self.T * self.B * self.hidden_size * self.num_layers
        per_run = max(1, FLOW_UNITS_PER_RUN // units)
        parts = [self._flow_rows(ks[i:i + per_run]) for i in range(0, len(ks), per_run)]
        return ks + self.T_in, {n: np.concatenate([p[n] for p in parts]) for n in self.node_names}

    def _flow_rows(self, ks: np.ndarray) -> dict[str, np.ndarray]:
        """node → (len(ks), T) rows of the flow matrix for decoder loss steps ks, in one run of K copies
        of the batch: copy j keeps only the targets of step ks[j], so its gradient is ∂L_{ks[j]}."""
        dec, enc = self.decoder, self.encoder
        K, B = len(ks), self.B
        tiled = lambda a: np.concatenate([a] * K, axis=1)      # noqa: E731  (T, B, …) → (T, K·B, …)
        picked = np.full((dec.T, K) + dec.targets.shape[1:], IGNORE, dtype=dec.targets.dtype)
        picked[ks, np.arange(K)] = dec.targets[ks]
        targets = picked.reshape((dec.T, K * B) + dec.targets.shape[2:])
        context = {name: tiled(v[None])[0] for name, v in dec.initial_state.items()}
        d_run = self.model.decoder.run(tiled(dec.x), targets, dec.loss_type, initial_state=context,
                                       contributions=False)
        e_run = self.model.encoder.run(tiled(enc.x), np.full((enc.T, K * B), IGNORE),
                                       final_state_grads=d_run.initial_state_grads, contributions=False)
        table = {}
        with np.errstate(over="ignore", invalid="ignore"):
            for n in self.node_names:
                parts = [batch_mean_norm(r.gradients[n].astype(np.float64).reshape(r.T, K, B, -1))
                         for r in (e_run, d_run)]
                table[n] = np.concatenate(parts, axis=0).T       # (K, T)
        return table

    def vanishing(self, node: str) -> dict:
        """‖∂L_k/∂h_t‖ for the last loss step k against the distance k − t, reaching into the encoder;
        the per-step factor fitted over both halves, σ_max the larger of the two W_hh's and the bound
        the larger of the two halves' bounds."""
        halves = [decay_bound(self.encoder, node), decay_bound(self.decoder, node)]
        sigma_max, bound = max(h[0] for h in halves), max(h[1] for h in halves)
        ks, matrix = self.flow_matrix(node)
        if len(ks) == 0:
            nan_t = np.full(self.T, np.nan)
            return {"k": None, "distance": nan_t, "norms": nan_t, "factor": float("nan"), "bound": bound,
                    "sigma_max": sigma_max}
        k = int(ks[-1])
        distance = k - np.arange(self.T, dtype=np.float64)
        distance[distance < 0] = np.nan
        norms = matrix[-1]
        return {"k": k, "distance": distance, "norms": norms, "factor": decay_factor(distance, norms),
                "bound": bound, "sigma_max": sigma_max}

    def summary(self) -> dict:
        """The same digest as `Trace.summary()`, on the joined axis, plus the segments."""
        return {**summarize(self), "segments": self.segments}

    def diagnose(self, thresholds: Thresholds = Thresholds()) -> list[Finding]:
        """Each half's findings on the joined axis (titled Encoder/Decoder), and the gradient's decay
        measured from the last loss back across the context into the encoder."""
        findings: list[Finding] = []
        for name, part, offset in (("Encoder", self.encoder, 0), ("Decoder", self.decoder, self.T_in)):
            for f in diagnose(part, thresholds, decay=False):     # the decay is measured on the joined axis
                findings.append(replace(f, t=None if f.t is None else f.t + offset,
                                        steps=[s + offset for s in f.steps], title=f"{name}: {f.title}"))
        broken = {f.node for f in findings if f.kind == "nonfinite"}
        for node in self.node_names:
            if node not in broken:                                # as diagnose: no decay fit through NaN/Inf
                findings += gradient_decay(self.vanishing(node), node, thresholds)
        return sorted(findings, key=lambda f: f.severity != "problem")

    def weight_spectra(self) -> dict[str, dict[str, float]]:
        """'encoder h_l0', 'decoder h_l0', …: each half's W_hh spectra."""
        out = {}
        for name, part in (("encoder", self.encoder), ("decoder", self.decoder)):
            out.update({f"{name} {node}": v for node, v in weight_spectra(part).items()})
        return out
