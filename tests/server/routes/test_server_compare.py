"""POST /api/compare: side-by-side runs on the same data, their decay profiles and diagnoses, and the
per-loss-term breakdown (a loss at every step against a loss at the end only)."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
import torch

from unrolled.server.compare import breakdown_targets
from server_helpers import strict_json

COPY = {"task": "copy", "seq_len": 30, "hidden_size": 16, "forget_bias": 2.0}


def compare(client, body: dict) -> dict:
    """A successful compare's document (strict JSON: no NaN/Infinity literals)."""
    response = client.post("/api/compare", json=body)
    assert response.status_code == 200, response.text
    return strict_json(response.text)


def test_tanh_lstm_and_gru_decay_curves_order_as_expected(client):
    doc = compare(client, {"base": COPY, "vary": {"cell": ["rnn_tanh", "lstm", "gru"]}})
    runs = {r["cell"]: r for r in doc["runs"]}
    assert [r["label"] for r in doc["runs"]] == ["cell = rnn_tanh", "cell = lstm", "cell = gru"]
    factor = {cell: r["vanishing"]["factor"] for cell, r in runs.items()}
    assert factor["rnn_tanh"] < factor["gru"] < factor["lstm"], factor      # the forget gate keeps it alive
    for run in doc["runs"]:
        profile = run["vanishing"]
        assert len(profile["norms"]) == len(profile["distance"]) == 30 and profile["k"] == 29
        assert len(run["gradient_norms"]["h_l0"]) == 30 and isinstance(run["loss"], float)
    assert "vanishing" in {f["kind"] for f in runs["rnn_tanh"]["diagnosis"]}
    assert "vanishing" not in {f["kind"] for f in runs["lstm"]["diagnosis"]}


def test_recurrent_scale_orders_the_factor(client):
    doc = compare(client, {"base": {"preset": "vanishing-tanh", "seq_len": 30},
                           "vary": {"recurrent_scale": [0.5, 1.0, 1.5]}})
    factors = [r["vanishing"]["factor"] for r in doc["runs"]]
    assert factors[0] < factors[1] < factors[2], factors
    assert [r["spec"]["recurrent_scale"] for r in doc["runs"]] == [0.5, 1.0, 1.5]


def test_breakdown_contrasts_a_loss_at_every_step_with_one_at_the_end(client):
    doc = compare(client, {"configs": [{**COPY, "cell": "rnn_tanh"}, {**COPY, "cell": "lstm"}]})
    every, end = doc["breakdown"]["every"], doc["breakdown"]["end"]
    assert doc["breakdown"]["label"] == doc["runs"][0]["label"]
    assert end["ks"] == [29] and end["has_target"] == [False] * 29 + [True]
    assert every["ks"] == list(range(30)) and all(every["has_target"])
    matrix = np.array(every["matrix"], dtype=float)                       # (K, T) ‖∂L_k/∂h_t‖
    assert matrix.shape == (30, 30) and np.all(np.triu(matrix, 1).T == 0)   # L_k reaches back only
    # with a loss at every step, early states still get a gradient from nearby terms; at the end only, they starve
    assert every["gradient_norms"][0] > 1e3 * end["gradient_norms"][0]
    assert end["loss"] == pytest.approx(doc["runs"][0]["loss"])          # copy asks only at the end


def test_breakdown_targets_fill_each_step_with_the_next_answer():
    y = np.array([[-100, 4], [-100, -100], [3, 5], [-100, -100]])          # (T=4, B=2)
    split = breakdown_targets(y, "cross_entropy")
    assert split["every"].tolist() == [[3, 4], [3, 5], [3, 5], [-100, -100]]
    assert split["end"].tolist() == [[-100, -100], [-100, -100], [3, 5], [-100, -100]]
    mse = np.full((3, 1, 2), -100.0)
    mse[2, 0] = [0.5, 1.5]
    assert breakdown_targets(mse, "mse")["every"][0, 0].tolist() == [0.5, 1.5]


def test_an_uploaded_lstm_is_compared_with_a_gru_on_its_input(client):
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, 8)
    buffer, x = io.BytesIO(), io.BytesIO()
    np.savez(buffer, **{k: v.detach().numpy() for k, v in lstm.state_dict().items()})
    np.save(x, np.random.default_rng(0).standard_normal((12, 3)))
    info = client.post("/api/models", json={"model": base64.b64encode(buffer.getvalue()).decode(),
                                            "input": base64.b64encode(x.getvalue()).decode()}).json()
    doc = compare(client, {"configs": [{"model_id": info["model_id"]}, {"model_id": info["model_id"], "cell": "gru"}]})
    mine, gru = doc["runs"]
    assert mine["label"] == "your model model.npz (lstm)" and gru["label"] == "random gru (seed 0)"
    assert (mine["cell"], gru["cell"], mine["T"], gru["T"]) == ("lstm", "gru", 12, 12)
    assert mine["loss_type"] == gru["loss_type"] == "cross_entropy"
    assert len(doc["breakdown"]["every"]["ks"]) == 12


@pytest.mark.parametrize("body, loc", [
    ({"configs": [{"cell": "lstm"}]}, ["body", "configs"]),
    ({"configs": [{}] * 5}, ["body", "configs"]),
    ({"configs": [{}, {"hidden_size": 0}]}, ["body", "configs", 1, "hidden_size"]),
    ({"configs": [{}, {"seq_len": 1000, "hidden_size": 256}]}, ["body", "configs", 1, "seq_len"]),
    ({"base": {}, "vary": {"cell": ["lstm", "gru"], "seed": [1, 2]}}, ["body"]),
    ({"base": {}, "vary": {"cell": ["lstm"]}}, ["body"]),
    ({"base": {}, "vary": {"cell": ["lstm", "bogus"]}}, ["body", "vary", "cell", 1, "cell"]),
    ({"configs": [{}, {"model_id": "feedbeef"}]}, ["body", "configs", 1, "model_id"]),
    ({"configs": [{}, {"model_id": "feedbeef", "hidden_size": 3}]}, ["body", "configs", 1, "hidden_size"]),
], ids=["one", "five", "field", "units", "two-fields", "one-value", "bad-value", "unknown-model", "model-extra"])
def test_bad_compare_requests_are_422_naming_the_field(client, body, loc):
    response = client.post("/api/compare", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][: len(loc)] == loc, response.json()


def _upload(client, module, x: np.ndarray, name: str) -> dict:
    buffer, data = io.BytesIO(), io.BytesIO()
    np.savez(buffer, **{k: v.detach().numpy() for k, v in module.state_dict().items()})
    np.save(data, x)
    response = client.post("/api/models", json={"model": base64.b64encode(buffer.getvalue()).decode(),
                                                "input": base64.b64encode(data.getvalue()).decode(),
                                                "model_name": name})
    assert response.status_code == 200, response.text
    return response.json()


def test_two_checkpoints_are_compared_on_the_same_data(client):
    """issue 21: before and after a loss spike — the second model reads the first one's input."""
    torch.manual_seed(0)
    before = torch.nn.GRU(3, 8)
    after = torch.nn.GRU(3, 8)
    with torch.no_grad():
        after.weight_hh_l0.mul_(6.0)                        # the spike blew up the recurrent weights
    rng = np.random.default_rng(0)
    x_before, x_other = rng.standard_normal((12, 3)), rng.standard_normal((5, 3))
    first = _upload(client, before, x_before, "before.npz")
    second = _upload(client, after, x_other, "after.npz")
    doc = compare(client, {"configs": [{"model_id": first["model_id"]},
                                       {"model_id": second["model_id"], "data_from": first["model_id"]}]})
    a, b = doc["runs"]
    assert (a["T"], b["T"]) == (12, 12)                      # the second ran on the first one's 12 steps
    assert a["label"].startswith("your model before.npz") and b["label"].startswith("your model after.npz")
    assert b["vanishing"]["sigma_max"] > 3 * a["vanishing"]["sigma_max"]
    lstm = _upload(client, torch.nn.LSTM(4, 8), rng.standard_normal((6, 4)), "other.npz")
    response = client.post("/api/compare", json={"configs": [{"model_id": first["model_id"]},
                                                             {"model_id": first["model_id"], "data_from": lstm["model_id"]}]})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] == "data_from"
