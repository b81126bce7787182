"""The flow matrix and the vanishing profile of a final-state trace (`head(cat(h_n[-2], h_n[-1]))`)
follow the readout's own gradient path: the one loss enters the forward direction at its last
processed step and the reverse direction at t = 0. Checked against torch float64 autograd's
∂L/∂h_t (torch_readout.oracle), each step against its own scale, with and without `lengths`."""
from __future__ import annotations

import numpy as np
import pytest

from engine_cases import assert_steps
from torch_readout import oracle
from unrolled import engine

T, B, I, H, O = 7, 3, 4, 5, 3
LENGTHS = np.array([7, 3, 5])


def _torch_row(dh: np.ndarray, lengths) -> np.ndarray:
    """(T,) mean over the real batch entries of ‖∂L/∂h_t[b]‖₂, from torch's (T, B, H)."""
    norms = np.sqrt((dh ** 2).sum(axis=-1))
    if lengths is None:
        return norms.mean(axis=1)
    real = np.arange(T)[:, None] < lengths[None, :]
    return (norms * real).sum(axis=1) / real.sum(axis=1)


@pytest.mark.parametrize("cell,layers", [("gru", 2), ("lstm", 1), ("rnn_tanh", 2)])
@pytest.mark.parametrize("padded", [False, True])
def test_flow_matrix_of_final_state_matches_torch(cell, layers, padded):
    net = engine.Network.random(cell, I, H, O, layers, True, seed=7, readout="final_state")
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(T, B, I)), rng.integers(0, O, size=B)
    lengths = LENGTHS if padded else None
    trace = net.run(x, y, lengths=lengths)
    ref = oracle(net.state_dict(), cell, layers, True, x, y, "cross_entropy", lengths, "final_state")
    for node in trace.node_names:
        ks, matrix = trace.flow_matrix(node)
        assert ks.tolist() == [T - 1], node                         # the one loss, recorded at row T − 1
        expected = _torch_row(ref.dh[node], lengths)
        assert np.all(expected > 0), node                           # every step is reached: no vacuous zeros
        assert_steps(matrix[0], expected, f"flow row of {node}")


def test_vanishing_profile_measures_from_where_the_loss_enters():
    net = engine.Network.random("gru", I, H, O, 1, True, seed=9, readout="final_state")
    rng = np.random.default_rng(10)
    x, y = rng.normal(size=(T, B, I)), rng.integers(0, O, size=B)
    trace = net.run(x, y)
    ref = oracle(net.state_dict(), "gru", 1, True, x, y, "cross_entropy", None, "final_state")
    forward, reverse = trace.vanishing("h_l0"), trace.vanishing("h_l0_reverse")
    assert forward["distance"].tolist() == list(range(T - 1, -1, -1))
    assert reverse["distance"].tolist() == list(range(T))          # the reverse state's loss enters at t = 0
    assert_steps(reverse["norms"], _torch_row(ref.dh["h_l0_reverse"], None), "reverse profile")
    assert np.isfinite(reverse["factor"])
