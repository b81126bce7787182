"""Central finite differences against the engine's analytic gradients (no torch needed)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .network import Network


def gradcheck(net: "Network", x, targets, loss: str = "cross_entropy", eps: float | None = None,
              max_entries: int | None = None, seed: int = 0, lengths=None) -> dict[str, float]:
    """Worst relative error per parameter between ∂L/∂θ from `run` and the fourth-order central
    difference (−L(θ+2ε) + 8L(θ+ε) − 8L(θ−ε) + L(θ−2ε)) / 12ε, computed in float64 whatever the
    network's dtype (truncation error O(ε⁴), so rounding, not the stencil, sets the accuracy).

    Relative error per entry is |a − n| / max(|a| + |n|, floor), where floor is 1e-3 of the
    parameter's largest gradient: entries that are tiny next to the rest of their tensor are
    judged against that scale, so finite-difference rounding on near-zero entries does not
    dominate. `eps` defaults to 1e-3, and to 1e-5 for a cell whose φ has kinks (rnn_relu), which a
    wide stencil would straddle. `max_entries` checks a seeded random subset of each parameter (all by default).
    `lengths` (a padded batch) is passed to every run; token ids (a network with an embedding) stay ids.
    """
    from .network import Network
    if eps is None:
        eps = 1e-5 if net.cell_impl.kinks else 1e-3
    net64 = Network(net.arch, net.state_dict(), dtype=np.float64)
    x = np.asarray(x) if net.arch.embedded else np.asarray(x, dtype=np.float64)
    analytic = net64.run(x, targets, loss, lengths=lengths).grads
    return compare_numeric(net64.state_dict(), analytic,
                           lambda state: _loss(net64, state, x, targets, loss, lengths), eps, max_entries, seed)


def compare_numeric(state: dict[str, np.ndarray], analytic: dict[str, np.ndarray], loss_of, eps: float,
                    max_entries: int | None = None, seed: int = 0, lengths=None) -> dict[str, float]:
    """Worst relative error per parameter of `analytic` against finite differences of `loss_of(state)`
    (the stencil and error measure of `gradcheck`); `state` is perturbed in place and restored."""
    rng = np.random.default_rng(seed)
    worst: dict[str, float] = {}
    for name, value in state.items():
        flat = value.reshape(-1)
        picks = np.arange(flat.size)
        if max_entries is not None and flat.size > max_entries:
            picks = rng.choice(flat.size, size=max_entries, replace=False)
        numeric = np.empty(len(picks))
        for j, i in enumerate(picks):
            original = flat[i]
            losses = []
            for step in (2, 1, -1, -2):
                flat[i] = original + step * eps
                losses.append(loss_of(state))
            flat[i] = original
            # differences first, so an entry the loss does not depend on gives exactly 0
            numeric[j] = (8 * (losses[1] - losses[2]) - (losses[0] - losses[3])) / (12 * eps)
        a = analytic[name].reshape(-1)[picks]
        floor = 1e-3 * max(np.max(np.abs(a), initial=0.0), np.max(np.abs(numeric), initial=0.0), 1e-12)
        err = np.abs(a - numeric) / np.maximum(np.abs(a) + np.abs(numeric), floor)
        worst[name] = float(np.max(err, initial=0.0)) if np.isfinite(err).all() else float("nan")
    return worst


def _loss(net: "Network", state: dict, x, targets, loss: str, lengths=None) -> float:
    from .network import Network
    return Network(net.arch, state, dtype=np.float64).run(x, targets, loss, contributions=False, lengths=lengths).loss
