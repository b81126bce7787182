"""Adapters for the server until it reads the chain API; delete them with its last caller.

The encoder–decoder is one model on one time axis (`Seq2Seq.run_joined` → one `Trace` whose
`chain` is [encoder: silent, attached] + [decoder: emits]); the names below keep the server's
calls working unchanged:

    run_joined(model, x, targets, encoder_steps)   → model.run_joined(...), as a JoinedSeq2SeqTrace
    JoinedSeq2SeqTrace.segments                     → [seg.as_dict() for seg in trace.stages]
    joined_segments(T_in, T)                        → [seg.as_dict() for seg in seq2seq_chain(T_in, T)]
    joined_schedule / joined_event_count            → event_schedule(L, 1, seq2seq_chain(...))
"""
from __future__ import annotations

import numpy as np

from .patterns import Seq2Seq, seq2seq_chain
from .schedule import event_schedule
from .trace import Trace


def joined_segments(encoder_steps: int, steps: int) -> list[dict]:
    """[{name, start, stop}] of the encoder's and the decoder's steps on a joined axis of `steps`."""
    return [seg.as_dict() for seg in seq2seq_chain(encoder_steps, steps)]


def joined_schedule(T_in: int, T_out: int, num_layers: int) -> dict:
    """The event schedule of a joined encoder–decoder stream (the encoder emits no outputs)."""
    return event_schedule(num_layers, 1, seq2seq_chain(T_in, T_in + T_out))


def joined_event_count(T_in: int, T_out: int, num_layers: int) -> int:
    """How many events a joined encoder–decoder stream has."""
    return joined_schedule(T_in, T_out, num_layers)["total"]


class JoinedSeq2SeqTrace(Trace):
    """An encoder–decoder's Trace that also answers `segments` (the server asks
    hasattr(trace, "segments") to tell an encoder–decoder from a plain run)."""

    @property
    def segments(self) -> list[dict]:
        """[{name, start, stop}] of the encoder's and the decoder's steps."""
        return [seg.as_dict() for seg in self.stages]


def run_joined(model: Seq2Seq, x: np.ndarray, targets: np.ndarray, encoder_steps: int,
               loss: str = "cross_entropy") -> JoinedSeq2SeqTrace:
    """`model.run_joined(x, targets, encoder_steps, loss)`, its Trace seen as a JoinedSeq2SeqTrace."""
    trace = model.run_joined(x, targets, encoder_steps, loss)
    trace.__class__ = JoinedSeq2SeqTrace
    return trace
