"""Training a Network on one batch of data with the engine's own gradients, one record per epoch.

    trainer = Trainer(net, x, targets, "cross_entropy", TrainOptions(epochs=60, optimizer="adam", lr=0.01))
    for record in trainer.epochs():      # an EpochRecord per epoch
        print(record.epoch, record.loss, record.clipped)
    trained = trainer.net

An epoch is one pass over the sequence. Without truncation that is one forward/BPTT pass and one
update (an encoder–decoder: through the decoder, across the context and through the encoder); with TBPTT(k1, k2) the parameters are updated after every window (see engine.tbptt),
each update clipped on its own. Everything is deterministic: no randomness is drawn here.
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from .network import Network, check_lengths
from .norms import batch_mean_norm
from .optim import OPTIMIZERS, clip_by_global_norm, make_optimizer
from .patterns import Seq2Seq
from .losses import check_reduction
from .readout import FINAL_STATE, per_step_targets, sequence_targets
from .tbptt import as_batch, check_truncatable, truncation_windows, window_runs
from .trace import Trace


@dataclass(frozen=True)
class TrainOptions:
    """How to train: epochs, the optimizer and its step size, clipping and truncation."""

    epochs: int = 100
    optimizer: str = "adam"               # "sgd" | "adam"
    lr: float = 0.01
    momentum: float = 0.0                 # SGD only
    clip: float | None = None             # max global gradient norm per update; None: no clipping
    tbptt: tuple[int, int] | None = None  # (k1, k2): update every k1 steps, back-propagate k2 steps
    recurrent_gradient: bool = True       # False: Elman's context units (the state is an input: no BPTT through W)
    loss_reduction: str = "step_mean"     # engine.losses.REDUCTIONS (token_mean: over the whole sequence, no tbptt)

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be ≥ 1; got {self.epochs}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}; got {self.optimizer!r}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a finite number > 0; got {self.lr}")
        if self.clip is not None and not (math.isfinite(self.clip) and self.clip > 0):
            raise ValueError(f"clip must be a finite number > 0; got {self.clip}")
        check_reduction(self.loss_reduction)
        if self.loss_reduction == "token_mean" and self.tbptt is not None:
            raise ValueError("loss_reduction='token_mean' divides by the whole sequence's targets; with tbptt each "
                             "window would divide by its own: use step_mean or sum")


@dataclass
class EpochRecord:
    """What one epoch did."""

    epoch: int                              # 1-based
    loss: float                             # Σ_t L_t over the epoch's pass (before its updates)
    accuracy: float | None                  # share of target steps whose arg-max output is right (cross_entropy)
    gradient_norms: dict[str, np.ndarray]   # h node → (T,) batch mean of ‖∂L/∂h_t‖ (truncated when TBPTT)
    param_grad_norms: dict[str, float]      # parameter → ‖∂L/∂θ‖ before clipping (summed over windows)
    grad_norm: float                        # global gradient norm before clipping (largest update's)
    clipped: bool                           # some update of the epoch was clipped
    updates: int = 1                        # parameter updates applied this epoch
    clipped_updates: int = 0
    diverged: bool = False                  # a gradient or the new parameters were NaN/Inf: training stops
    loss_t: np.ndarray = field(default_factory=lambda: np.zeros(0))   # (T,) per-step losses

    @property
    def grad_norms(self) -> dict[str, np.ndarray]:
        """`gradient_norms` under the epoch message's wire key "grad_norms" (node → (T,) profiles; not
        the summary's "grad_norms", which is parameter → ‖∂L/∂θ‖)."""
        return self.gradient_norms


class Trainer:
    """Trains a copy of a model on fixed data; `net` is always the latest (finite) model.

    The model is a Network, or a Seq2Seq with `encoder_steps` (the split of the joined time axis:
    its chain is [encoder: silent, attached] + [decoder: emits], trained with full BPTT through both)."""

    def __init__(self, net: Network | Seq2Seq, x, targets, loss: str, options: TrainOptions,
                 encoder_steps: int | None = None, lengths=None) -> None:
        if encoder_steps is not None and (options.tbptt is not None or not options.recurrent_gradient):
            raise ValueError("an encoder–decoder is trained with full BPTT (no tbptt, recurrent_gradient=True)")
        k1, k2 = options.tbptt if options.tbptt is not None else (None, None)
        check_truncatable(net, k1)
        if getattr(net.arch, "readout", "per_step") == FINAL_STATE:    # one target per sequence (engine.readout)
            if k1 is not None or not options.recurrent_gradient:
                raise ValueError("readout='final_state' trains on whole sequences: no tbptt, recurrent_gradient=True")
            if sequence_targets(targets, loss):
                T, B = np.shape(x)[:2] if np.ndim(x) > (1 if net.arch.embedded else 2) else (np.shape(x)[0], 1)
                steps = None if lengths is None else np.asarray(lengths, dtype=np.int64) - 1
                targets = per_step_targets(targets, loss, T, B, steps)
        self.x, self.targets = as_batch(x, targets, loss, net.arch.embedded)
        if lengths is not None and encoder_steps is not None:
            raise ValueError("lengths (a padded batch) needs a Network, not an encoder–decoder")
        self.lengths = check_lengths(lengths, *self.x.shape[:2])     # a padded batch: see Network.run
        self.loss = loss
        self.encoder_steps = encoder_steps
        self._emitting = slice(encoder_steps or 0, None)    # the steps with a loss, summed alone as in Trace.loss
        self.windows = truncation_windows(self.x.shape[0], k1, k2)
        self.net = net
        self.options = options
        self._params = net.state_dict()
        self._optimizer = make_optimizer(options.optimizer, options.lr, options.momentum)
        self.epochs_done = 0
        self.diverged = False

    def epochs(self) -> Iterator[EpochRecord]:
        """Train for the remaining epochs, yielding each epoch's record; stops early once diverged."""
        while self.epochs_done < self.options.epochs and not self.diverged:
            yield self.run_epoch()

    def _run(self, x: np.ndarray, targets: np.ndarray, initial_state: dict | None,
             lengths: np.ndarray | None = None) -> Trace:
        """One window's record with the current parameters (no contribution norms: training needs none)."""
        if self.encoder_steps is not None:
            return self.net.run_joined(x, targets, self.encoder_steps, self.loss, contributions=False)
        return self.net.run(x, targets, self.loss, initial_state=initial_state,
                            recurrent_gradient=self.options.recurrent_gradient, contributions=False, lengths=lengths,
                            loss_reduction=self.options.loss_reduction)

    def run_epoch(self) -> EpochRecord:
        """One pass over the sequence with its update(s)."""
        T, B = self.x.shape[:2]
        net0 = self.net
        dh = {n: np.zeros((T, B, net0.hidden_size), dtype=net0.dtype) for n in net0.node_names}
        grad_sum = {k: np.zeros_like(v) for k, v in self._params.items()}
        loss_t = np.zeros(T)
        correct = counted = 0
        largest, updates, clipped = 0.0, 0, 0
        with np.errstate(over="ignore", invalid="ignore"):
            for window, trace in window_runs(self._run, self.x, self.targets, self.loss, self.windows, self.lengths):
                loss_t[window.loss_from:window.end] = trace.loss_t[window.loss_from - window.start:]
                for node in dh:
                    dh[node][window.start:window.end] += trace.gradients[node]
                for name, g in trace.grads.items():
                    grad_sum[name] += g
                if self.loss == "cross_entropy":
                    hits = (trace.activations["logits"].argmax(axis=-1) == trace.targets) & trace.mask
                    correct += int(hits.sum())
                    counted += int(trace.mask.sum())
                step = clip_by_global_norm(trace.grads, self.options.clip)
                largest = step.norm if not math.isfinite(step.norm) else max(largest, step.norm)
                if not self._apply(step.grads, step.norm):
                    break
                updates += 1
                clipped += step.clipped
            valid = None if self.lengths is None else np.arange(T)[:, None] < self.lengths[None, :]
            profile = {n: batch_mean_norm(v, valid) for n, v in dh.items()}
            param_norms = {k: float(np.linalg.norm(g)) for k, g in grad_sum.items()}
        self.epochs_done += 1
        return EpochRecord(
            epoch=self.epochs_done, loss=float(loss_t[self._emitting].sum()), accuracy=correct / counted if counted else None,
            gradient_norms=profile, param_grad_norms=param_norms, grad_norm=float(largest), clipped=clipped > 0,
            updates=updates, clipped_updates=clipped, diverged=self.diverged, loss_t=loss_t)

    def _apply(self, grads: dict[str, np.ndarray], norm: float) -> bool:
        """Update the parameters; False (and `diverged`) when the gradient or the result is not finite,
        in which case the network keeps its last finite parameters."""
        candidate = updated_params(self._params, grads, norm, self._optimizer)
        if candidate is None:
            self.diverged = True
            return False
        self._params = candidate
        self.net = self.net.with_state(candidate)
        return True


def updated_params(params: dict[str, np.ndarray], grads: dict[str, np.ndarray], norm: float,
                   optimizer) -> dict[str, np.ndarray] | None:
    """A copy of `params` after one optimizer step along `grads` (global norm `norm`); None when the
    gradient or the stepped parameters are not finite (training has diverged)."""
    if not math.isfinite(norm):
        return None
    candidate = {k: v.copy() for k, v in params.items()}
    optimizer.step(candidate, grads)
    if not all(np.isfinite(v).all() for v in candidate.values()):
        return None
    return candidate

