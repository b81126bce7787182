"""Lecture-hall load: N concurrent /ws/trace streams against a real `unrolled serve`.

Run by hand (it is a measurement, not a test)::

    .venv/bin/python benchmarks/load.py --streams 100 --workers 1
    .venv/bin/python benchmarks/load.py --streams 100 --workers 2

It starts `unrolled serve` on a free 127.0.0.1 port (loopback only), opens N
sockets at once, each playing a preset to the end (``--delay-ms``, 0 by default:
the worst case; the page plays at 40 ms per event), while a
separate prober process times ``GET /healthz`` every 50 ms and a sampler reads
the resident memory of the server's whole process tree from /proc. Every loop
is bounded (``--timeout`` for the run, a receive timeout per message).

How 100 clients "complete" when the server runs 8 streams at once per worker:
a start that finds every slot busy waits in the server's first-come queue
(it receives ``queued`` messages with its position, then its stream); a
client that is refused anyway ("busy": the queue is full) retries with
exponential backoff, at most ``--retries`` times. The script counts both.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent
UNROLLED = Path(sys.executable).parent / "unrolled"


@dataclass
class StreamResult:
    """What one client saw."""

    completed: bool = False
    events: int = 0
    expected: int = 0
    seconds: float = 0.0
    max_position: int = 0
    retries: int = 0
    error: str | None = None


@dataclass
class Totals:
    """Everything the run prints."""

    results: list[StreamResult] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    probe_failures: int = 0
    peak_rss_mib: float = 0.0
    wall_s: float = 0.0


def free_port() -> int:
    """A port the OS says is free on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree_rss_kib(root_pid: int) -> int:
    """Resident memory (KiB) of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def sample_rss(pid: int, stop: threading.Event, totals: Totals) -> None:
    """Keep the peak RSS of the server's process tree until ``stop``."""
    while not stop.is_set():
        totals.peak_rss_mib = max(totals.peak_rss_mib, tree_rss_kib(pid) / 1024)
        stop.wait(0.2)


def probe_healthz(base: str, stop, out) -> None:
    """In its own process (so the clients' work cannot delay it): time /healthz every 50 ms."""
    latencies, failures = [], 0
    with httpx.Client(timeout=5.0) as client:
        while not stop.is_set():
            start = time.perf_counter()
            try:
                ok = client.get(f"{base}/healthz").status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok:
                latencies.append((time.perf_counter() - start) * 1000)
            else:
                failures += 1
            stop.wait(0.05)
    out.put((latencies, failures))


async def one_stream(url: str, config: dict, retries: int, recv_timeout: float,
                     compression: str | None = "deflate", delay_ms: int = 0) -> StreamResult:
    """Play one stream to the end (waiting in the server's queue; retrying if refused as busy)."""
    result = StreamResult()
    start = time.perf_counter()
    backoff = 0.5
    for attempt in range(retries + 1):
        result.retries = attempt
        try:
            async with connect(url, open_timeout=30, max_size=2**24, compression=compression) as ws:
                await ws.send(json.dumps({"type": "start", "config": config, "mode": "play", "delay_ms": delay_ms}))
                while True:
                    message = json.loads(await asyncio.wait_for(ws.recv(), recv_timeout))
                    kind = message["type"]
                    if kind == "queued":
                        result.max_position = max(result.max_position, message["position"])
                    elif kind == "meta":
                        result.expected = message["total_events"]
                    elif kind == "event":
                        result.events += 1
                    elif kind == "done":
                        result.completed = result.events == result.expected
                        result.seconds = time.perf_counter() - start
                        return result
                    elif kind == "error":
                        result.error = message["detail"]
                        break
        except Exception as exc:  # noqa: BLE001 - a refused or dropped connection: reported, maybe retried
            result.error = f"{type(exc).__name__}: {exc}"
        if result.error is None or not result.error.startswith(("busy", "ConnectionClosed", "InvalidStatus")):
            break
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, 8.0)
    result.seconds = time.perf_counter() - start
    return result


async def run_clients(url: str, n: int, config: dict, retries: int, recv_timeout: float,
                      compression: str | None = "deflate", delay_ms: int = 0) -> list[StreamResult]:
    """All N clients at once."""
    return list(await asyncio.gather(*(one_stream(url, config, retries, recv_timeout, compression, delay_ms)
                                       for _ in range(n))))


def wait_until_up(base: str, process: subprocess.Popen, timeout: float = 30.0) -> None:
    """Until /healthz answers (SystemExit if the server dies or never answers)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited: {process.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not come up")


def stop_server(process: subprocess.Popen, timeout: float = 30.0) -> None:
    """Ctrl-C (the graceful path), then kill if it has not ended within ``timeout``."""
    process.send_signal(2)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def main() -> None:
    """Parse the options, run the load, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--preset", default="lstm-memory")
    parser.add_argument("--retries", type=int, default=10, help="attempts after a 'busy' refusal")
    parser.add_argument("--timeout", type=float, default=600.0, help="the whole run, seconds")
    parser.add_argument("--delay-ms", type=int, default=0, help="delay between events (the page's default is 40)")
    parser.add_argument("--no-compression", action="store_true",
                        help="clients do not offer permessage-deflate (browsers always do)")
    args = parser.parse_args()

    port = free_port()
    base, url = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/ws/trace"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen([str(UNROLLED), "serve", "--host", "127.0.0.1", "--port", str(port),
                               "--workers", str(args.workers)],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    totals = Totals()
    stop_sampler = threading.Event()
    stop_probe = multiprocessing.Event()
    probe_out: multiprocessing.Queue = multiprocessing.Queue()
    try:
        wait_until_up(base, server)
        idle_rss = tree_rss_kib(server.pid) / 1024
        sampler = threading.Thread(target=sample_rss, args=(server.pid, stop_sampler, totals), daemon=True)
        sampler.start()
        prober = multiprocessing.Process(target=probe_healthz, args=(base, stop_probe, probe_out), daemon=True)
        prober.start()
        started = time.perf_counter()
        config = {"preset": args.preset}
        compression = None if args.no_compression else "deflate"
        totals.results = asyncio.run(asyncio.wait_for(
            run_clients(url, args.streams, config, args.retries, 120.0, compression, args.delay_ms), args.timeout))
        totals.wall_s = time.perf_counter() - started
        stop_probe.set()
        totals.latencies_ms, totals.probe_failures = probe_out.get(timeout=30)
        prober.join(timeout=10)
    finally:
        stop_sampler.set()
        stop_probe.set()
        server.send_signal(2)  # Ctrl-C: the graceful path
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    done = [r for r in totals.results if r.completed]
    errors = [r.error for r in totals.results if not r.completed]
    lat = totals.latencies_ms
    print(f"workers={args.workers} preset={args.preset} streams={args.streams} delay_ms={args.delay_ms} "
          f"compression={'none' if args.no_compression else 'permessage-deflate'}")
    print(f"streams completed: {len(done)}/{args.streams} in {totals.wall_s:.1f} s "
          f"(stream time p50 {percentile([r.seconds for r in done], 50):.2f} s, "
          f"max {max((r.seconds for r in done), default=float('nan')):.2f} s; "
          f"events per stream {done[0].expected if done else '?'})")
    print(f"queued: {sum(r.max_position > 0 for r in totals.results)} streams waited, "
          f"deepest position {max((r.max_position for r in totals.results), default=0)}; "
          f"retries after busy: {sum(r.retries for r in totals.results)}")
    if errors:
        print(f"failures ({len(errors)}): {sorted(set(map(str, errors)))[:5]}")
    print(f"/healthz during load: {len(lat)} probes, p50 {percentile(lat, 50):.1f} ms, "
          f"p95 {percentile(lat, 95):.1f} ms, max {max(lat, default=float('nan')):.1f} ms, "
          f"failures {totals.probe_failures}")
    print(f"server RSS (process tree): idle {idle_rss:.0f} MiB, peak {totals.peak_rss_mib:.0f} MiB")
    if len(done) < args.streams:
        sys.exit(1)


if __name__ == "__main__":
    main()
