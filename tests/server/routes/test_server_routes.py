"""The HTTP routes: the page, plotly, health, presets, static files and the OpenAPI schema."""

from __future__ import annotations

import json
import re

from unrolled.server.paths import STATIC_DIR
from unrolled.server.presets import PRESET_NAMES
from unrolled.server.config import SCHEMA_SETTINGS as settings

REQUIRED_PRESETS = {"vanishing-tanh", "exploding", "lstm-memory", "gru-memory", "bidirectional", "char-lm",
                    "pos-tagging", "sequence-classification", "clipping", "truncated-bptt"}


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


def test_page_renders_page_data_and_local_plotly(client):
    r = client.get("/")
    assert r.status_code == 200
    assert 'src="/vendor/plotly.min.js"' in r.text
    blob = re.search(r'<script id="page-data" type="application/json">(.*?)</script>', r.text, re.S).group(1)
    data = json.loads(blob)
    assert [p["name"] for p in data["presets"]] == list(PRESET_NAMES)
    assert data["defaults"]["cell"] == "rnn_tanh" and data["defaults"]["loss"] == "cross_entropy"
    fields = {f["name"]: f for f in data["config_fields"]}
    assert (fields["seq_len"]["minimum"], fields["seq_len"]["maximum"]) == (2, settings.max_seq_len)
    assert data["limits"] == {"units": [1, settings.max_units], "seq2seq_len": [2, settings.max_seq2seq_len],
                              "delay_ms": [0, settings.max_delay_ms]}   # only what no field states
    assert set(data["tasks"]) == {"copy", "adding", "char_lm", "tagging", "sine", "reverse"}
    assert set(data["cells"]) == {"rnn_tanh", "rnn_relu", "lstm", "gru", "lstm_peephole", "lstm_coupled", "gru_reset_before"}
    assert data["view_trace"] is False
    assert isinstance(data["version"], str) and data["version"]


def test_plotly_is_served_from_the_installed_package(client):
    r = client.get("/vendor/plotly.min.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/javascript")
    assert len(r.content) > 1_000_000
    assert b"plotly" in r.content[:2000].lower()


def test_static_files_are_mounted(client):
    files = sorted(p for p in STATIC_DIR.rglob("*") if p.is_file())
    assert files, f"no static files under {STATIC_DIR}"
    r = client.get("/static/" + files[0].relative_to(STATIC_DIR).as_posix())
    assert r.status_code == 200 and r.content == files[0].read_bytes()
    assert client.get("/static/../server/app.py").status_code == 404


def test_presets_list(client):
    r = client.get("/api/presets")
    assert r.status_code == 200
    presets = r.json()
    assert REQUIRED_PRESETS <= {p["name"] for p in presets}
    for p in presets:
        assert p["title"] and 20 < len(p["story"]) < 400
        assert p["config"]["preset"] == p["name"]
        assert p["config"]["seq_len"] >= 2  # fully resolved: every field present
        assert set(p["config"]) >= {"cell", "hidden_size", "num_layers", "bidirectional", "task", "seq_len",
                                    "batch_size", "recurrent_scale", "seed", "loss", "dtype", "batch_index"}


def test_openapi_documents_every_http_route_and_its_errors(client):
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    assert {"/", "/healthz", "/api/presets", "/api/trace"} <= set(paths)
    responses = paths["/api/trace"]["post"]["responses"]
    assert {"200", "422", "503"} <= set(responses)
    config_schema = spec["components"]["schemas"]["TraceConfig"]["properties"]
    assert config_schema["seq_len"]["maximum"] == settings.max_seq_len
    assert config_schema["hidden_size"]["maximum"] == settings.max_hidden_size


def test_unknown_route_is_404(client):
    assert client.get("/nope").status_code == 404
