"""Hardening against a real uvicorn: abandoned sockets release everything; Ctrl-C closes streams cleanly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
import uvicorn
from websockets.sync.client import connect

from unrolled.server.app import create_app

UNROLLED = Path(sys.executable).parent / "unrolled"
LONG = {"cell": "rnn_tanh", "seq_len": 400, "hidden_size": 8, "task": "copy"}
SMALL = {"preset": "lstm-memory", "seq_len": 4, "hidden_size": 3, "batch_size": 1}


def rss_mib() -> float:
    """This process's resident memory, from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def server_threads() -> int:
    """Threads of this process except the websocket clients' own (the server runs in a thread here)."""
    return sum(not t.name.endswith(("(recv_events)", "(keepalive)")) for t in threading.enumerate())


def stream_threads() -> int:
    return sum(t.name == "unrolled-stream" for t in threading.enumerate())


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture()
def threaded_server(template_dir):
    """uvicorn in a daemon thread of this process (so its threads and memory are ours to count)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(templates_dir=template_dir)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_for(lambda: server.started, 10, "uvicorn to start")
    yield app, f"127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def vanish(ws) -> None:
    """Drop the TCP connection without a close frame (a laptop lid shut, a wifi drop)."""
    ws.socket.shutdown(socket.SHUT_RDWR)
    ws.socket.close()


def play_small(base: str) -> list[dict]:
    with connect(f"ws://{base}/ws/trace", open_timeout=10) as ws:
        ws.send(json.dumps({"type": "start", "config": SMALL}))
        messages = []
        while not messages or messages[-1]["type"] not in ("done", "error"):
            messages.append(json.loads(ws.recv(timeout=30)))
        return messages


def test_fifty_abandoned_streams_release_their_threads_slots_and_memory(threaded_server):
    app, base = threaded_server
    slots = app.state.slots
    play_small(base)  # warm up (imports, first allocations) before the baseline
    baseline_threads, baseline_rss = server_threads(), rss_mib()
    with ExitStack() as sockets:
        clients = []
        for i in range(50):  # 8 run (some mid-play, some paused in step mode), the rest wait in the queue
            ws = sockets.enter_context(connect(f"ws://{base}/ws/trace", open_timeout=10))
            mode = "step" if i % 2 else "play"
            ws.send(json.dumps({"type": "start", "config": LONG, "mode": mode, "delay_ms": 20}))
            clients.append(ws)
        for ws in clients:
            assert json.loads(ws.recv(timeout=30))["type"] in ("meta", "queued")
        wait_for(lambda: stream_threads() == slots.size, 20, "every slot to be busy")
        for ws in clients:
            vanish(ws)
    wait_for(lambda: stream_threads() == 0, 30, "the stream threads to end")
    wait_for(lambda: slots.queued == 0, 10, "the queue to empty")
    assert play_small(base)[-1] == {"type": "done"}  # every slot is free again: this one ran at once
    assert [slots.try_acquire() for _ in range(slots.size)] == [True] * slots.size
    for _ in range(slots.size):
        slots.release()
    # + the event loop's default executor (at most min(32, cores + 4) idle threads, kept for reuse)
    wait_for(lambda: server_threads() <= baseline_threads + min(32, (os.cpu_count() or 1) + 4), 20,
             "the thread count to settle")
    assert rss_mib() < baseline_rss + 150  # generous: the allocator keeps some freed memory


def test_ctrl_c_closes_every_open_stream_with_a_close_frame(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([str(UNROLLED), "serve", "--port", str(port)], cwd=tmp_path,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            assert server.poll() is None, server.stderr.read().decode()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "unrolled serve did not come up"
            time.sleep(0.1)
        sockets = ExitStack()
        stepping = sockets.enter_context(connect(f"ws://127.0.0.1:{port}/ws/trace", open_timeout=10))
        playing = sockets.enter_context(connect(f"ws://127.0.0.1:{port}/ws/trace", open_timeout=10))
        stepping.send(json.dumps({"type": "start", "config": LONG, "mode": "step"}))
        playing.send(json.dumps({"type": "start", "config": LONG, "mode": "play", "delay_ms": 50}))
        assert json.loads(stepping.recv(timeout=20))["type"] == "meta"
        assert json.loads(playing.recv(timeout=20))["type"] == "meta"
        server.send_signal(signal.SIGINT)
        for ws in (stepping, playing):
            with pytest.raises(Exception) as closed:
                for _ in range(10_000):
                    ws.recv(timeout=15)
            assert type(closed.value).__name__.startswith("ConnectionClosed"), closed.value
            assert ws.close_code in (1000, 1001, 1012), ws.close_code  # a close frame, not a dropped TCP
        sockets.close()
        assert server.wait(timeout=20) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
