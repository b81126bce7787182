"""An ONNX model whose recurrent node has direction="reverse" through the doors: `unrolled view model.onnx`
records it as a reverse-only layer (node h_l0_reverse), the stream's meta lists that node and plays it
right to left, and the upload and the compare panel (with another cell) keep the layer reversed."""

from __future__ import annotations

import numpy as np
import pytest

from unrolled import engine
from unrolled.server.cli import _parser, _view_target, load_saved_trace
from onnx_models import B, I, O, T, gru_onnx
from server_helpers import app_settings, receive_until, strict_json
from test_server_models_onnx import b64, npy

X_BF = np.random.default_rng(6).standard_normal((B, T, I))
Y_BF = np.random.default_rng(7).integers(0, O, (B, T))


def reverse_gru() -> bytes:
    return gru_onnx(extra={"direction": "reverse"})


def test_view_of_a_reverse_onnx_model_streams_the_reverse_layer(tmp_path, make_client):
    model, x, y = tmp_path / "rev.onnx", tmp_path / "batch.npy", tmp_path / "y.npy"
    model.write_bytes(reverse_gru())
    np.save(x, X_BF)
    np.save(y, Y_BF)
    trace, name = _view_target(_parser().parse_args(["view", str(model), "--input", str(x), "--targets", str(y)]),
                               app_settings())
    assert trace.node_names == ["h_l0_reverse"] and trace.reverse_layers == (0,)
    assert trace.loss == pytest.approx(engine.Network.from_onnx(model).run(X_BF, Y_BF).loss, rel=1e-12)
    saved = tmp_path / "rev.npz"
    trace.save(saved)
    client = make_client(loaded_trace=(load_saved_trace(saved, app_settings()), saved.name))
    with client.websocket_connect("/ws/trace") as ws:
        ws.send_json({"type": "start", "source": "loaded", "mode": "play"})
        messages = receive_until(ws, {"done", "error"})
    meta = messages[0]
    assert meta["nodes"] == ["h_l0_reverse"] and meta["directions"] == 1
    events = [m for m in messages if m["type"] == "event"]
    assert len(events) == meta["total_events"] == trace.event_count
    forward = [(m["t"], m["direction"]) for m in events if m["phase"] == "forward" and m["node"] == "h_l0_reverse"]
    assert forward == [(t, 1) for t in range(T - 1, -1, -1)]


def test_an_uploaded_reverse_model_traces_and_compares_with_another_cell(client):
    body = {"model": b64(reverse_gru()), "input": b64(npy(X_BF)), "targets": b64(npy(Y_BF)),
            "model_name": "rev.onnx", "input_name": "batch.npy"}
    response = client.post("/api/models", json=body)
    assert response.status_code == 200, response.text
    info = response.json()
    doc = strict_json(client.post(f"/api/models/{info['model_id']}/trace").text)
    assert doc["nodes"] == ["h_l0_reverse"]
    assert doc["loss"] == pytest.approx(engine.Network.from_onnx(reverse_gru()).run(X_BF, Y_BF).loss, rel=1e-12)
    compared = client.post("/api/compare", json={"configs": [{"model_id": info["model_id"]},
                                                             {"model_id": info["model_id"], "cell": "lstm"}]})
    assert compared.status_code == 200, compared.text
    assert [run["cell"] for run in compared.json()["runs"]] == ["gru", "lstm"]
