"""`unrolled view trace.npz`: a trace saved by the engine is loaded safely and streamed as source "loaded"."""

from __future__ import annotations

import json
import re

import pytest

from unrolled import engine
from unrolled.server.cli import load_saved_trace
from server_helpers import app_settings
from unrolled.server.config import resolve_config
from unrolled.server.model_source import build_model
from unrolled.server.runs import build_task, engine_inputs
from server_helpers import receive, receive_until

SETTINGS = app_settings()


@pytest.fixture()
def saved_trace(tmp_path):
    config = resolve_config({"preset": "bidirectional", "seq_len": 5})
    task = build_task(config)
    x, targets = engine_inputs(config, task)
    trace = build_model(config, task).model.run(x, targets, loss=task.loss)
    path = tmp_path / "my_run.npz"
    trace.save(path)
    return path, trace


def test_view_streams_the_saved_trace(make_client, saved_trace):
    path, original = saved_trace
    client = make_client(loaded_trace=(load_saved_trace(path, SETTINGS), path.name))
    page = client.get("/").text
    data = json.loads(re.search(r'id="page-data" type="application/json">(.*?)</script>', page, re.S).group(1))
    assert data["view_trace"] is True
    with client.websocket_connect("/ws/trace") as ws:
        ws.send_json({"type": "start", "source": "loaded", "mode": "play"})
        messages = receive_until(ws, {"done", "error"})
    meta, summary = messages[0], messages[-2]
    assert meta["type"] == "meta" and meta["config"] is None and "my_run.npz" in meta["title"]
    assert meta["nodes"] == ["h_l0", "h_l0_reverse"] and meta["T"] == 5 and meta["directions"] == 2
    events = [m for m in messages if m["type"] == "event"]
    assert len(events) == meta["total_events"] == engine.event_count(5, 1, 2)
    assert summary["type"] == "summary" and summary["loss"] == float(original.loss)
    assert messages[-1] == {"type": "done"}


def test_a_config_start_still_works_beside_a_loaded_trace(make_client, saved_trace):
    path, _ = saved_trace
    client = make_client(loaded_trace=(load_saved_trace(path, SETTINGS), path.name))
    with client.websocket_connect("/ws/trace") as ws:
        ws.send_json({"type": "start", "config": {"preset": "exploding", "seq_len": 4}})
        assert receive(ws)["config"]["preset"] == "exploding"


def test_missing_bad_and_oversized_files_exit_with_a_message(tmp_path, saved_trace):
    with pytest.raises(SystemExit, match="no such file"):
        load_saved_trace(tmp_path / "absent.npz", SETTINGS)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file at all")
    with pytest.raises(SystemExit, match="junk.npz"):
        load_saved_trace(junk, SETTINGS)
    path, _ = saved_trace
    with pytest.raises(SystemExit, match="limit"):
        load_saved_trace(path, app_settings(max_trace_file_mb=0))


def test_a_file_that_unpacks_beyond_the_limit_is_refused_before_reading(tmp_path):
    """A few KB of compressed zeros can declare gigabytes: the declared size is checked first."""
    import numpy as np

    path = tmp_path / "zeros.npz"
    np.savez_compressed(path, meta=np.array("{}"), x=np.zeros(3 * 2**20 // 8))   # 3 MB of zeros, ~3 KB on disk
    assert path.stat().st_size < 2**16
    with pytest.raises(SystemExit, match=r"unpack to 3 MB; the limit is 2 MB \(raise it with UNROLLED_MAX_TRACE_UNPACKED_MB\)"):
        load_saved_trace(path, app_settings(max_trace_unpacked_mb=2))
    with pytest.raises(SystemExit, match="bad metadata|not a trace"):                       # read, then refused
        load_saved_trace(path, app_settings(max_trace_unpacked_mb=4))


def test_pickled_npz_is_refused(tmp_path):
    import numpy as np

    path = tmp_path / "pickled.npz"
    np.savez(path, meta=np.array([{"evil": 1}], dtype=object))
    with pytest.raises(SystemExit):
        load_saved_trace(path, SETTINGS)
