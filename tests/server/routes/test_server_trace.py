"""POST /api/trace: the whole trace, full precision, with NaN/Inf encoded as strings."""

from __future__ import annotations

import re

import numpy as np

from unrolled.server.config import resolve_config
from unrolled.server.runs import compute_trace
from server_helpers import strict_json

NONFINITE = {"NaN", "Infinity", "-Infinity"}


def test_trace_has_every_attribute_at_full_precision(client):
    body = {"cell": "lstm", "hidden_size": 5, "num_layers": 2, "bidirectional": True, "task": "tagging",
            "seq_len": 7, "batch_size": 3, "seed": 4}
    r = client.post("/api/trace", json=body)
    assert r.status_code == 200
    doc = strict_json(r.text)
    trace, _ = compute_trace(resolve_config(body))
    assert doc["loss"] == float(trace.loss)  # bit for bit: no rounding on REST
    assert doc["nodes"] == ["h_l0", "h_l0_reverse", "h_l1", "h_l1_reverse"]
    assert np.array_equal(np.array(doc["activations"]["c_l1_reverse"]), trace.activations["c_l1_reverse"])
    assert np.array_equal(np.array(doc["gradients"]["h_l0"]), trace.gradients["h_l0"])
    assert set(doc["grads"]) == set(trace.grads)
    assert np.array(doc["grads"]["weight_hh_l1_reverse"]).shape == (4 * 5, 5)
    assert np.array(doc["grad_contributions"]["weight_ih_l0"]).shape == (7,)
    assert set(doc["jacobian_norms"]) == set(doc["nodes"])
    assert np.array(doc["gradient_norms"]["h_l1"]).shape == (7,)
    assert np.array(doc["loss_t"]).shape == (7,)
    assert doc["input_labels"][0][:3] == ["I", "like", "cake"]
    assert doc["target_labels"][0][:3] == ["PRON", "VERB", "NOUN"]
    assert doc["config"]["loss"] == "cross_entropy" and doc["config"]["seq_len"] == 7
    assert set(doc["vanishing"]["h_l0"]) >= {"k", "distance", "norms", "factor", "bound", "sigma_max"}
    assert len(doc["flow"]["h_l0"]["ks"]) == len(doc["flow"]["h_l0"]["matrix"])


def test_exploding_relu_net_is_encoded_not_a_500(client):
    body = {"cell": "rnn_relu", "recurrent_scale": 10.0, "seq_len": 1000, "hidden_size": 8, "task": "copy"}
    r = client.post("/api/trace", json=body)
    assert r.status_code == 200
    assert not re.search(r'[:,\[]\s*-?(NaN|Infinity)\b', r.text)  # no bare literal (text may mention NaN)
    doc = strict_json(r.text)
    h = doc["activations"]["h_l0"]
    flat = [v for step in h for row in step for v in row]
    assert NONFINITE & {v for v in flat if isinstance(v, str)}
    assert all(isinstance(v, float) or v in NONFINITE for v in flat)
    assert isinstance(doc["loss"], (float, str))


def test_float32_traces_run(client):
    r = client.post("/api/trace", json={"preset": "gru-memory", "dtype": "float32", "seq_len": 10})
    assert r.status_code == 200
    assert strict_json(r.text)["config"]["dtype"] == "float32"


def test_trace_is_refused_when_every_slot_is_taken(make_client):
    client = make_client(max_streams=1)
    slots = client.app.state.slots
    assert slots.try_acquire()
    try:
        r = client.post("/api/trace", json={"preset": "exploding"})
        assert r.status_code == 503
        assert "busy" in r.json()["detail"]
    finally:
        slots.release()
    assert client.post("/api/trace", json={"preset": "exploding"}).status_code == 200


def test_trace_npz_is_the_same_trace_lossless(client):
    """POST /api/trace.npz: the archive engine.load_trace reads (no pickle), equal to a direct run."""
    import io

    from unrolled import engine

    config = {"preset": "lstm-memory", "seq_len": 12}
    r = client.post("/api/trace.npz", json=config)
    assert r.status_code == 200 and r.headers["content-type"] == "application/octet-stream"
    loaded = engine.load_trace(io.BytesIO(r.content))
    direct, _ = compute_trace(resolve_config(config))
    assert loaded.loss == direct.loss
    for name, value in direct.gradients.items():
        np.testing.assert_array_equal(loaded.gradients[name], value)
    with np.load(io.BytesIO(r.content), allow_pickle=False) as archive:
        assert "meta" in archive.files
    bad = client.post("/api/trace.npz", json={"preset": "lstm-memory", "seq_len": 100000})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "seq_len"
