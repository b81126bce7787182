"""Training an encoder–decoder (teacher forced) on one batch of joined data, one record per epoch.

    trainer = Seq2SeqTrainer(model, x, targets, encoder_steps, "cross_entropy", TrainOptions(epochs=200))
    for record in trainer.epochs(): ...
    trained = trainer.net                  # a Seq2Seq

The same records as `engine.Trainer`, on the joined time axis (encoder steps, then decoder steps):
each epoch is one forward pass, BPTT through the decoder, across the context and through the
encoder, and one update of both halves' parameters. No truncation: the lesson is the gradient
that crosses the context.
"""
from __future__ import annotations

import numpy as np

from .optim import clip_by_global_norm
from .patterns import Seq2Seq
from .seq2seq_record import run_joined
from .train import EpochLoop, EpochRecord, TrainOptions, updated_params


class Seq2SeqTrainer(EpochLoop):
    """Trains a copy of an encoder–decoder on fixed joined data; `net` is always the latest finite model."""

    def __init__(self, model: Seq2Seq, x, targets, encoder_steps: int, loss: str, options: TrainOptions) -> None:
        if options.tbptt is not None or not options.recurrent_gradient:
            raise ValueError("an encoder–decoder is trained with full BPTT (no tbptt, recurrent_gradient=True)")
        self.x, self.targets = np.asarray(x), np.asarray(targets)
        self.encoder_steps, self.loss = encoder_steps, loss
        self.windows = (None,)                  # one update per epoch, as Trainer reports it
        self.net = model
        self._start(model.state_dict(), options)

    def run_epoch(self) -> EpochRecord:
        """One pass over the joined sequence and one update."""
        with np.errstate(over="ignore", invalid="ignore"):
            joined = run_joined(self.net, self.x, self.targets, self.encoder_steps, self.loss)
            accuracy = None
            if self.loss == "cross_entropy":
                dec = joined.decoder
                hits = (dec.activations["logits"].argmax(axis=-1) == dec.targets) & dec.mask
                accuracy = float(hits.sum() / dec.mask.sum()) if dec.mask.any() else None
            grads = joined.grads
            step = clip_by_global_norm(grads, self.options.clip)
            candidate = updated_params(self._params, step.grads, step.norm, self._optimizer)
            param_norms = {k: float(np.linalg.norm(g)) for k, g in grads.items()}
        if candidate is None:
            self.diverged = True
        else:
            self._params = candidate
            self.net = Seq2Seq.from_state_dict(candidate, self.net.encoder.cell, self.net.encoder.num_layers,
                                               self.net.encoder.dtype)
        self.epochs_done += 1
        norm = float(step.norm)
        return EpochRecord(
            epoch=self.epochs_done, loss=float(joined.loss), accuracy=accuracy,
            gradient_norms=dict(joined.gradient_norms), param_grad_norms=param_norms,
            grad_norm=norm, clipped=bool(step.clipped), updates=0 if candidate is None else 1,
            clipped_updates=int(step.clipped), diverged=self.diverged,
            loss_t=np.asarray(joined.loss_t, dtype=np.float64))
