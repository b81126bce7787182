"""The usage patterns beyond many-to-many: test-time generation (one-to-many) and encoder–decoder.

Many-to-one needs nothing new (targets of -100 everywhere but the last step); Elman's context
units are `Network.run(..., recurrent_gradient=False)`. The encoder–decoder is one model on one
time axis, a chain of two segments (engine.chain) recorded in one Trace.
"""
from __future__ import annotations

import numpy as np

from .chain import Chain, Segment
from .losses import IGNORE
from .network import Network
from .params import Architecture, ArchitectureFacts
from .recorder import StepRun
from .sample import next_distribution
from .tbptt import state_at
from .trace import Trace


def free_run(net: Network, first_input: np.ndarray, steps: int, mode: str = "argmax", temperature: float = 1.0,
             seed: int = 0, initial_state: dict[str, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Test-time unrolling (one-to-many): the output at t, chosen by argmax or sampled from
    softmax(o_t / temperature), is fed back as the one-hot input at t+1. Returns (x (T, B, I) — the
    inputs the network read, tokens (T, B) — what it emitted). Run `net.run(x, targets)` on the
    returned x for the full record: the fed-back inputs are constants there (a sampled or argmax
    token carries no gradient). `engine.sample.sample` is the same loop after a prime sequence.
    `initial_state` starts it from h(−1) (and c(−1)), e.g. an encoder's context."""
    if net.arch.reads_future:
        raise ValueError("a bidirectional network (or one with a reverse-only layer) cannot generate: its reverse "
                         "direction needs the future")
    if net.input_size < net.output_size:
        raise ValueError(f"feeding outputs back needs input_size ≥ output_size (output o is fed back as input "
                         f"unit o); got {net.input_size} and {net.output_size}")
    if mode not in ("argmax", "sample"):
        raise ValueError(f"mode must be 'argmax' or 'sample'; got {mode!r}")
    if not (np.isfinite(temperature) and temperature > 0):
        raise ValueError("temperature must be a positive number")
    first = np.asarray(first_input, dtype=net.dtype)
    first = first[None] if first.ndim == 1 else first
    if first.ndim != 2 or first.shape[1] != net.input_size:
        raise ValueError(f"first_input must have shape (B, {net.input_size}); got {np.shape(first_input)}")
    B, V = first.shape
    rng = np.random.default_rng(seed)
    xs, tokens = np.zeros((steps, B, V), net.dtype), np.zeros((steps, B), np.int64)
    no_target = np.full((1, B), IGNORE)
    state = initial_state
    xs[0] = first
    for t in range(steps):
        step = net.run(xs[t:t + 1], no_target, initial_state=state, contributions=False)   # one step, state carried
        state = state_at(step, -1)
        logits = step.activations["logits"][0]                                            # (B, V)
        if mode == "argmax" or not np.isfinite(logits).all():
            tokens[t] = np.argmax(np.nan_to_num(logits, nan=-np.inf), axis=-1)
        else:
            tokens[t] = [rng.choice(V, p=next_distribution(row, temperature)) for row in logits]
        if t + 1 < steps:
            xs[t + 1] = np.eye(V, dtype=net.dtype)[tokens[t]]
    return xs, tokens


def joint_names(encoder: dict[str, np.ndarray], decoder: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One table of both halves' parameters: encoder.* without the unused head, then decoder.*
    (the names `Architecture.shapes` gives the encoder–decoder's chain)."""
    out = {f"encoder.{k}": v for k, v in encoder.items() if not k.startswith("head.")}
    out.update({f"decoder.{k}": v for k, v in decoder.items()})
    return out


def seq2seq_chain(encoder_steps: int, steps: int) -> Chain:
    """The encoder–decoder on one time axis: a silent encoder over [0, encoder_steps) handing its
    state, attached, to an emitting decoder over [encoder_steps, steps); each with its own weights."""
    if not 0 < encoder_steps < steps:
        raise ValueError(f"encoder_steps must split the {steps} steps in two; got {encoder_steps}")
    return (Segment("encoder", 0, encoder_steps, emits=False, weights="encoder."),
            Segment("decoder", encoder_steps, steps, weights="decoder."))


class Seq2Seq(ArchitectureFacts):
    """An encoder RNN whose final state (every layer's h, and c if the cell has one) initialises a
    decoder RNN: one model whose chain (engine.chain) is [encoder: silent, attached] + [decoder: emits].
    Its shape facts (cell, num_layers, input_size, …) are those of the joined time axis (`arch`)."""

    def __init__(self, encoder: Network, decoder: Network) -> None:
        if encoder.bidirectional or decoder.bidirectional:
            raise ValueError("encoder and decoder must be unidirectional here")
        same = ("cell", "hidden_size", "num_layers", "dtype")
        if any(getattr(encoder, a) != getattr(decoder, a) for a in same):
            raise ValueError("encoder and decoder must share cell, hidden_size, num_layers and dtype")
        self.encoder, self.decoder = encoder, decoder

    @classmethod
    def random(cls, cell: str, input_size: int, hidden_size: int, output_size: int, num_layers: int = 1,
               seed: int = 0, recurrent_scale: float | None = None, forget_bias: float = 0.0,
               dtype=np.float64, vocab_size: int | None = None) -> "Seq2Seq":
        """Fresh encoder and decoder (the decoder reads one-hot outputs: its input size is output_size + 1,
        the extra symbol being <go>). With `vocab_size` each half has its own embedding table
        (vocab_size, input_size) and both read the token ids of the joined axis."""
        enc = Network.random(cell, input_size, hidden_size, 1, num_layers, seed=seed,
                             recurrent_scale=recurrent_scale, forget_bias=forget_bias, dtype=dtype,
                             vocab_size=vocab_size)
        dec = Network.random(cell, input_size if vocab_size else output_size + 1, hidden_size, output_size,
                             num_layers, seed=seed + 1, recurrent_scale=recurrent_scale, forget_bias=forget_bias,
                             dtype=dtype, vocab_size=vocab_size)
        return cls(enc, dec)

    node_names = property(lambda self: list(self.decoder.node_names), doc="h nodes, shared by both halves")
    dtype = property(lambda self: self.decoder.dtype, doc="compute dtype")

    @property
    def arch(self) -> Architecture:
        """The sizes on the joined axis: both halves read inputs of the decoder's width."""
        dec = self.decoder
        return Architecture(dec.cell, dec.input_size, dec.hidden_size, dec.output_size, dec.num_layers,
                            vocab_size=dec.vocab_size)

    def state_dict(self) -> dict[str, np.ndarray]:
        """encoder.* (no head: the encoder emits nothing) and decoder.* parameters."""
        return joint_names(self.encoder.state_dict(), self.decoder.state_dict())

    @classmethod
    def from_state_dict(cls, state: dict, cell: str, num_layers: int = 1, dtype=np.float64) -> "Seq2Seq":
        """Rebuild from `state_dict()`'s names."""
        enc = {k[len("encoder."):]: v for k, v in state.items() if k.startswith("encoder.")}
        dec = {k[len("decoder."):]: v for k, v in state.items() if k.startswith("decoder.")}
        H = np.shape(enc.get("weight_hh_l0", np.zeros((1, 1))))[1]
        enc.setdefault("head.weight", np.zeros((1, H)))
        enc.setdefault("head.bias", np.zeros(1))
        return cls(Network.from_state_dict(enc, cell, num_layers, False, dtype),
                   Network.from_state_dict(dec, cell, num_layers, False, dtype))

    def with_state(self, state: dict[str, np.ndarray]) -> "Seq2Seq":
        """The same model with the parameters `state` (state_dict()'s names)."""
        return Seq2Seq.from_state_dict(state, self.decoder.cell, self.decoder.num_layers, self.dtype)

    def context(self, encoder_trace: Trace) -> dict[str, np.ndarray]:
        """The encoder's final state, keyed for the decoder's initial_state."""
        return state_at(encoder_trace, -1)

    def free_run(self, x_enc, go: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
        """Test-time decoding: encode x_enc, then feed the decoder's own argmax output back from <go>
        (one-hot rows `go`, (B, O+1)) for `steps` steps. Returns (x_dec (steps, B, O+1) — what the
        decoder read, tokens (steps, B) — what it wrote); `run` on x_dec records it."""
        x_enc = np.asarray(x_enc)
        encoded = self.encoder.run(x_enc, np.full(x_enc.shape[:2], -100), contributions=False)
        return free_run(self.decoder, go, steps, initial_state=self.context(encoded))

    def steps_joined(self, x, targets, encoder_steps: int, loss: str = "cross_entropy") -> StepRun:
        """`run_joined` one cell step at a time: iterate the result for Events in the event schedule's
        order; its `.trace` is set once every step has run."""
        return self._joined(x, targets, encoder_steps, loss, emit=True, contributions=True)

    def run_joined(self, x, targets, encoder_steps: int, loss: str = "cross_entropy",
                   contributions: bool = True) -> Trace:
        """One run on a joined time axis: x[:encoder_steps] is the encoder's input, x[encoder_steps:]
        the decoder's (teacher forced: <go>, y_0, …) and targets[encoder_steps:] its targets (those
        before are ignored). BPTT runs through the decoder, across the context and through the
        encoder; the Trace's chain says which steps are whose."""
        return self._joined(x, targets, encoder_steps, loss, emit=False, contributions=contributions).run_to_end()

    def _joined(self, x, targets, encoder_steps: int, loss: str, emit: bool, contributions: bool) -> StepRun:
        """The step-wise run on the joined axis, its inputs checked."""
        if self.encoder.input_size != self.decoder.input_size:
            raise ValueError(f"on one time axis both halves read inputs of one width; the encoder reads "
                             f"{self.encoder.input_size}, the decoder {self.decoder.input_size}")
        x, targets = self.decoder.check_inputs(x, targets, loss)
        chain = seq2seq_chain(encoder_steps, x.shape[0])
        return StepRun(self.arch, self.state_dict(), x, targets, loss, emit=emit, contributions=contributions,
                       chain=chain, dtype=self.dtype)

    def run(self, x_enc, x_dec, targets, loss: str = "cross_entropy") -> Trace:
        """Encode x_enc (T_in, B, I), decode x_dec (T_out, B, O+1; teacher forcing: <go>, y_0, …) against
        targets (T_out, B): `run_joined` on the two inputs one after the other (T = T_in + T_out)."""
        x_enc, x_dec = (a[:, None, :] if a.ndim == 2 else a for a in (np.asarray(x_enc), np.asarray(x_dec)))
        targets = np.asarray(targets)
        if targets.ndim == (1 if loss == "cross_entropy" else 2):
            targets = targets[:, None]
        ignored = np.full((x_enc.shape[0],) + targets.shape[1:], IGNORE, dtype=targets.dtype)
        return self.run_joined(np.concatenate([x_enc, x_dec]), np.concatenate([ignored, targets]),
                               x_enc.shape[0], loss)
