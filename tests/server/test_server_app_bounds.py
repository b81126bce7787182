"""An app's own settings govern its request schemas: REST bodies, /openapi.json, /ws/trace, /ws/train
and the page data carry the bounds of the settings it was created with, while an app with the
default settings in the same process keeps the defaults."""

from __future__ import annotations

import json
import re

from server_helpers import receive

from unrolled.server.config import SCHEMA_SETTINGS as defaults

SMALL = {"preset": "vanishing-tanh", "seq_len": 8, "hidden_size": 4}


def _page_data(client) -> dict:
    html = client.get("/").text
    match = re.search(r'<script[^>]*id="page-data"[^>]*>(.*?)</script>', html, re.S)
    assert match, "the page carries its data in a #page-data script"
    return json.loads(match.group(1))


def _seq_len_bound(fields: list[dict]) -> int:
    return next(f["maximum"] for f in fields if f["name"] == "seq_len")


def _config_schema(client) -> dict:
    """The /api/trace body schema of the app's /openapi.json."""
    spec = client.get("/openapi.json").json()
    ref = spec["paths"]["/api/trace"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]


def test_rest_and_openapi_follow_each_apps_own_bounds(make_client):
    small, large, default = make_client(max_seq_len=50), make_client(max_hidden_size=512), make_client()
    too_long = {**SMALL, "seq_len": 60}
    refused = small.post("/api/trace", json=too_long)
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"][-1] == "seq_len"
    assert default.post("/api/trace", json=too_long).status_code == 200
    wide = {**SMALL, "seq_len": 2, "hidden_size": 400}
    assert large.post("/api/trace", json=wide).status_code == 200
    assert default.post("/api/trace", json=wide).status_code == 422
    assert _config_schema(small)["properties"]["seq_len"]["maximum"] == 50
    assert _config_schema(large)["properties"]["hidden_size"]["maximum"] == 512
    assert _config_schema(default)["properties"]["seq_len"]["maximum"] == defaults.max_seq_len
    assert _config_schema(default)["properties"]["hidden_size"]["maximum"] == defaults.max_hidden_size


def test_compare_follows_the_apps_bounds(make_client):
    small, default = make_client(max_seq_len=50, max_compare_runs=2), make_client()
    base = {"base": {**SMALL, "seq_len": 60}, "vary": {"cell": ["rnn_tanh", "gru"]}}
    refused = small.post("/api/compare", json=base)
    assert refused.status_code == 422 and "seq_len" in refused.json()["detail"][0]["loc"]
    three = {"base": SMALL, "vary": {"seed": [0, 1, 2]}}
    assert "2 to 2 values" in json.dumps(small.post("/api/compare", json=three).json())
    assert default.post("/api/compare", json=three).status_code == 200


def test_the_page_data_states_the_apps_bounds(make_client):
    small, large, default = make_client(max_seq_len=50, max_delay_ms=7), make_client(max_hidden_size=512), make_client()
    data = _page_data(small)
    assert _seq_len_bound(data["config_fields"]) == 50
    assert data["limits"]["delay_ms"] == [0, 7]
    hidden = next(f["maximum"] for f in _page_data(large)["config_fields"] if f["name"] == "hidden_size")
    assert hidden == 512
    assert _seq_len_bound(_page_data(default)["config_fields"]) == defaults.max_seq_len
    assert _page_data(default)["limits"]["delay_ms"] == [0, defaults.max_delay_ms]


def test_the_trace_socket_follows_the_apps_bounds(make_client):
    small, default = make_client(max_seq_len=50, max_delay_ms=7), make_client()
    with small.websocket_connect("/ws/trace") as ws:
        ws.send_json({"type": "start", "config": {**SMALL, "seq_len": 60}, "mode": "step"})
        reply = receive(ws)
        assert reply["type"] == "error" and reply["field"] == "seq_len"
        ws.send_json({"type": "start", "config": SMALL, "mode": "step", "delay_ms": 8})
        reply = receive(ws)
        assert reply["type"] == "error" and reply["field"] == "delay_ms"
        ws.send_json({"type": "start", "config": SMALL, "mode": "step", "delay_ms": 7})
        assert receive(ws)["type"] == "meta"
        ws.send_json({"type": "play", "delay_ms": 8})
        reply = receive(ws)
        assert reply["type"] == "error" and reply["field"] == "delay_ms"
    with default.websocket_connect("/ws/trace") as ws:
        ws.send_json({"type": "start", "config": {**SMALL, "seq_len": 60}, "mode": "step", "delay_ms": 8})
        assert receive(ws)["type"] == "meta"


def test_the_train_socket_follows_the_apps_bounds(make_client):
    small = make_client(max_seq_len=50)
    with small.websocket_connect("/ws/train") as ws:
        ws.send_json({"type": "start", "config": {**SMALL, "seq_len": 60, "epochs": 1}})
        reply = receive(ws)
        assert reply["type"] == "error" and reply["field"] == "seq_len"
