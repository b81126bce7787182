"""Training a recursive network on one tree's batch, with the engine's optimizers and clipping.

It answers like `engine.Trainer` (`epochs()`, `run_epoch()`, `net`, `options`, `windows`,
`epochs_done`, `diverged`, one `EpochRecord` per epoch), so the server's training runs treat it
alike; an epoch is one forward pass over the tree, one back-propagation through structure and
one update. Its `gradient_norms` profile is node → (N,) ‖∂L/∂h_node‖ in post-order.
"""
from __future__ import annotations

import math
import numpy as np

from ..optim import clip_by_global_norm, make_optimizer
from ..train import EpochRecord, Trainer, TrainOptions
from .recursive import RecursiveNetwork
from .tree_trace import TREE_NODE
from .trees import Tree


class TreeTrainer(Trainer):
    """Trains a copy of a RecursiveNetwork on (tree, x, targets); `net` is the latest finite model.
    It keeps Trainer's loop (`epochs`) and update (`_apply`); the data and the epoch are a tree's."""

    def __init__(self, net: RecursiveNetwork, tree: Tree, x, targets, loss: str, options: TrainOptions) -> None:
        # not Trainer.__init__ (it reads a time axis and its windows): the same attributes, for a tree
        if options.tbptt is not None:
            raise ValueError("tbptt: a tree has no time axis to truncate")
        self.x, self.targets = net.check_inputs(tree, x, targets, loss)
        self.tree, self.loss, self.net, self.options = tree, loss, net, options
        self.windows = [None]                       # one update per epoch
        self._params = net.state_dict()
        self._optimizer = make_optimizer(options.optimizer, options.lr, options.momentum)
        self.epochs_done = 0
        self.diverged = False

    def run_epoch(self) -> EpochRecord:
        """One pass over the tree and one (clipped) update."""
        with np.errstate(over="ignore", invalid="ignore"):
            trace = self.net.run(self.tree, self.x, self.targets, self.loss)
            accuracy = None
            if self.loss == "cross_entropy" and trace.mask.any():
                hits = (trace.activations["logits"].argmax(axis=-1) == trace.targets) & trace.mask
                accuracy = float(hits.sum() / trace.mask.sum())
            step = clip_by_global_norm(trace.grads, self.options.clip)
            self._apply(step.grads, step.norm)
            param_norms = {k: float(np.linalg.norm(g)) for k, g in trace.grads.items()}
        self.epochs_done += 1
        return EpochRecord(epoch=self.epochs_done, loss=trace.loss, accuracy=accuracy,
                           gradient_norms={TREE_NODE: np.asarray(trace.gradient_norms)},
                           param_grad_norms=param_norms, grad_norm=float(step.norm) if math.isfinite(step.norm) else step.norm,
                           clipped=bool(step.clipped), updates=0 if self.diverged else 1,
                           clipped_updates=int(bool(step.clipped) and not self.diverged), diverged=self.diverged,
                           loss_t=np.array([trace.loss]))
