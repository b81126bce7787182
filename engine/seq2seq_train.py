"""Adapter for the server until it calls `engine.Trainer` directly; delete it with its last caller.

    Seq2SeqTrainer(model, x, targets, encoder_steps, loss, options)
        == Trainer(model, x, targets, loss, options, encoder_steps=encoder_steps)
"""
from __future__ import annotations

from .patterns import Seq2Seq
from .train import Trainer, TrainOptions


class Seq2SeqTrainer(Trainer):
    """`Trainer` of an encoder–decoder, with the old argument order."""

    def __init__(self, model: Seq2Seq, x, targets, encoder_steps: int, loss: str, options: TrainOptions) -> None:
        super().__init__(model, x, targets, loss, options, encoder_steps=encoder_steps)
