"""Truncated back-propagation through time, TBPTT(k1, k2), on top of `Network.run(initial_state=...)`.

Every k1 steps (and at the end of the sequence) the losses of the steps just read are
back-propagated k2 steps (k2 ≥ k1): the network is run on a window of those k1 steps and the
k2 − k1 steps before them, starting from the state it had reached before that window,
*detached* (nothing flows into earlier steps), with targets only on the window's last k1 steps
(fewer for the last window when k1 does not divide T). With k1 = k2 = k the windows are the
k-step chunks of the sequence and each chunk starts from the previous chunk's last state.
Without truncation there is one window, the whole sequence, started from zeros.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from .losses import IGNORE
from .network import Network
from .trace import Trace


@dataclass(frozen=True)
class Window:
    """Steps [start, end) are run; only the losses of steps [loss_from, end) count."""

    start: int
    loss_from: int
    end: int


def truncation_windows(T: int, k1: int | None = None, k2: int | None = None) -> list[Window]:
    """The windows of TBPTT(k1, k2) over T steps; one whole-sequence window when k1 is None.
    k2 defaults to k1; ValueError unless 1 ≤ k1 ≤ k2."""
    if k1 is None:
        return [Window(0, 0, T)]
    k2 = k1 if k2 is None else k2
    if not 1 <= k1 <= k2:
        raise ValueError(f"truncated BPTT needs 1 ≤ k1 ≤ k2; got k1={k1}, k2={k2}")
    ends = list(range(k1, T, k1)) + [T]
    return [Window(max(0, prev - (k2 - k1)), prev, end) for prev, end in zip([0] + ends[:-1], ends)]


def window_targets(targets: np.ndarray, loss: str, window: Window) -> np.ndarray:
    """The targets of the window's steps, with -100 before `loss_from` (those losses belong elsewhere)."""
    out = np.array(targets[window.start:window.end], copy=True)
    out[:window.loss_from - window.start] = IGNORE
    return out


def state_at(trace: Trace, index: int) -> dict[str, np.ndarray]:
    """The recurrent state after step `index` of a trace, as `initial_state` wants it (h, and c when
    the cell has a cell state)."""
    return {part + node[1:]: trace.activations[part + node[1:]][index]
            for node in trace.node_names for part in trace.cell_impl.states}


def check_truncatable(net: Network, k1: int | None) -> None:
    """Truncation carries the state forward in time: a bidirectional network has no such state."""
    if k1 is not None and net.arch.reads_future:
        raise ValueError("truncated BPTT needs a unidirectional forward network (a reverse direction reads the future)")


def as_batch(x: np.ndarray, targets: np.ndarray, loss: str, embedded: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """x (T, B, I) (token ids (T, B) when `embedded`) and targets (T, B) / (T, B, O), adding B = 1 to
    unbatched inputs."""
    x, targets = np.asarray(x), np.asarray(targets)
    if x.ndim == (1 if embedded else 2):
        x = x[:, None, :]
        targets = targets[:, None] if loss == "cross_entropy" else targets[:, None, :]
    return x, targets


def window_runs(run: Callable[[np.ndarray, np.ndarray, dict | None, np.ndarray | None], Trace], x: np.ndarray,
                targets: np.ndarray, loss: str, windows: list[Window],
                lengths: np.ndarray | None = None) -> Iterator[tuple[Window, Trace]]:
    """Run each window, `run(x_window, targets_window, initial_state, lengths_window)` with the
    parameters of that moment (so the caller may update them between windows), starting from the
    detached state the previous window reached before this one's start. Yields (window, its Trace).
    With `lengths` (a padded batch; x, targets already batched) the padding carries no loss, and each
    window's lengths are the real steps inside it (at least 1: an element already finished runs one
    step there that no loss reads, so the gradients are unchanged)."""
    if lengths is not None:
        targets = np.array(targets, copy=True)
        targets[np.arange(x.shape[0])[:, None] >= lengths[None, :]] = IGNORE
    previous: tuple[Window, Trace] | None = None
    for window in windows:
        initial = None
        if window.start > 0:
            assert previous is not None and previous[0].start < window.start <= previous[0].end
            initial = state_at(previous[1], window.start - 1 - previous[0].start)
        inside = None if lengths is None else np.clip(lengths - window.start, 1, window.end - window.start)
        trace = run(x[window.start:window.end], window_targets(targets, loss, window), initial, inside)
        yield window, trace
        previous = window, trace


@dataclass
class TruncatedGradients:
    """The summed result of every window of a TBPTT pass with fixed parameters."""

    loss: float                            # Σ of the windows' losses = the full sequence's loss
    grads: dict[str, np.ndarray]           # Σ of the windows' ∂L/∂θ
    dh: dict[str, np.ndarray]              # node → (T, B, H): Σ of the windows' ∂L/∂h_t at each t


def truncated_gradients(net: Network, x, targets, loss: str = "cross_entropy", k1: int | None = None,
                        k2: int | None = None) -> TruncatedGradients:
    """The gradient TBPTT(k1, k2) computes with the parameters held fixed (no update between windows)."""
    check_truncatable(net, k1)
    x, targets = as_batch(x, targets, loss, net.arch.embedded)
    T, B = x.shape[:2]
    total = TruncatedGradients(0.0, {k: np.zeros_like(v) for k, v in net.state_dict().items()},
                               {n: np.zeros((T, B, net.hidden_size), dtype=net.dtype) for n in net.node_names})
    def run(xw: np.ndarray, tw: np.ndarray, initial: dict | None, lengths: np.ndarray | None) -> Trace:
        return net.run(xw, tw, loss, initial_state=initial, contributions=False, lengths=lengths)
    for window, trace in window_runs(run, x, targets, loss, truncation_windows(T, k1, k2)):
        total.loss += trace.loss
        for name, g in trace.grads.items():
            total.grads[name] += g
        for node in net.node_names:
            total.dh[node][window.start:window.end] += trace.gradients[node]
    return total
