"""The usage patterns beyond many-to-many: test-time generation (one-to-many) and encoder–decoder.

Many-to-one needs nothing new (targets of -100 everywhere but the last step); Elman's context
units are `Network.run(..., recurrent_gradient=False)`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cell import StepRecord
from .network import Network
from .trace import Trace


def free_run(net: Network, first_input: np.ndarray, steps: int, mode: str = "argmax", temperature: float = 1.0,
             seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Test-time unrolling (one-to-many): the output at t, chosen by argmax or sampled from the softmax,
    is fed back as the one-hot input at t+1. Returns (x (T, B, I) — the inputs the network read,
    tokens (T, B) — what it emitted). Run `net.run(x, targets)` on the returned x for the full record:
    the fed-back inputs are constants there (a sampled or argmax token carries no gradient)."""
    if net.bidirectional:
        raise ValueError("a bidirectional network cannot generate: its reverse direction needs the future")
    if net.input_size != net.output_size:
        raise ValueError(f"feeding outputs back needs input_size == output_size; got {net.input_size} and "
                         f"{net.output_size}")
    if mode not in ("argmax", "sample"):
        raise ValueError(f"mode must be 'argmax' or 'sample'; got {mode!r}")
    if not (np.isfinite(temperature) and temperature > 0):
        raise ValueError("temperature must be a positive number")
    first = np.asarray(first_input, dtype=net.dtype)
    first = first[None] if first.ndim == 1 else first
    if first.ndim != 2 or first.shape[1] != net.input_size:
        raise ValueError(f"first_input must have shape (B, {net.input_size}); got {np.shape(first_input)}")
    B, V = first.shape[0], net.output_size
    rng = np.random.default_rng(seed)
    p, cell, H = net.state_dict(), net.cell_impl, net.hidden_size
    states = [(np.zeros((B, H), net.dtype), np.zeros((B, H), net.dtype)) for _ in range(net.num_layers)]
    xs, tokens = np.zeros((steps, B, V), net.dtype), np.zeros((steps, B), np.int64)
    x_t = first
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps):
            xs[t] = x_t
            inp = x_t
            for k in range(net.num_layers):
                s = f"_l{k}"
                bias = p[f"bias_ih{s}"] + p[f"bias_hh{s}"] if cell.folds_hh_bias else p[f"bias_ih{s}"]
                out = StepRecord(h=np.zeros((B, H), net.dtype), h_prev=states[k][0],
                                 act=np.zeros((B, cell.blocks * H), net.dtype) if cell.gates else None,
                                 c=np.zeros((B, H), net.dtype) if cell.has_cell_state else None,
                                 c_prev=states[k][1], extra={e: np.zeros((B, H), net.dtype) for e in cell.extras})
                cell.forward(inp @ p[f"weight_ih{s}"].T + bias, out.h_prev, out.c_prev, p[f"weight_hh{s}"],
                             p[f"bias_hh{s}"], out)
                states[k] = (out.h, out.c if out.c is not None else states[k][1])
                inp = out.h
            logits = inp @ p["head.weight"].T + p["head.bias"]                  # (B, V)
            tokens[t] = _choose(logits / temperature, mode, rng)
            x_t = np.eye(V, dtype=net.dtype)[tokens[t]]
    return xs, tokens


def _choose(logits: np.ndarray, mode: str, rng: np.random.Generator) -> np.ndarray:
    if mode == "argmax" or not np.isfinite(logits).all():
        return np.argmax(np.nan_to_num(logits, nan=-np.inf), axis=-1)
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probs = z / z.sum(axis=-1, keepdims=True)
    return (probs.cumsum(axis=-1) > rng.random((len(probs), 1))).argmax(axis=-1)


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
        out = {f"encoder.{k}": v for k, v in self.encoder.grads.items() if not k.startswith("head.")}
        out.update({f"decoder.{k}": v for k, v in self.decoder.grads.items()})
        return out

    @property
    def context_grads(self) -> dict[str, np.ndarray]:
        """∂L/∂(context): the gradient that crosses from the decoder into the encoder's final state."""
        return self.decoder.initial_state_grads


class Seq2Seq:
    """An encoder RNN whose final state (every layer's h, and c for an LSTM) initialises a decoder RNN."""

    def __init__(self, encoder: Network, decoder: Network) -> None:
        if encoder.bidirectional or decoder.bidirectional:
            raise ValueError("encoder and decoder must be unidirectional here")
        same = ("cell", "hidden_size", "num_layers", "dtype")
        if any(getattr(encoder, a) != getattr(decoder, a) for a in same):
            raise ValueError("encoder and decoder must share cell, hidden_size, num_layers and dtype")
        self.encoder, self.decoder = encoder, decoder

    @classmethod
    def random(cls, cell: str, input_size: int, hidden_size: int, output_size: int, num_layers: int = 1,
               seed: int = 0, recurrent_scale: float | None = None, dtype=np.float64) -> "Seq2Seq":
        """Fresh encoder and decoder (the decoder reads one-hot outputs: its input size is output_size + 1,
        the extra symbol being <go>)."""
        enc = Network.random(cell, input_size, hidden_size, 1, num_layers, seed=seed,
                             recurrent_scale=recurrent_scale, dtype=dtype)
        dec = Network.random(cell, output_size + 1, hidden_size, output_size, num_layers, seed=seed + 1,
                             recurrent_scale=recurrent_scale, dtype=dtype)
        return cls(enc, dec)

    def state_dict(self) -> dict[str, np.ndarray]:
        """encoder.* (no head: the encoder emits nothing) and decoder.* parameters."""
        out = {f"encoder.{k}": v for k, v in self.encoder.state_dict().items() if not k.startswith("head.")}
        out.update({f"decoder.{k}": v for k, v in self.decoder.state_dict().items()})
        return out

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
        out = {}
        for k in range(self.encoder.num_layers):
            out[f"h_l{k}"] = encoder_trace.activations[f"h_l{k}"][-1]
            if self.encoder.cell == "lstm":
                out[f"c_l{k}"] = encoder_trace.activations[f"c_l{k}"][-1]
        return out

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
