"""Helpers of the server tests: app settings, timed socket receives and strict JSON parsing."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import uvicorn

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


@dataclasses.dataclass
class LiveServer:
    """A real uvicorn serving an app in a thread of this process (its threads and tasks are ours to count)."""

    base: str  # "127.0.0.1:port"
    loop: asyncio.AbstractEventLoop
    server: uvicorn.Server

    def tasks(self) -> list[str]:
        """The names of the server loop's tasks (asked on that loop, from this thread)."""

        async def names() -> list[str]:
            me = asyncio.current_task()
            return sorted(t.get_name() for t in asyncio.all_tasks() if t is not me)

        return asyncio.run_coroutine_threadsafe(names(), self.loop).result(timeout=10)


@contextmanager
def serve_in_thread(app, timeout: float = 20.0) -> Iterator[LiveServer]:
    """uvicorn on a free 127.0.0.1 port (bound here: no port race) in a daemon thread, until the block ends."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    # log_config=None: uvicorn's records reach the root logger (and pytest's caplog)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", log_config=None))
    loops: list[asyncio.AbstractEventLoop] = []

    async def serve() -> None:
        loops.append(asyncio.get_running_loop())
        await server.serve(sockets=[sock])

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield LiveServer(f"127.0.0.1:{sock.getsockname()[1]}", loops[0], server)
    finally:
        server.should_exit = True
        thread.join(timeout=timeout)
        sock.close()


def wait_until(condition, timeout: float, what: str) -> None:
    """Poll ``condition`` until true; fails after ``timeout`` seconds naming ``what``."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


class QueueWorker:
    """A stand-in for a stream's worker: the test puts its items on ``queue``; it records how the session
    paced it (``ahead``: each compute_ahead call)."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue = asyncio.Queue()
        self.ahead: list[bool] = []

    def consumed(self) -> None:
        """The session sent an event (nothing to compute here)."""

    def compute_ahead(self, unbounded: bool) -> None:
        """Record the session's pacing."""
        self.ahead.append(unbounded)

    def stop(self) -> None:
        """Nothing runs."""


class SentMessages(list):
    """A socket's ``send_text`` stand-in: every message sent, parsed, in order."""

    async def __call__(self, text: str) -> None:
        self.append(json.loads(text))
