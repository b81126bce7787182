"""A client that vanishes mid-stream (no close frame: a lid shut, a wifi drop) leaves no task, thread
or engine slot behind, and nothing in the log, against a real uvicorn in a thread of this process."""

from __future__ import annotations

import gc
import json
import logging
import socket

import pytest
from websockets.sync.client import connect

from server_helpers import app_settings, serve_in_thread, threads_named, wait_until
from unrolled.server.app import create_app

STREAMS = {
    "/ws/trace": ({"type": "start", "config": {"cell": "rnn_tanh", "seq_len": 400, "hidden_size": 8, "task": "copy"},
                   "mode": "play", "delay_ms": 5}, "unrolled-stream", "event"),
    "/ws/train": ({"type": "start", "config": {"preset": "char-lm", "seq_len": 6, "hidden_size": 4, "batch_size": 1,
                                                 "epochs": 5000}}, "unrolled-train", "epoch"),
}


def vanish(ws) -> None:
    """Drop the TCP connection without a close frame."""
    ws.socket.shutdown(socket.SHUT_RDWR)
    ws.socket.close()


@pytest.mark.parametrize("path", sorted(STREAMS))
def test_a_client_vanishing_mid_stream_leaves_nothing_behind(template_dir, caplog, path):
    start, thread_name, flowing = STREAMS[path]
    app = create_app(app_settings(), templates_dir=template_dir)
    slots = app.state.slots
    with caplog.at_level(logging.INFO), serve_in_thread(app) as server:
        baseline = server.tasks()
        with connect(f"ws://{server.base}{path}", open_timeout=10, max_queue=None) as ws:
            ws.send(json.dumps(start))
            seen = 0
            while seen < 3:  # the stream is flowing
                seen += json.loads(ws.recv(timeout=30))["type"] == flowing
            assert threads_named(thread_name) == 1 and server.tasks() != baseline
            vanish(ws)
        wait_until(lambda: threads_named(thread_name) == 0, 30, "the worker thread to end")
        wait_until(lambda: server.tasks() == baseline, 10, "the socket's tasks to end")
        assert [slots.try_acquire() for _ in range(slots.size)] == [True] * slots.size
        for _ in range(slots.size):
            slots.release()
        gc.collect()  # an unretrieved task exception is reported when its task is collected
    noisy = [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING]
    assert noisy == []
