"""Bring your own model over HTTP: a torch state dict and an input are uploaded, validated safely,
kept in a bounded store, traced with a diagnosis; bad files are 422s naming the file."""

from __future__ import annotations

import base64
import dataclasses
import io

import numpy as np
import pytest
import torch

from unrolled.server.uploads.model_files import ModelFiles
from unrolled.server.uploads.model_spill import SpilledFiles
from unrolled.server.uploads.models import ModelStore, build_user_model
from server_helpers import app_settings, private_store, strict_json

H = 16


def npz_bytes(arrays: dict) -> bytes:
    """The bytes np.savez writes for these arrays."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def npy_bytes(array) -> bytes:
    """The bytes np.save writes for this array (pickled when it holds objects)."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def b64(data: bytes) -> str:
    """Base64 text of bytes."""
    return base64.b64encode(data).decode()


def torch_state(module: torch.nn.Module) -> dict[str, np.ndarray]:
    """A torch module's state dict as NumPy arrays (what a user saves with np.savez)."""
    return {k: v.detach().numpy() for k, v in module.state_dict().items()}


def lstm_with_forget_bias(bias: float, seed: int = 0) -> torch.nn.LSTM:
    """A torch LSTM (input 3, hidden H) whose forget-gate bias is shifted by ``bias``."""
    torch.manual_seed(seed)
    lstm = torch.nn.LSTM(3, H)
    with torch.no_grad():
        lstm.bias_ih_l0[H:2 * H] += bias
    return lstm


SEQUENCE = np.random.default_rng(0).standard_normal((20, 3))


def upload_body(model: dict, x=SEQUENCE, targets=None, **options) -> dict:
    """A POST /api/models body."""
    body = {"model": b64(npz_bytes(model)), "input": b64(npy_bytes(x)), "model_name": "my_lstm.npz",
            "input_name": "seq.npy", **options}
    if targets is not None:
        body["targets"] = b64(npy_bytes(targets))
        body["targets_name"] = "y.npy"
    return body


def upload(client, model: dict, **kw) -> dict:
    """Upload and return the model info (asserting success)."""
    response = client.post("/api/models", json=upload_body(model, **kw))
    assert response.status_code == 200, response.text
    return response.json()


def assert_422(response, field: str, *fragments: str, status: int = 422) -> None:
    """A 422 (or ``status``) whose first problem's loc ends with ``field`` and whose message holds every fragment."""
    assert response.status_code == status, response.text
    problem = response.json()["detail"][0]
    assert problem["loc"][-1] == field, problem
    for fragment in fragments:
        assert fragment in problem["msg"], problem


def test_upload_infers_the_lstm_and_traces_it_like_torch(client):
    torch.manual_seed(1)
    lstm, head = torch.nn.LSTM(3, H, dtype=torch.float64), torch.nn.Linear(H, 5, dtype=torch.float64)
    whole = torch.nn.ModuleDict({"rnn": lstm, "fc": head})         # a whole model: prefixed names
    targets = np.random.default_rng(1).integers(0, 5, 20)
    info = upload(client, torch_state(whole), targets=targets)
    assert info["cell"] == "lstm" and info["hidden_size"] == H and info["output_size"] == 5
    assert info["loss"] == "cross_entropy" and info["targets"] == "file" and info["T"] == 20
    assert client.get(f"/api/models/{info['model_id']}").json() == info
    response = client.post(f"/api/models/{info['model_id']}/trace")
    document = strict_json(response.text)
    out, _ = lstm(torch.tensor(SEQUENCE[:, None, :]))
    expected = head(out).detach().numpy()
    np.testing.assert_allclose(np.array(document["activations"]["logits"]), expected, rtol=1e-10, atol=1e-12)
    assert document["config"] is None and document["model"]["model_id"] == info["model_id"]
    assert isinstance(document["diagnosis"], list) and document["spectra"]["h_l0"]["sigma_max"] > 0


def test_closing_forget_gates_are_diagnosed_and_a_healthy_lstm_is_not(client):
    broken = upload(client, torch_state(lstm_with_forget_bias(-6.0)))
    healthy = upload(client, torch_state(lstm_with_forget_bias(1.0)))
    assert broken["targets"] == "own_argmax" and broken["output_size"] == H      # identity head, own argmax
    findings = strict_json(client.post(f"/api/models/{broken['model_id']}/trace").text)["diagnosis"]
    forget = [f for f in findings if f["kind"] == "forget_gate"]
    assert forget and forget[0]["node"] == "h_l0" and forget[0]["numbers"]["mean_f"][forget[0]["t"]] < 0.01
    healthy_findings = strict_json(client.post(f"/api/models/{healthy['model_id']}/trace").text)["diagnosis"]
    assert [f["kind"] for f in healthy_findings if f["severity"] != "info"] == []


def test_the_same_files_get_the_same_id_and_options_change_it(client):
    state = torch_state(lstm_with_forget_bias(0.0))
    first, again = upload(client, state), upload(client, state)
    assert first["model_id"] == again["model_id"]
    as_mse = upload(client, state, loss="mse")
    assert as_mse["model_id"] != first["model_id"] and as_mse["targets"] == "zeros"


def test_float_targets_choose_mse_and_gru_and_rnn_are_inferred(client):
    torch.manual_seed(0)
    gru = torch.nn.GRU(3, 4, bidirectional=True)
    info = upload(client, torch_state(gru), targets=np.zeros((20, 8)))
    assert (info["cell"], info["bidirectional"], info["loss"]) == ("gru", True, "mse")
    rnn = upload(client, torch_state(torch.nn.RNN(3, 4, nonlinearity="relu")), cell="rnn_relu")
    assert rnn["cell"] == "rnn_relu"
    assert upload(client, torch_state(torch.nn.RNN(3, 4)), cell="rnn_tanh")["cell"] == "rnn_tanh"
    # issue 21: tanh or ReLU is not in the weights — without a cell the upload is refused, naming the field
    assert_422(client.post("/api/models", json=upload_body(torch_state(torch.nn.RNN(3, 4)))), "cell", "tanh or ReLU")


def test_pickled_arrays_are_refused_naming_the_file(client):
    state = torch_state(lstm_with_forget_bias(0.0))
    evil = npz_bytes({**state, "extra": np.array([{"code": "os.system"}], dtype=object)})
    body = {**upload_body(state), "model": b64(evil)}
    assert_422(client.post("/api/models", json=body), "model", "my_lstm.npz", "pickled")
    body = {**upload_body(state), "input": b64(npy_bytes(np.array([None, 1], dtype=object)))}
    assert_422(client.post("/api/models", json=body), "input", "seq.npy", "pickled")


@pytest.mark.parametrize("x, fragment", [
    (np.zeros((20, 4)), "(T, 3) or (T, B, 3)"),
    (np.zeros(20), "(T, 3) or (T, B, 3)"),
    (np.full((5, 3), np.nan), "NaN"),
    (np.zeros((5000, 3)), "limit"),
], ids=["wrong-width", "1-d", "nan", "too-long"])
def test_bad_inputs_are_422_naming_the_file_and_the_expected_shape(client, x, fragment):
    body = upload_body(torch_state(lstm_with_forget_bias(0.0)), x=x)
    assert_422(client.post("/api/models", json=body), "input", "seq.npy", fragment)


def test_bad_models_targets_and_options_are_422_naming_the_field(client):
    state = torch_state(lstm_with_forget_bias(0.0))
    wrong = {**state, "weight_hh_l0": np.zeros((4 * H, H + 1))}
    assert_422(client.post("/api/models", json=upload_body(wrong)), "model", "my_lstm.npz", "weight_hh_l0")
    assert_422(client.post("/api/models", json=upload_body(state, cell="gru")), "cell", "a gru needs", "lstm")
    complex_weights = {**state, "weight_ih_l0": state["weight_ih_l0"] * 1j}
    assert_422(client.post("/api/models", json=upload_body(complex_weights)), "model", "['weight_ih_l0']", "complex")
    missing = {k: v for k, v in state.items() if k != "bias_hh_l0"}
    assert_422(client.post("/api/models", json=upload_body(missing)), "model", "bias_hh_l0")
    assert_422(client.post("/api/models", json=upload_body({"w": np.zeros(3)})), "model", "weight_ih_l0")
    assert_422(client.post("/api/models", json=upload_body(state, targets=np.zeros(7, dtype=int))),
               "targets", "y.npy", "(T, B) = (20, 1)")
    assert_422(client.post("/api/models", json=upload_body(state, targets=np.full(20, 99))), "targets", "[0, 16)")
    body = {**upload_body(state), "model": "not base64!"}
    assert_422(client.post("/api/models", json=body), "model", "base64")
    assert_422(client.post("/api/models", json={**upload_body(state), "model": b64(b"PK junk")}), "model", ".npz")
    assert_422(client.post("/api/models", json={"input": "AA=="}), "model")
    assert_422(client.get("/api/models/0123abcd"), "model_id", "POST the same files", status=404)
    assert_422(client.post("/api/models/0123abcd/trace"), "model_id", "unknown model_id", status=404)


def test_oversized_files_and_bodies_are_refused(make_client):
    state = torch_state(lstm_with_forget_bias(0.0))
    small = app_settings(max_model_mb=0.001)       # ~1 kB of arrays
    with pytest.raises(Exception, match="my_lstm.npz.*limit"):
        build_user_model(ModelFiles(npz_bytes(state), npy_bytes(SEQUENCE), model_name="my_lstm.npz"), small)
    assert_422(make_client(max_model_mb=0.001).post("/api/models", json=upload_body(state)), "model", "limit")
    response = make_client(max_upload_mb=0.001).post("/api/models", json=upload_body(state))
    assert response.status_code == 413 and "too large" in response.json()["detail"]   # the app's upload cap


def test_the_store_keeps_the_most_recent_models_within_its_bounds():
    models = [build_user_model(ModelFiles(npz_bytes(torch_state(lstm_with_forget_bias(0.0, seed))), npy_bytes(SEQUENCE)),
                               app_settings()) for seed in range(3)]
    store = ModelStore(app_settings(max_models=2, max_store_mb=1000.0))
    for m in models:
        store.put(m)
    assert store.get(models[0].id) is None and store.get(models[2].id) is models[2] and len(store) == 2
    store.get(models[1].id)                                  # now the most recent
    store.put(models[0])
    assert store.get(models[2].id) is None and store.get(models[1].id) is models[1]
    tight = ModelStore(app_settings(max_models=8, max_store_mb=(models[0].nbytes + 1) / 2**20))
    tight.put(models[0])
    tight.put(models[1])
    assert len(tight) == 1 and tight.total_bytes() <= models[0].nbytes + 1


def test_rest_trace_and_socket_summary_carry_diagnosis_and_spectra(client):
    document = strict_json(client.post("/api/trace", json={"preset": "vanishing-tanh"}).text)
    assert "vanishing" in {f["kind"] for f in document["diagnosis"]}
    assert set(document["spectra"]["h_l0"]) == {"sigma_max", "radius_W"}
    exploding = strict_json(client.post("/api/trace", json={"cell": "rnn_relu", "recurrent_scale": 10.0,
                                                            "seq_len": 400, "hidden_size": 32}).text)
    kinds = {f["kind"] for f in exploding["diagnosis"]}
    assert "nonfinite" in kinds                                   # NaN/Inf in the run, none in the JSON
    from server_helpers import receive_until
    with client.websocket_connect("/ws/trace") as ws:
        ws.send_json({"type": "start", "config": {"preset": "vanishing-tanh"}})
        summary = receive_until(ws, {"summary", "error"})[-1]
    assert summary["type"] == "summary" and summary["diagnosis"] == document["diagnosis"]
    assert summary["spectra"] == document["spectra"]


def test_another_worker_rebuilds_an_upload_from_the_shared_folder(client, make_client, tmp_path):
    info = upload(client, torch_state(lstm_with_forget_bias(-6.0)))
    other_worker = private_store(app_settings(), tmp_path / "spill")      # empty memory, same folder
    assert make_client(models=other_worker).get(f"/api/models/{info['model_id']}").json() == info
    assert len(other_worker) == 1
    lonely = private_store(app_settings(), tmp_path / "elsewhere")       # another machine
    assert make_client(models=lonely).get(f"/api/models/{info['model_id']}").status_code == 404
    assert not lonely.recoverable("../../../etc/passwd") and lonely.recover("../" * 3 + "x") is None


def test_the_shared_folder_is_private_verified_and_trimmed(tmp_path):
    spill = SpilledFiles(tmp_path / "spill", max_bytes=1)
    files = [ModelFiles(npz_bytes(torch_state(lstm_with_forget_bias(0.0, seed))), npy_bytes(SEQUENCE), cell="lstm")
             for seed in range(2)]
    for f in files:
        spill.save(f.content_id(), f)
    assert (tmp_path / "spill").stat().st_mode & 0o077 == 0
    assert not spill.has(files[0].content_id()) and spill.load(files[1].content_id()) == files[1]   # oldest trimmed
    renamed = tmp_path / "spill" / ("0" * 32 + ".npz")
    (tmp_path / "spill" / f"{files[1].content_id()}.npz").rename(renamed)
    assert spill.load("0" * 32) is None                                   # content must match its id


def test_an_upload_above_the_general_body_cap_is_accepted(client):
    torch.manual_seed(0)
    big = torch_state(torch.nn.LSTM(128, 256))                # ~1.6 MB of float32, ~2.1 MB as base64
    body = upload_body(big, x=np.zeros((10, 128)))
    assert len(body["model"]) > app_settings().max_body_bytes
    assert client.post("/api/models", json=body).json()["hidden_size"] == 256
