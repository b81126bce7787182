"""Helpers of the server tests: app settings, timed socket receives and strict JSON parsing."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from pathlib import Path

import anyio

from unrolled.server.settings import Settings
from unrolled.server.uploads.model_spill import SpilledFiles
from unrolled.server.uploads.models import ModelStore


def app_settings(**changes) -> Settings:
    """The process's settings (its environment's) with ``changes`` (Settings fields). Starlette's
    TestClient sends ``Host: testserver``, so that name is on the Host allow-list unless changed."""
    changes.setdefault("allowed_hosts", ("testserver",))
    return dataclasses.replace(Settings.from_env(), **changes)


def private_store(settings: Settings, folder: Path) -> ModelStore:
    """A model store whose files are shared in ``folder`` (a test's own), not the machine's folder."""
    return ModelStore(settings, SpilledFiles(folder, settings.max_spill_bytes))


def receive(ws, timeout: float = 20.0) -> dict:
    """The next JSON message of a TestClient socket; TimeoutError instead of hanging."""

    async def get():
        with anyio.fail_after(timeout):
            return await ws._send_rx.receive()

    message = ws.portal.call(get)
    assert message["type"] == "websocket.send", message
    return json.loads(message["text"])


def receive_until(ws, types: set[str], timeout: float = 30.0) -> list[dict]:
    """Every message up to and including the first whose type is in ``types``."""
    out = []
    while True:
        m = receive(ws, timeout)
        out.append(m)
        if m["type"] in types:
            return out


def strict_json(text: str):
    """json.loads that refuses NaN/Infinity literals (the server must never send them)."""

    def refuse(name: str):
        raise AssertionError(f"bare {name} in JSON")

    return json.loads(text, parse_constant=refuse)


def threads_named(name: str) -> int:
    """How many live threads are called `name` (the server's "unrolled-stream" / "unrolled-train" workers)."""
    return sum(t.name == name for t in threading.enumerate())


def wait_for_no_threads(name: str, timeout: float = 10.0) -> None:
    """Poll until no thread called `name` is alive (fails after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while threads_named(name) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert threads_named(name) == 0
