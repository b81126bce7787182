"""The usage patterns beyond many-to-many: test-time generation (one-to-many) and encoder–decoder.

Many-to-one needs nothing new (targets of -100 everywhere but the last step); Elman's context
units are `Network.run(..., recurrent_gradient=False)`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .losses import IGNORE
from .network import Network
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
    if net.bidirectional:
        raise ValueError("a bidirectional network cannot generate: its reverse direction needs the future")
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
    """One table of both halves' parameters (or their gradients): encoder.* without the unused head,
    then decoder.*."""
    out = {f"encoder.{k}": v for k, v in encoder.items() if not k.startswith("head.")}
    out.update({f"decoder.{k}": v for k, v in decoder.items()})
    return out


@dataclass
class Seq2SeqTrace:
    """The record of one encoder–decoder run: each half is a full Trace."""

    encoder: Trace                 # its head is unused (no loss); its final state is the context
    decoder: Trace                 # starts from the context; carries the loss

    @property
    def loss(self) -> float:
        """L = Σ_t L_t over the decoder's steps."""
        return self.decoder.loss

    @property
    def grads(self) -> dict[str, np.ndarray]:
        """∂L/∂θ for every parameter of Seq2Seq.state_dict()."""
        return joint_names(self.encoder.grads, self.decoder.grads)

    @property
    def context_grads(self) -> dict[str, np.ndarray]:
        """∂L/∂(context): the gradient that crosses from the decoder into the encoder's final state."""
        return self.decoder.initial_state_grads


class Seq2Seq:
    """An encoder RNN whose final state (every layer's h, and c if the cell has one) initialises a decoder RNN."""

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
               dtype=np.float64) -> "Seq2Seq":
        """Fresh encoder and decoder (the decoder reads one-hot outputs: its input size is output_size + 1,
        the extra symbol being <go>)."""
        enc = Network.random(cell, input_size, hidden_size, 1, num_layers, seed=seed,
                             recurrent_scale=recurrent_scale, forget_bias=forget_bias, dtype=dtype)
        dec = Network.random(cell, output_size + 1, hidden_size, output_size, num_layers, seed=seed + 1,
                             recurrent_scale=recurrent_scale, forget_bias=forget_bias, dtype=dtype)
        return cls(enc, dec)

    @property
    def node_names(self) -> list[str]:
        """The h nodes (h_l0, …): both halves share them, on the joined time axis."""
        return list(self.decoder.node_names)

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

    def run(self, x_enc, x_dec, targets, loss: str = "cross_entropy") -> Seq2SeqTrace:
        """Encode x_enc (T_in, B, I), decode x_dec (T_out, B, O+1; teacher forcing: <go>, y_0, …) against
        targets (T_out, B); BPTT runs through the decoder, across the context, and through the encoder."""
        x_enc = np.asarray(x_enc)
        B = x_enc.shape[1] if x_enc.ndim == 3 else 1
        no_loss = np.full((x_enc.shape[0], B), -100)
        forward_only = self.encoder.run(x_enc, no_loss)          # the context (forward values only)
        decoder = self.decoder.run(x_dec, targets, loss, initial_state=self.context(forward_only))
        encoder = self.encoder.run(x_enc, no_loss, final_state_grads=decoder.initial_state_grads)
        return Seq2SeqTrace(encoder, decoder)
