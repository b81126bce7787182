"""`unrolled view model.npz --input seq.npy [--targets y.npy]`: a user's model is recorded on its input and
served like a saved trace; bad files stop the command with a message naming them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from unrolled import engine
from unrolled.server.cli import _parser, _view_target, record_model_trace
from server_helpers import app_settings
from server_helpers import receive_until

SETTINGS = app_settings()


@pytest.fixture()
def model_files(tmp_path):
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, 8, dtype=torch.float64)
    with torch.no_grad():
        lstm.bias_ih_l0[8:16] -= 6.0                                  # forget gates shut
    model, x = tmp_path / "my_lstm.npz", tmp_path / "seq.npy"
    np.savez(model, **{k: v.numpy() for k, v in lstm.state_dict().items()})
    np.save(x, np.random.default_rng(0).standard_normal((10, 2, 3)))
    return model, x, lstm


def test_view_records_the_model_and_streams_it_with_its_diagnosis(make_client, model_files):
    model, x, lstm = model_files
    trace, name = _view_target(_parser().parse_args(["view", str(model), "--input", str(x)]), SETTINGS)
    assert name == "my_lstm.npz on seq.npy" and trace.cell == "lstm" and trace.B == 2
    out, _ = lstm(torch.tensor(np.load(x)))
    np.testing.assert_allclose(trace.activations["h_l0"], out.detach().numpy(), rtol=1e-10, atol=1e-12)
    client = make_client(loaded_trace=(trace, name))
    with client.websocket_connect("/ws/trace") as ws:
        ws.send_json({"type": "start", "source": "loaded"})
        messages = receive_until(ws, {"done", "error"})
    meta, summary = messages[0], messages[-2]
    assert meta["title"] == "Loaded trace: my_lstm.npz on seq.npy" and meta["cell"] == "lstm"
    assert len([m for m in messages if m["type"] == "event"]) == engine.event_count(10, 1, 1)
    assert "forget_gate" in {f["kind"] for f in summary["diagnosis"]}


def test_targets_and_loss_options(model_files, tmp_path):
    model, x, _ = model_files
    y = tmp_path / "y.npy"
    np.save(y, np.zeros((10, 2, 8)))
    trace, _ = record_model_trace(SETTINGS, model, x, y)
    assert trace.loss_type == "mse"
    trace, _ = record_model_trace(SETTINGS, model, x, loss="mse")
    assert trace.loss_type == "mse" and trace.loss > 0                  # a zero target
    trace, _ = record_model_trace(SETTINGS, model, x)
    assert trace.loss_type == "cross_entropy" and trace.mask.all()       # own argmax at every step


def test_bad_files_stop_with_a_message_naming_them(model_files, tmp_path):
    model, x, _ = model_files
    with pytest.raises(SystemExit, match="absent.npy"):
        record_model_trace(SETTINGS, model, tmp_path / "absent.npy")
    wide = tmp_path / "wide.npy"
    np.save(wide, np.zeros((10, 4)))
    with pytest.raises(SystemExit, match=r"wide.npy has shape \(10, 4\); expected \(T, 3\) or \(T, B, 3\)"):
        record_model_trace(SETTINGS, model, wide)
    pickled = tmp_path / "pickled.npy"
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(SystemExit, match="pickled.npy holds Python objects"):
        record_model_trace(SETTINGS, model, pickled)
    with pytest.raises(SystemExit, match="a gru needs"):
        record_model_trace(SETTINGS, model, x, cell="gru")
    with pytest.raises(SystemExit, match="add --input"):
        _view_target(_parser().parse_args(["view", str(model)]), SETTINGS)
    with pytest.raises(SystemExit, match="go with --input"):
        _view_target(_parser().parse_args(["view", str(model), "--cell", "lstm"]), SETTINGS)
