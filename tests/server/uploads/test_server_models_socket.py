"""An uploaded torch.nn.LSTM streams over /ws/trace (source "model") and its diagnosis names the real problem."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
import torch

from unrolled import engine
from server_helpers import app_settings, private_store, receive, receive_until

H = 8


def uploaded_lstm(client, forget_bias: float) -> dict:
    """Upload a torch LSTM (input 3, hidden H) with its forget-gate bias shifted; its model info."""
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, H)
    with torch.no_grad():
        lstm.bias_ih_l0[H:2 * H] += forget_bias
    model, x = io.BytesIO(), io.BytesIO()
    np.savez(model, **{k: v.detach().numpy() for k, v in lstm.state_dict().items()})
    np.save(x, np.random.default_rng(0).standard_normal((20, 2, 3)))
    response = client.post("/api/models", json={"model": base64.b64encode(model.getvalue()).decode(),
                                                "input": base64.b64encode(x.getvalue()).decode(),
                                                "model_name": "shut.npz", "input_name": "walk.npy"})
    assert response.status_code == 200, response.text
    return response.json()


def stream(client, start: dict) -> list[dict]:
    """Every message of one stream, up to done or error."""
    with client.websocket_connect("/ws/trace") as ws:
        ws.send_json({"type": "start", "mode": "play", **start})
        return receive_until(ws, {"done", "error"})


def test_an_uploaded_lstm_streams_and_its_closing_forget_gates_are_found(client):
    info = uploaded_lstm(client, forget_bias=-6.0)
    messages = stream(client, {"source": "model", "model_id": info["model_id"]})
    meta, summary = messages[0], messages[-2]
    assert meta["type"] == "meta" and meta["config"] is None and meta["cell"] == "lstm"
    assert meta["title"].startswith("Your model: shut.npz") and meta["model"]["model_id"] == info["model_id"]
    assert meta["T"] == 20 and meta["batch_size"] == 2 and meta["has_target"] == [True] * 20
    events = [m for m in messages if m["type"] == "event"]
    assert len(events) == meta["total_events"] == engine.event_count(20, 1, 1)
    assert {"h", "c", "i", "f", "g", "o"} <= set(events[0]["values"])
    forget = [f for f in summary["diagnosis"] if f["kind"] == "forget_gate"]
    assert forget and forget[0]["severity"] == "warning" and 0 <= forget[0]["t"] < 20
    assert summary["spectra"]["h_l0"]["sigma_max"] > 0 and messages[-1] == {"type": "done"}


def test_a_healthy_uploaded_lstm_gets_no_finding(client):
    info = uploaded_lstm(client, forget_bias=2.0)
    summary = stream(client, {"source": "model", "model_id": info["model_id"]})[-2]
    assert summary["type"] == "summary" and [f for f in summary["diagnosis"] if f["severity"] != "info"] == []


def test_an_unknown_or_missing_model_id_is_an_error_and_the_socket_stays_usable(client):
    with client.websocket_connect("/ws/trace") as ws:
        ws.send_json({"type": "start", "source": "model", "model_id": "0" * 32})
        error = receive(ws)
        assert error["type"] == "error" and error["field"] == "model_id" and "POST the same files" in error["detail"]
        ws.send_json({"type": "start", "source": "model"})
        assert receive(ws)["field"] == "model_id"
        ws.send_json({"type": "start", "config": {"preset": "exploding", "seq_len": 4}})
        assert receive(ws)["type"] == "meta"


def test_a_worker_that_did_not_receive_the_upload_streams_it_from_the_shared_folder(client, make_client, tmp_path):
    info = uploaded_lstm(client, forget_bias=-6.0)
    other_worker = private_store(app_settings(), tmp_path / "spill")      # empty memory, same folder
    messages = stream(make_client(models=other_worker), {"source": "model", "model_id": info["model_id"]})
    assert messages[0]["model"] == info and messages[-1] == {"type": "done"}
    assert other_worker.get(info["model_id"]) is not None


def test_an_uploaded_embedding_model_npz_streams_with_its_lengths(client):
    """A whole torch model's state dict (emb.weight, rnn.*, fc.*) as .npz, token ids and lengths: it streams,
    the layer-0 events carry e_t, and the summary's loss is the engine's on its own argmax targets."""
    torch.manual_seed(1)
    V, T, B = 11, 7, 2
    modules = {"emb": torch.nn.Embedding(V, 3), "rnn": torch.nn.LSTM(3, H), "fc": torch.nn.Linear(H, 4)}
    state = {f"{m}.{k}": v.detach().double().numpy() for m, mod in modules.items() for k, v in mod.state_dict().items()}
    tokens, lengths = np.random.default_rng(3).integers(0, V, size=(T, B)), np.array([T, 4])
    files = {name: io.BytesIO() for name in ("model", "input", "lengths")}
    np.savez(files["model"], **state)
    np.save(files["input"], tokens)
    np.save(files["lengths"], lengths)
    body = {k: base64.b64encode(f.getvalue()).decode() for k, f in files.items()}
    response = client.post("/api/models", json={**body, "model_name": "tagger.npz", "input_name": "ids.npy"})
    assert response.status_code == 200, response.text
    messages = stream(client, {"source": "model", "model_id": response.json()["model_id"]})
    meta, summary = messages[0], messages[-2]
    assert meta["type"] == "meta" and meta["T"] == T and meta["batch_size"] == B and messages[-1] == {"type": "done"}
    events = [m for m in messages if m["type"] == "event"]
    assert "e" in next(m for m in events if m["node"] == "h_l0" and m["phase"] == "forward")["values"]
    net = engine.Network.from_state_dict(state, cell="lstm")
    own = np.argmax(net.run(tokens, np.full((T, B), -100), lengths=lengths).activations["logits"], axis=-1)
    assert summary["loss"] == pytest.approx(net.run(tokens, own, lengths=lengths).loss, rel=1e-12)
