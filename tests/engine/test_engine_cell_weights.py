"""The cell's own weights reach the page: the peephole LSTM's P (weight_peephole_l{k}[_reverse], rows
i, f, o) travel in the summary (`cell_weights`) with their rows' lecture names in the cell spec;
torch's cells have none."""
from __future__ import annotations

import numpy as np

from unrolled import engine


def test_the_summary_carries_the_peepholes_of_every_layer_and_direction():
    net = engine.Network.random("lstm_peephole", 3, 4, 2, num_layers=2, bidirectional=True, seed=1)
    x = np.random.default_rng(0).normal(size=(5, 2, 3))
    summary = net.run(x, np.zeros((5, 2), dtype=int)).summary()
    state = net.state_dict()
    names = ["weight_peephole_l0", "weight_peephole_l0_reverse", "weight_peephole_l1", "weight_peephole_l1_reverse"]
    assert sorted(summary["cell_weights"]) == sorted(names)
    for name in names:
        assert np.array_equal(np.array(summary["cell_weights"][name]), state[name]) and state[name].shape == (3, 4)
    assert engine.cell_spec("lstm_peephole")["extra_weights"] == {"weight_peephole": ["Pⁱ", "Pᶠ", "Pᵒ"]}


def test_torch_cells_send_no_cell_weights():
    net = engine.Network.random("lstm", 3, 4, 2, seed=1)
    summary = net.run(np.ones((3, 1, 3)), np.zeros((3, 1), dtype=int)).summary()
    assert summary["cell_weights"] == {} and "extra_weights" not in engine.cell_spec("lstm")
