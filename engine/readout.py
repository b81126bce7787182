"""The final-state readout: one output per sequence from each direction's last processed state.

`readout="final_state"` is torch's many-to-one classifier `head(cat(h_n[-2], h_n[-1]))`: the top
layer's forward state at its last real step (t = lengths[b] − 1, or T − 1) beside the reverse
direction's last processed state (t = 0: it reads the sequence backwards, from lengths[b] − 1 down),
concatenated, through the head. `readout="per_step"` (the default) is the head at every step.

The trace records the one output at row T − 1 (logits, probs, the loss in loss_t[T − 1]; NaN rows
elsewhere, as a silent step's), and its gradient enters the top layer's states at exactly those two
steps: the recorded ∂L/∂h_t shows it there and carries it back through the recurrence.
"""
from __future__ import annotations

import numpy as np

from .chain import Segment
from .losses import IGNORE, compute_loss, target_mask
from .norms import frobenius

PER_STEP, FINAL_STATE = "per_step", "final_state"
READOUTS = (PER_STEP, FINAL_STATE)


def check_readout(readout: str) -> str:
    """`readout` if it is one of READOUTS; ValueError naming `readout` otherwise."""
    if readout not in READOUTS:
        raise ValueError(f"readout must be one of {', '.join(READOUTS)}; got {readout!r}")
    return readout


def last_steps(T: int, B: int, lengths: np.ndarray | None) -> np.ndarray:
    """(B,) the forward direction's last processed step of each batch element."""
    return np.full(B, T - 1, dtype=np.int64) if lengths is None else np.asarray(lengths, dtype=np.int64) - 1


def final_states(top: np.ndarray, H: int, directions: int, lengths: np.ndarray | None) -> np.ndarray:
    """(…, B, D·H) cat(h_n[-2], h_n[-1]) of the top layer's output top (T, …, B, D·H)."""
    T, B = top.shape[0], top.shape[-2]
    last = last_steps(T, B, lengths)
    forward = np.take_along_axis(top[..., :H], last.reshape((1,) + (1,) * (top.ndim - 3) + (B, 1)), axis=0)[0]
    if directions == 1:
        return forward
    return np.concatenate([forward, top[0, ..., H:]], axis=-1)          # the reverse direction ends at t = 0


def scatter_final(grad: np.ndarray, T: int, H: int, directions: int, lengths: np.ndarray | None,
                  out: np.ndarray | None = None) -> np.ndarray:
    """(T, …, B, D·H): ∂L/∂(top layer's output) from grad (…, B, D·H) at the final states, zero elsewhere
    (added into `out` when given)."""
    B = grad.shape[-2]
    out = np.zeros((T,) + grad.shape, dtype=grad.dtype) if out is None else out
    last = last_steps(T, B, lengths)
    for t in np.unique(last):
        at = last == t
        out[t][..., at, :H] += grad[..., at, :H]
    if directions == 2:
        out[0][..., H:] += grad[..., H:]
    return out


def sequence_targets(targets, loss: str) -> bool:
    """True when `targets` are one per sequence: (B,) class ids, or (B, O) for mse."""
    return targets is not None and np.ndim(targets) == (1 if loss == "cross_entropy" else 2)


def per_step_targets(targets, loss: str, T: int, B: int, steps: np.ndarray | None = None,
                     batch_first: bool = False) -> np.ndarray:
    """Per-sequence targets (B,) / (B, O) placed in a per-step array (T, B[, O]) at `steps` (B,)
    (default T − 1), -100 elsewhere; (B, T[, O]) when `batch_first`."""
    targets = np.asarray(targets)
    if targets.shape[0] != B:
        raise ValueError(f"targets for readout='final_state' hold one entry per sequence: shape (B,) = ({B},) "
                         f"(or (B, O) for mse); got {targets.shape}")
    out = np.full((T,) + targets.shape, IGNORE, dtype=targets.dtype if loss == "mse" else np.int64)
    out[last_steps(T, B, None) if steps is None else steps, np.arange(B)] = targets
    return np.swapaxes(out, 0, 1) if batch_first else out


def one_target_per_sequence(targets: np.ndarray, loss: str) -> np.ndarray:
    """Checked per-step targets (T, B[, O]) with each element's one target moved to row T − 1 (where
    the trace records the output); ValueError naming the element with more than one."""
    mask = target_mask(targets, loss)                                   # (T, B)
    many = np.flatnonzero(mask.sum(axis=0) > 1)
    if many.size:
        b = int(many[0])
        raise ValueError(f"readout='final_state' reads one target per sequence; targets hold "
                         f"{int(mask[:, b].sum())} for batch element {b} (at t = "
                         f"{', '.join(str(int(t)) for t in np.flatnonzero(mask[:, b]))}): pass targets of shape (B,)")
    out = np.full_like(targets, IGNORE)
    t_of = mask.argmax(axis=0)
    has = mask.any(axis=0)
    out[-1, has] = targets[t_of[has], np.flatnonzero(has)]
    return out


def allocate_head_records(tr) -> tuple[np.ndarray, np.ndarray]:
    """The trace's head records, NaN until a step writes them (logits and, for cross-entropy, probs, with
    their gradients) and zero per-step losses; returns (logits, dlogits). Both readouts start from these."""
    T, B, O = tr.T, tr.B, tr.output_size
    nan = lambda: np.full((T, B, O), np.nan, dtype=tr.dtype)     # noqa: E731
    tr.activations["logits"], tr.gradients["logits"] = logits, dlogits = nan(), nan()
    if tr.loss_type == "cross_entropy":
        tr.activations["probs"], tr.gradients["probs"] = nan(), nan()
    tr.loss_t = np.zeros(T, dtype=tr.dtype)
    return logits, dlogits


class FinalStateOutputs:
    """The head on the final states and its loss (recorder's _Outputs for readout='final_state')."""

    def __init__(self, tr) -> None:
        self.tr = tr
        self.logits, self.dlogits = allocate_head_records(tr)
        if len(tr.stages) > 1:
            raise ValueError("readout='final_state' reads the whole sequence at once; it cannot run in "
                             "segments (truncate, recurrent_gradient=False, an encoder–decoder chain)")

    def _states(self, top: np.ndarray) -> np.ndarray:
        return final_states(top, self.tr.hidden_size, self.tr.directions, self.tr.lengths)   # (B, D·H)

    def forward(self, seg: Segment, top: np.ndarray) -> None:
        """ŷ = head(cat(h_n[-2], h_n[-1])) and its loss, recorded at row T − 1."""
        tr, last = self.tr, self.tr.T - 1
        logits = self._states(top) @ tr.weight(seg, "head.weight").T + tr.weight(seg, "head.bias")   # (B, O)
        result = compute_loss(logits[None], tr.targets[last:], tr.loss_type, tr.loss_reduction)
        self.logits[last], self.dlogits[last] = logits, result.dlogits[0]
        if result.probs is not None:
            tr.activations["probs"][last], tr.gradients["probs"][last] = result.probs[0], result.dprobs[0]
        tr.loss_t[last] = result.loss_t[0]

    def add_d_top(self, seg: Segment, into: np.ndarray) -> None:
        """Add ∂L/∂(top layer's output) through the head into `into` (T, B, D·H): only at the final states."""
        tr = self.tr
        grad = self.dlogits[tr.T - 1] @ tr.weight(seg, "head.weight")                 # (B, D·H)
        scatter_final(grad, tr.T, tr.hidden_size, tr.directions, tr.lengths, out=into)

    def head_gradients(self, top: np.ndarray, contributions: bool) -> None:
        """∂L/∂V = ∂L/∂ŷᵀ cat(h_n[-2], h_n[-1]), ∂L/∂c = Σ_b ∂L/∂ŷ; both contributed at t = T − 1."""
        tr = self.tr
        dl = self.dlogits[tr.T - 1]                                                      # (B, O)
        tr.grads["head.weight"] = dl.T @ self._states(top)
        tr.grads["head.bias"] = dl.sum(axis=0)
        if contributions:
            for name in ("head.weight", "head.bias"):
                norms = np.zeros(tr.T, dtype=tr.dtype)
                norms[-1] = frobenius(tr.grads[name])
                tr.grad_contributions[name] = norms
