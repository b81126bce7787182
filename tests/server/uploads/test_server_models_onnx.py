"""ONNX models through the doors: POST /api/models with a .onnx file (batch-first layout, lengths), the
compare panel on it, `unrolled view model.onnx --input …`; every refusal a 422 naming the field (or a
command-line message naming the file). The graphs are built with onnx.helper, like an exporter's."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from onnx import helper

from unrolled import engine
from unrolled.server.cli import _parser, _view_target, record_model_trace
from onnx_models import B, I, O, T, VOCAB, gru_onnx, token_lstm_onnx
from server_helpers import app_settings, strict_json

RNG = np.random.default_rng(0)


def npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


X_BF = RNG.standard_normal((B, T, I))            # as the user trains: batch first
Y_BF = RNG.integers(0, O, (B, T))


def body(model: bytes = None, x=X_BF, **extra) -> dict:
    out = {"model": b64(gru_onnx() if model is None else model), "input": b64(npy(x)), "model_name": "tagger.onnx",
           "input_name": "batch.npy"}
    return {**out, **extra}


def test_an_onnx_upload_reads_the_users_batch_first_layout_and_traces_it(client):
    response = client.post("/api/models", json=body(targets=b64(npy(Y_BF))))
    assert response.status_code == 200, response.text
    info = response.json()
    assert (info["cell"], info["layout"], info["T"], info["batch_size"], info["targets"]) == ("gru", "batch_first", T, B, "file")
    doc = strict_json(client.post(f"/api/models/{info['model_id']}/trace").text)
    net = engine.Network.from_onnx(gru_onnx())
    assert doc["loss"] == pytest.approx(net.run(X_BF, Y_BF).loss, rel=1e-12)
    compared = client.post("/api/compare", json={"configs": [{"model_id": info["model_id"]},
                                                             {"model_id": info["model_id"], "cell": "lstm"}]})
    assert compared.status_code == 200, compared.text
    assert [run["cell"] for run in compared.json()["runs"]] == ["gru", "lstm"]


def test_an_onnx_embedding_model_with_lengths(client):
    tokens = np.random.default_rng(3).integers(0, VOCAB, (T, B))
    lengths = np.array([T, 2])
    response = client.post("/api/models", json=body(token_lstm_onnx(), tokens, lengths=b64(npy(lengths))))
    assert response.status_code == 200, response.text
    info = response.json()
    assert (info["cell"], info["layout"], info["padded"], info["input_size"]) == ("lstm", "time_first", True, I)
    doc = strict_json(client.post(f"/api/models/{info['model_id']}/trace").text)
    net = engine.Network.from_onnx(token_lstm_onnx())
    assert net.onnx_signature.lengths == "lens"
    own = np.argmax(net.run(tokens, np.full((T, B), -100), lengths=lengths).activations["logits"], axis=-1)
    assert doc["loss"] == pytest.approx(net.run(tokens, own, lengths=lengths).loss, rel=1e-12)
    compared = client.post("/api/compare", json={"configs": [{"model_id": info["model_id"]},
                                                             {"model_id": info["model_id"], "cell": "gru"}]})
    assert compared.status_code == 200, compared.text
    assert compared.json()["runs"][0]["loss"] == pytest.approx(doc["loss"], rel=1e-12)   # with its lengths
    bad = client.post("/api/models", json=body(token_lstm_onnx(), tokens + VOCAB))
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "input"]
    assert f"vocabulary is [0, {VOCAB})" in bad.json()["detail"][0]["msg"]


@pytest.mark.parametrize("model, x, extra, field, message", [
    (b"\x08\x01junk that is not protobuf\xff\xff", X_BF, {}, "model", "tagger.onnx: not an ONNX model"),
    (gru_onnx(extra={"clip": 2.0}), X_BF, {}, "model", "node 'gru' (GRU): attribute 'clip'"),
    (gru_onnx(tail=(helper.make_node("Softmax", ["logits"], ["p"], name="probs"),)), X_BF, {}, "model",
     "node 'probs' (Softmax): op type Softmax is not supported"),
    (gru_onnx(extra={"activations": ["Sigmoid", "Relu"]}), X_BF, {}, "model", "attribute 'activations'"),
    (None, X_BF, {"cell": "lstm"}, "cell", "holds a gru network; the cell option says lstm"),
    (None, RNG.standard_normal((T, B, 2)), {}, "input", "— batch first; the model's input_size is"),
    (None, X_BF, {"lengths": b64(npy(np.array([T, 0])))}, "lengths", "whole numbers in [1, 6]"),
])
def test_refusals_are_422s_naming_the_field(client, model, x, extra, field, message):
    response = client.post("/api/models", json=body(model, x, **extra))
    assert response.status_code == 422, response.text
    detail = response.json()["detail"][0]
    assert detail["loc"] == ["body", field] and message in detail["msg"], detail


def test_a_too_large_onnx_file_is_refused(make_client):
    client = make_client(max_model_mb=0.0005)
    response = client.post("/api/models", json=body())
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "model"]
    assert "the limit is" in response.json()["detail"][0]["msg"]


def test_view_model_onnx_on_the_users_layout(tmp_path):
    model, x, y = tmp_path / "tagger.onnx", tmp_path / "batch.npy", tmp_path / "y.npy"
    model.write_bytes(gru_onnx())
    np.save(x, X_BF)
    np.save(y, Y_BF)
    trace, name = _view_target(_parser().parse_args(["view", str(model), "--input", str(x), "--targets", str(y)]),
                               app_settings())
    assert name == "tagger.onnx on batch.npy" and trace.cell == "gru" and (trace.T, trace.B) == (T, B)
    assert trace.loss == pytest.approx(engine.Network.from_onnx(model).run(X_BF, Y_BF).loss, rel=1e-12)
    time_first = tmp_path / "tf.onnx"
    time_first.write_bytes(gru_onnx(batch_first=False, extra={"clip": 1.0}))
    with pytest.raises(SystemExit, match=r"tf.onnx: node 'gru' \(GRU\): attribute 'clip'"):
        record_model_trace(app_settings(), time_first, x)


def test_view_model_onnx_with_lengths(tmp_path):
    model, x, lens = tmp_path / "tokens.onnx", tmp_path / "ids.npy", tmp_path / "lens.npy"
    model.write_bytes(token_lstm_onnx())
    tokens, lengths = np.random.default_rng(4).integers(0, VOCAB, (T, B)), np.array([3, T])
    np.save(x, tokens)
    np.save(lens, lengths)
    trace, _ = _view_target(_parser().parse_args(["view", str(model), "--input", str(x), "--lengths", str(lens)]),
                            app_settings())
    assert np.array_equal(trace.lengths, lengths)
    assert not trace.activations["h_l0"][3:, 0].any()                 # padding records zeros


def test_view_never_opens_a_torch_pickle(tmp_path):
    pickle = tmp_path / "model.pt"
    pickle.write_bytes(b"\x80\x04never read")
    with pytest.raises(SystemExit, match="weights_only=True.*never loaded.*torch.onnx.export"):
        _view_target(_parser().parse_args(["view", str(pickle), "--input", str(pickle)]), app_settings())


def test_view_reads_a_state_dict_checkpoint_and_refuses_a_pickled_model(tmp_path):
    """issue 21: `unrolled view model.pt` reads torch.save(model.state_dict()) with weights_only=True."""
    import torch
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, 4).double()
    checkpoint, x = tmp_path / "model.pt", tmp_path / "seq.npy"
    torch.save(lstm.state_dict(), checkpoint)
    np.save(x, np.random.default_rng(0).standard_normal((6, 2, 3)))
    trace, name = _view_target(_parser().parse_args(["view", str(checkpoint), "--input", str(x)]), app_settings())
    out, _ = lstm(torch.tensor(np.load(x)))
    np.testing.assert_allclose(trace.activations["h_l0"], out.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert name == "model.pt on seq.npy"
    whole = tmp_path / "whole.pt"
    torch.save(lstm, whole)                                   # a pickled module: never unpickled
    with pytest.raises(SystemExit, match="never loaded"):
        _view_target(_parser().parse_args(["view", str(whole), "--input", str(x)]), app_settings())
