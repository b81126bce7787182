"""Uploading the weights of the lectures' cells (they have no torch module: the user names the cell):
the peepholes travel with the recurrent weights, and each cell's shapes are checked against its own
number of gate blocks (no 500 for a cell the upload code has no table entry for)."""

from __future__ import annotations

import numpy as np
import pytest

from unrolled import engine
from server_helpers import strict_json
from test_server_models import SEQUENCE, assert_422, upload, upload_body


def state(cell: str) -> dict[str, np.ndarray]:
    """A random 1-layer network of `cell` (H = 4, I = 3, O = 5), head included."""
    return engine.Network.random(cell=cell, input_size=3, hidden_size=4, output_size=5, seed=2).state_dict()


@pytest.mark.parametrize("cell", ["lstm_peephole", "lstm_coupled", "gru_reset_before"])
def test_a_lecture_cell_uploads_with_its_name(client, cell):
    """The model info names the cell, and its trace is the engine's on the same weights."""
    weights = state(cell)
    info = upload(client, weights, cell=cell)
    assert info["cell"] == cell and info["hidden_size"] == 4
    document = strict_json(client.post(f"/api/models/{info['model_id']}/trace").text)
    net = engine.Network.from_state_dict(weights, cell=cell)
    expected = net.run(SEQUENCE[:, None, :], np.zeros((20, 1), dtype=int)).activations["logits"]
    np.testing.assert_allclose(np.array(document["activations"]["logits"]), expected, rtol=1e-10, atol=1e-12)


def test_a_cell_with_other_blocks_is_refused_naming_the_cell(client):
    """lstm_coupled has 3 gate blocks: an LSTM's 4·H rows are a 422 on `cell`, not a 500."""
    assert_422(client.post("/api/models", json=upload_body(state("lstm"), cell="lstm_coupled")), "cell",
               "a lstm_coupled needs")
