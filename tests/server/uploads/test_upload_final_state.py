"""An uploaded ONNX classifier on h_n (readout "final_state", issue 19) takes one target per sequence:
(B,) class ids (with lengths: torch's pack_padded_sequence), its own prediction per sequence without a
targets file, and a per-step file with several targets in one sequence is a 422 naming `targets`."""
from __future__ import annotations

import base64
import io
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "engine"))
from test_onnx_final_state import Classifier, export  # noqa: E402

T, B, I = 6, 3, 3


def _npy(array: np.ndarray) -> str:
    buf = io.BytesIO()
    np.save(buf, array)
    return base64.b64encode(buf.getvalue()).decode()


@pytest.fixture(scope="module")
def classifier():
    module = Classifier("GRU", 1, True)
    x = np.random.default_rng(1).normal(size=(T, B, I))
    onnx = base64.b64encode(export(module, torch.tensor(x, dtype=torch.float32))).decode()
    return module.double(), x, {"model": onnx, "model_name": "clf.onnx", "input": _npy(x)}


def test_sequence_targets_and_lengths_equal_torch_packed(client, classifier):
    module, x, body = classifier
    y, lengths = np.array([2, 0, 4]), np.array([6, 2, 4])
    info = client.post("/api/models", json={**body, "targets": _npy(y), "lengths": _npy(lengths)})
    assert info.status_code == 200, info.text
    doc = client.post(f"/api/models/{info.json()['model_id']}/trace").json()
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), torch.tensor(lengths), enforce_sorted=False)
    _, h_n = module.rnn(packed)
    loss = torch.nn.functional.cross_entropy(module.fc(torch.cat([h_n[-2], h_n[-1]], dim=1)), torch.tensor(y))
    assert doc["loss"] == pytest.approx(loss.item(), rel=1e-12)


def test_its_stream_says_final_state_and_the_shown_elements_length(client, classifier):
    """The socket's meta tells the page how to draw the head (graph_readout.js): readout and length."""
    from server_helpers import receive_until
    _, _, body = classifier
    info = client.post("/api/models", json={**body, "targets": _npy(np.array([1, 2, 3])), "lengths": _npy(np.array([4, 6, 2]))})
    with client.websocket_connect("/ws/trace") as ws:
        ws.send_json({"type": "start", "mode": "play", "source": "model", "model_id": info.json()["model_id"]})
        messages = receive_until(ws, {"done", "error"})
    meta = messages[0]
    assert (meta["readout"], meta["length"], meta["lengths"]) == ("final_state", 4, [4, 6, 2])
    assert meta["has_target"] == [False] * (T - 1) + [True]
    assert messages[-1]["type"] == "done"


def test_without_targets_the_loss_is_against_its_own_prediction_per_sequence(client, classifier):
    _, _, body = classifier
    info = client.post("/api/models", json=body)
    assert info.status_code == 200, info.text
    assert info.json()["targets"] == "own_argmax"


def test_several_targets_in_one_sequence_are_a_422_naming_targets(client, classifier):
    _, _, body = classifier
    answer = client.post("/api/models", json={**body, "targets": _npy(np.zeros((T, B), dtype=np.int64))})
    assert answer.status_code == 422
    detail = answer.json()["detail"][0]
    assert detail["loc"] == ["body", "targets"]
    assert "one target per sequence, (3,) class ids in [0, 5)" in detail["msg"]
