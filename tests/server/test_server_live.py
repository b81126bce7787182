"""A real uvicorn: in a thread (RECIPES.md) and through the `unrolled` console script."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
from websockets.sync.client import connect

from unrolled.server.app import create_app
from server_helpers import app_settings
from unrolled.server.config import resolve_config
from unrolled.server.model_source import build_model
from unrolled.server.runs import build_task, engine_inputs

UNROLLED = Path(sys.executable).parent / "unrolled"


def stream_over(url: str, start: dict) -> list[dict]:
    """Every message of one stream, from a real websocket client."""
    messages = []
    with connect(url, open_timeout=10) as ws:
        ws.send(json.dumps(start))
        while True:
            m = json.loads(ws.recv(timeout=30))
            messages.append(m)
            if m["type"] in ("done", "error"):
                return messages


@pytest.fixture()
def live_server(template_dir):
    """uvicorn on a port the OS picked, in a daemon thread; yields its base address."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(templates_dir=template_dir), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    yield f"127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def test_stream_from_a_real_uvicorn(live_server):
    messages = stream_over(f"ws://{live_server}/ws/trace",
                           {"type": "start", "config": {"preset": "gru-memory", "seq_len": 10}, "mode": "play"})
    assert messages[0]["type"] == "meta" and messages[-1] == {"type": "done"}
    assert sum(m["type"] == "event" for m in messages) == messages[0]["total_events"]
    assert httpx.get(f"http://{live_server}/healthz").json()["status"] == "ok"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(base: str, process: subprocess.Popen, timeout: float) -> float:
    """Seconds until /healthz answers (fails if the process dies or time runs out)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        assert process.poll() is None, process.stderr.read().decode()
        try:
            if httpx.get(f"{base}/healthz", timeout=0.5).status_code == 200:
                return time.monotonic() - start
        except httpx.HTTPError:
            time.sleep(0.05)
    raise AssertionError(f"not up after {timeout} s")


def run_cli(*args: str, cwd: Path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([str(UNROLLED), *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def start_serve(cwd: Path) -> tuple[subprocess.Popen, int, float]:
    """`unrolled serve` on a free port: (process, port, seconds until /healthz answered)."""
    port = free_port()
    process = run_cli("serve", "--port", str(port), cwd=cwd)
    try:
        return process, port, wait_until_up(f"http://127.0.0.1:{port}", process, timeout=15)
    except BaseException:
        process.terminate()
        process.wait(timeout=10)
        raise


def test_unrolled_serve_from_another_directory_serves_everything(tmp_path):
    # How fast it starts is measured by hand (README), never asserted: this machine is shared and noisy.
    process, port, _ = start_serve(tmp_path)  # from an unrelated directory
    try:
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/").status_code == 200
        assert httpx.get(f"{base}/vendor/plotly.min.js").status_code == 200
        assert httpx.get(f"{base}/api/presets").status_code == 200
        messages = stream_over(f"ws://127.0.0.1:{port}/ws/trace",
                               {"type": "start", "config": {"preset": "exploding", "seq_len": 5}})
        assert messages[-1] == {"type": "done"}
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_unrolled_view_serves_a_saved_trace(tmp_path):
    config = resolve_config({"preset": "char-lm", "seq_len": 6})
    task = build_task(config)
    x, targets = engine_inputs(config, task)
    build_model(config, task).model.run(x, targets, loss=task.loss).save(tmp_path / "run.npz")
    port = free_port()
    process = run_cli("view", "run.npz", "--port", str(port), cwd=tmp_path)
    try:
        wait_until_up(f"http://127.0.0.1:{port}", process, timeout=10)
        messages = stream_over(f"ws://127.0.0.1:{port}/ws/trace", {"type": "start", "source": "loaded"})
        assert "run.npz" in messages[0]["title"] and messages[-1] == {"type": "done"}
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_binding_every_interface_warns_loudly():
    from unrolled.server.cli import _warn_if_public
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        _warn_if_public("0.0.0.0", app_settings())
    assert "WARNING" in err.getvalue() and "0.0.0.0" in err.getvalue()
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        _warn_if_public("127.0.0.1", app_settings())
    assert err.getvalue() == ""


def test_serve_closes_a_socket_that_sends_an_oversized_message_with_1009(tmp_path):
    """`unrolled serve` caps socket messages at max_message_bytes in uvicorn itself (nothing is buffered)."""
    from websockets.exceptions import ConnectionClosed

    settings = app_settings()
    process, port, _ = start_serve(tmp_path)
    try:
        with connect(f"ws://127.0.0.1:{port}/ws/trace", open_timeout=10, max_size=None) as ws:
            ws.send("x" * (settings.max_message_bytes + 1))
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)
