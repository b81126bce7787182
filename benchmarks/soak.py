"""Soak: 200 clients for 2 minutes against a real `unrolled serve`, mixing everything a lecture hall
and a flaky network do (issue 18). Run by hand (a measurement, not a test; loopback only, bounded)::

    .venv/bin/python benchmarks/soak.py                      # 200 clients, 120 s
    .venv/bin/python benchmarks/soak.py --clients 50 --seconds 30

Each client repeats, until the time is up, a scenario drawn from a seeded generator:

* ``stream``  plays a small config at the page's pace and closes once done (or after 5 s, queued or mid-stream);
* ``stepper`` starts in step mode, steps, pauses, plays, pauses and closes;
* ``garbage`` sends 10 bad messages (random bytes, 5000-deep arrays, invalid starts, {"type": 3},
  a NaN breakpoint), reading at most one reply each, and closes;
* ``vanish``  starts a stream and drops the TCP connection without a close frame;
* ``upload``  uploads a small LSTM (POST /api/models) and a broken one, then streams the good one.

Every client reads everything the server sends, as a browser does. Two probe processes (which the
clients' own busy event loop cannot delay) time ``GET /healthz`` every 50 ms and, every 0.2 s, a
socket's close handshake. It reports how many closes the server answered within 100 ms, server errors (HTTP 5xx, close code 1011, "the run failed"), the
tracebacks in the server's log, and the server's threads and RSS before, after the first minute and
at the end (after the clients have left and the server has settled).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import multiprocessing
import os
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np
from websockets.asyncio.client import connect
from websockets.sync.client import connect as sync_connect

from load import ROOT, UNROLLED, free_port, percentile, probe_healthz, stop_server, wait_until_up

SMALL = [{"preset": "lstm-memory", "seq_len": 6, "hidden_size": 4, "batch_size": 1},
         {"cell": "gru", "seq_len": 20, "hidden_size": 8, "batch_size": 2},
         {"cell": "rnn_tanh", "seq_len": 40, "hidden_size": 8, "task": "copy"}]
CLOSE_FAST_S = 0.1
CLOSE_TIMEOUT_S = 5.0  # a close not answered by then counts as unanswered


class Stats:
    """Everything the clients count."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.close_ms: list[float] = []
        self.server_errors: list[str] = []

    def closed(self, ws, started: float) -> None:
        """Record one close handshake we initiated."""
        self.counts["closes"] += 1
        elapsed = time.perf_counter() - started
        self.close_ms.append(elapsed * 1000)
        if ws.protocol.close_rcvd is None:
            self.counts["closes unanswered"] += 1
        elif elapsed <= CLOSE_FAST_S:
            self.counts["closes answered within 100 ms"] += 1
        if ws.protocol.close_rcvd is not None and ws.protocol.close_rcvd.code == 1011:
            self.server_errors.append("close code 1011")

    def message(self, data: dict) -> None:
        """Inspect one server message for server errors."""
        if data.get("type") == "error" and data.get("detail", "").startswith("the run failed"):
            self.server_errors.append(data["detail"])


def lstm_upload(rng: random.Random, hidden: int = 6, inputs: int = 3, steps: int = 12) -> dict:
    """A POST /api/models body: a torch-named LSTM state dict (numbers only, no torch needed) and its input."""
    g = np.random.default_rng(rng.randrange(2**32))
    state = {"weight_ih_l0": g.standard_normal((4 * hidden, inputs)) * 0.3,
             "weight_hh_l0": g.standard_normal((4 * hidden, hidden)) * 0.3,
             "bias_ih_l0": np.zeros(4 * hidden), "bias_hh_l0": np.zeros(4 * hidden)}
    model, x = io.BytesIO(), io.BytesIO()
    np.savez(model, **{k: v.astype(np.float32) for k, v in state.items()})
    np.save(x, g.standard_normal((steps, inputs)).astype(np.float32))
    return {"model": base64.b64encode(model.getvalue()).decode(), "input": base64.b64encode(x.getvalue()).decode(),
            "model_name": "soak.npz", "input_name": "x.npy"}


def garbage(rng: random.Random) -> str | bytes:
    """One bad message."""
    return rng.choice([
        lambda: rng.randbytes(rng.randrange(1, 200)),
        lambda: "[" * 5000 + "]" * 5000,
        lambda: json.dumps({"type": "start", "config": {"seq_len": -3}}),
        lambda: json.dumps({"type": 3}),
        lambda: json.dumps({"type": "break", "on": "grad_below", "value": "NaN"}),
        lambda: json.dumps({"type": "step"}),
    ])()


async def read_for(ws, stats: Stats, seconds: float, until_type: str | None = None, limit: int = 10**6) -> int:
    """Read messages for at most ``seconds`` (or until one of ``until_type``, or ``limit`` messages)."""
    deadline, n = time.perf_counter() + seconds, 0
    while n < limit:
        left = deadline - time.perf_counter()
        if left <= 0:
            break
        try:
            data = json.loads(await asyncio.wait_for(ws.recv(), left))
        except TimeoutError:
            break
        n += 1
        stats.message(data)
        if until_type is not None and data["type"] == until_type:
            break
    return n


async def close(ws, stats: Stats) -> None:
    """Close the socket, timing the handshake."""
    started = time.perf_counter()
    await ws.close()
    stats.closed(ws, started)


async def scenario(kind: str, url: str, http: httpx.AsyncClient, rng: random.Random, stats: Stats) -> None:
    """Run one scenario on a fresh socket."""
    if kind == "upload":
        bad = await http.post("/api/models", json={**lstm_upload(rng), "model": "not base64!"})
        good = await http.post("/api/models", json=lstm_upload(rng))
        for response in (bad, good):
            if response.status_code == 503 and "retry-after" in response.headers:
                stats.counts["upload busy (503 + Retry-After, by design)"] += 1
            elif response.status_code >= 500:
                stats.server_errors.append(f"POST /api/models {response.status_code}")
        if good.status_code != 200:
            stats.counts[f"upload answered {good.status_code}"] += 1
            return
    async with connect(url, open_timeout=60, max_queue=None, max_size=2**24, close_timeout=CLOSE_TIMEOUT_S) as ws:
        config = rng.choice(SMALL)
        if kind == "stream":
            await ws.send(json.dumps({"type": "start", "config": config, "mode": "play", "delay_ms": rng.choice([5, 20])}))
            await read_for(ws, stats, 5.0, "done")
        elif kind == "upload":
            await ws.send(json.dumps({"type": "start", "source": "model", "model_id": good.json()["id"]}))
            await read_for(ws, stats, 3.0, "done")
        elif kind == "stepper":
            await ws.send(json.dumps({"type": "start", "config": config, "mode": "step"}))
            await read_for(ws, stats, 3.0, "meta")
            for command in ["step", "step", "pause", "play", "pause", "step"]:
                await ws.send(json.dumps({"type": command}))
                await read_for(ws, stats, 0.2, limit=1)
        elif kind == "garbage":
            for _ in range(10):
                await ws.send(garbage(rng))
                await read_for(ws, stats, 0.05, limit=1)
        elif kind == "vanish":
            await ws.send(json.dumps({"type": "start", "config": SMALL[2], "mode": "play", "delay_ms": 5}))
            await read_for(ws, stats, 3.0, limit=3)
            ws.transport.abort()  # no close frame: a lid shut
            return
        await close(ws, stats)


async def client(url: str, http: httpx.AsyncClient, seed: int, deadline: float, stats: Stats) -> None:
    """Scenarios, one after another, until the deadline."""
    rng = random.Random(seed)
    while time.monotonic() < deadline:
        kind = rng.choice(["stream", "stream", "stepper", "garbage", "vanish", "upload"])
        stats.counts[kind] += 1
        try:
            await scenario(kind, url, http, rng, stats)
        except Exception as exc:  # noqa: BLE001 - counted and shown, the soak goes on
            stats.counts[f"client saw {type(exc).__name__}"] += 1


def probe_closes(url: str, stop, out) -> None:
    """In its own process (the 200 clients' own event loop cannot delay it): every 0.2 s, open a
    socket, have a bad message answered, close, and time the close handshake."""
    times, unanswered = [], 0
    while not stop.is_set():
        try:
            with sync_connect(url, open_timeout=30, max_queue=None, close_timeout=CLOSE_TIMEOUT_S) as ws:
                ws.send(json.dumps({"type": 3}))
                ws.recv(timeout=30)
                started = time.perf_counter()
            times.append((time.perf_counter() - started) * 1000)
            unanswered += ws.protocol.close_rcvd is None
        except Exception:  # noqa: BLE001 - a refused connection is not a close we could time
            pass
        stop.wait(0.2)
    out.put((times, unanswered))


def process_status(pid: int) -> tuple[int, float]:
    """(threads, RSS MiB) of the server process, from /proc."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["Threads"]), int(fields["VmRSS"].split()[0]) / 1024


async def soak(url: str, base: str, pid: int, clients: int, seconds: float, seed: int, stats: Stats) -> dict:
    """All clients for ``seconds``; the server's (threads, RSS) at the first minute's end."""
    marks: dict[str, tuple[int, float]] = {}
    deadline = time.monotonic() + seconds

    async def mark_first_minute() -> None:
        await asyncio.sleep(min(60.0, seconds / 2))
        marks["after the first minute"] = process_status(pid)

    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http:
        marker = asyncio.create_task(mark_first_minute())
        await asyncio.gather(*(client(url, http, seed * 1000 + i, deadline, stats) for i in range(clients)))
        await marker
    return marks


def settle(pid: int, level: int, timeout: float = 60.0) -> tuple[int, float]:
    """Wait (bounded) for the server's thread count to come back to ``level``; its final (threads, RSS)."""
    deadline = time.monotonic() + timeout
    while process_status(pid)[0] > level and time.monotonic() < deadline:
        time.sleep(0.5)
    return process_status(pid)


def main() -> None:
    """Run the soak and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--log", type=Path, default=Path("/tmp/unrolled-soak.log"), help="the server's log")
    args = parser.parse_args()
    port = free_port()
    base, url = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/ws/trace"
    stats = Stats()
    with args.log.open("wb") as log:
        server = subprocess.Popen([str(UNROLLED), "serve", "--port", str(port)], cwd=ROOT,
                                  env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=log, stderr=log)
        try:
            wait_until_up(base, server)
            httpx.post(f"{base}/api/trace", json=SMALL[0], timeout=60)  # warm up before the baseline
            before = process_status(server.pid)
            stop, health_out, close_out = multiprocessing.Event(), multiprocessing.Queue(), multiprocessing.Queue()
            probes = [multiprocessing.Process(target=probe_healthz, args=(base, stop, health_out), daemon=True),
                      multiprocessing.Process(target=probe_closes, args=(url, stop, close_out), daemon=True)]
            for probe in probes:
                probe.start()
            started = time.perf_counter()
            marks = asyncio.run(soak(url, base, server.pid, args.clients, args.seconds, args.seed, stats))
            wall = time.perf_counter() - started
            stop.set()
            health_ms, health_failures = health_out.get(timeout=120)
            probe_close_ms, probe_unanswered = close_out.get(timeout=120)
            for probe in probes:
                probe.join(timeout=10)
            minute = marks.get("after the first minute", before)
            after = settle(server.pid, minute[0])
            health = httpx.get(f"{base}/healthz", timeout=30).status_code
        finally:
            stop_server(server)
    text = args.log.read_text(errors="replace")
    tracebacks = text.count("Traceback (most recent call last)")
    never = text.count("Task exception was never retrieved")
    error_lines = sum(line.startswith("ERROR") for line in text.splitlines())
    c = stats.counts
    print(f"soak: {args.clients} clients, {wall:.0f} s, seed {args.seed}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")
    print("scenarios: " + ", ".join(f"{k} {c[k]}" for k in ["stream", "stepper", "garbage", "vanish", "upload"]))
    print(f"closes by the 200 clients: {c['closes']}, answered within 100 ms {c['closes answered within 100 ms']}, "
          f"unanswered (within {CLOSE_TIMEOUT_S:g} s) {c['closes unanswered']}; close time p50 "
          f"{percentile(stats.close_ms, 50):.1f} ms, p99 {percentile(stats.close_ms, 99):.1f} ms, "
          f"max {max(stats.close_ms, default=float('nan')):.1f} ms (their own busy event loop included)")
    fast = sum(t <= CLOSE_FAST_S * 1000 for t in probe_close_ms)
    print(f"closes by the probe process: {len(probe_close_ms)}, answered within 100 ms {fast}, unanswered "
          f"{probe_unanswered}; p50 {percentile(probe_close_ms, 50):.1f} ms, p99 {percentile(probe_close_ms, 99):.1f} ms, "
          f"max {max(probe_close_ms, default=float('nan')):.1f} ms")
    print(f"/healthz probe: {len(health_ms)} probes, p50 {percentile(health_ms, 50):.1f} ms, "
          f"p99 {percentile(health_ms, 99):.1f} ms, max {max(health_ms, default=float('nan')):.1f} ms, "
          f"failures {health_failures}")
    print(f"server errors: {len(stats.server_errors)} {sorted(set(stats.server_errors))[:5]}; "
          f"log: {tracebacks} tracebacks, {never} 'never retrieved', {error_lines} ERROR lines ({args.log})")
    print("client-side: " + (", ".join(f"{k} {v}" for k, v in c.items() if k.startswith(("client", "upload "))) or "nothing"))
    for name, (threads, rss) in [("before", before), ("after the first minute", minute), ("at the end", after)]:
        print(f"server {name}: {threads} threads, RSS {rss:.0f} MiB")
    print(f"/healthz at the end: {health}")
    ok = not (c["closes unanswered"] or probe_unanswered or stats.server_errors or tracebacks or never) and health == 200
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
