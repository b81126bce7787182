"""A state dict (.npz) cannot say what its head reads, so the upload's `readout` field and `unrolled view
--readout` say it (issue 19): a bidirectional classifier on h_n, padded, equals torch's packed loss and
gradients; an ONNX graph that says otherwise is a 422 naming `readout`; the option survives the spill folder."""
from __future__ import annotations

import base64
import io
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from unrolled.server.cli import _parser, _view_target
from unrolled.server.uploads.model_files import ModelFiles
from unrolled.server.uploads.model_spill import SpilledFiles
from server_helpers import app_settings

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "engine"))
from test_onnx_final_state import Classifier, export  # noqa: E402

T, B, I = 6, 3, 3
SETTINGS = app_settings()


def _npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture(scope="module")
def classifier():
    """A 2-layer bidirectional GRU read at cat(h_n[-2], h_n[-1]), its whole-model state dict (rnn./fc.
    prefixes) as .npz bytes, a padded batch and one class id per sequence, and torch's loss and fc grads."""
    module = Classifier("GRU", 2, True).double()
    buf = io.BytesIO()
    np.savez(buf, **{k: v.detach().numpy() for k, v in module.state_dict().items()})
    x = np.random.default_rng(3).normal(size=(T, B, I))
    y, lengths = np.array([2, 0, 1]), np.array([6, 2, 4])
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), torch.tensor(lengths), enforce_sorted=False)
    _, h_n = module.rnn(packed)
    loss = torch.nn.functional.cross_entropy(module.fc(torch.cat([h_n[-2], h_n[-1]], dim=1)), torch.tensor(y))
    module.zero_grad()
    loss.backward()
    expected = {"loss": loss.item(), "head.weight": module.fc.weight.grad.numpy().copy(),
                "weight_hh_l0_reverse": module.rnn.weight_hh_l0_reverse.grad.numpy().copy()}
    files = {"model": buf.getvalue(), "input": _npy_bytes(x), "targets": _npy_bytes(y), "lengths": _npy_bytes(lengths)}
    return files, expected


def _close(actual, expected) -> None:
    actual = np.asarray(actual, dtype=float)
    assert np.max(np.abs(actual - expected)) <= 1e-10 * np.max(np.abs(expected))


def test_upload_with_readout_final_state_equals_torch_packed(client, classifier):
    files, expected = classifier
    info = client.post("/api/models", json={**{k: _b64(v) for k, v in files.items()}, "model_name": "clf.npz",
                                            "readout": "final_state"})
    assert info.status_code == 200, info.text
    assert info.json()["readout"] == "final_state"
    doc = client.post(f"/api/models/{info.json()['model_id']}/trace").json()
    assert doc["loss"] == pytest.approx(expected["loss"], rel=1e-12)
    _close(doc["grads"]["head.weight"], expected["head.weight"])
    _close(doc["grads"]["weight_hh_l0_reverse"], expected["weight_hh_l0_reverse"])


def test_without_readout_the_same_files_are_a_per_step_model(client, classifier):
    """The default stays per_step: one id per sequence is then not a (T, B) targets array (a 422 on targets)."""
    files, _ = classifier
    answer = client.post("/api/models", json={k: _b64(v) for k, v in files.items()})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "targets"]


def test_an_unknown_readout_is_a_422_naming_it(client, classifier):
    files, _ = classifier
    answer = client.post("/api/models", json={**{k: _b64(v) for k, v in files.items()}, "readout": "last"})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "readout"]


def test_an_onnx_graph_contradicted_by_readout_is_a_422_naming_it(client):
    module = Classifier("GRU", 1, True)
    x = np.random.default_rng(1).normal(size=(T, B, I))
    body = {"model": _b64(export(module, torch.tensor(x, dtype=torch.float32))), "model_name": "clf.onnx",
            "input": _b64(_npy_bytes(x)), "readout": "per_step"}
    answer = client.post("/api/models", json=body)
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"][0]
    assert detail["loc"] == ["body", "readout"] and "final_state" in detail["msg"]
    assert client.post("/api/models", json={**body, "readout": "final_state"}).status_code == 200


def test_cli_view_readout_final_state_equals_torch(tmp_path, classifier):
    files, expected = classifier
    paths = {}
    for name, data in files.items():
        paths[name] = tmp_path / f"{name}.{'npz' if name == 'model' else 'npy'}"
        paths[name].write_bytes(data)
    args = ["view", str(paths["model"]), "--input", str(paths["input"]), "--targets", str(paths["targets"]),
            "--lengths", str(paths["lengths"]), "--readout", "final_state"]
    trace, _ = _view_target(_parser().parse_args(args), SETTINGS)
    assert trace.loss == pytest.approx(expected["loss"], rel=1e-12)
    _close(trace.grads["head.weight"], expected["head.weight"])
    with pytest.raises(SystemExit, match="--readout go with --input"):
        _view_target(_parser().parse_args(["view", str(paths["model"]), "--readout", "final_state"]), SETTINGS)


def test_the_readout_option_survives_the_spill_folder(tmp_path, classifier):
    files, _ = classifier
    upload = ModelFiles(files["model"], files["input"], files["targets"], lengths=files["lengths"],
                        readout="final_state")
    assert upload.content_id() != ModelFiles(files["model"], files["input"], files["targets"],
                                             lengths=files["lengths"]).content_id()
    spill = SpilledFiles(tmp_path / "spill", max_bytes=2**30)
    spill.save(upload.content_id(), upload)
    assert spill.load(upload.content_id()) == upload
