"""Does the engine starve the event loop? /healthz and a paused socket's reply under 8 worst-case streams.

Run by hand (a measurement, not a test; loopback only, bounded by ``--seconds``)::

    .venv/bin/python benchmarks/gil_latency.py --seconds 60

It starts `unrolled serve` on a free 127.0.0.1 port with 9 stream slots, and runs for ``--seconds``:
8 clients each playing the largest config the limits allow (LSTM, hidden 256, T=256: 2**16 units)
at full speed (delay 0), again and again, reading everything; one prober process times
``GET /healthz`` every 50 ms; another holds a socket whose (small) stream is paused in step mode and
times the reply to a ``pause`` every 100 ms. The stream workers are threads of the server process,
so every engine step competes with the event loop for the GIL: the question is whether the loop
still answers within 100 ms (issue 18).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import subprocess
import sys
import time

from websockets.asyncio.client import connect
from websockets.sync.client import connect as sync_connect

from load import ROOT, UNROLLED, free_port, percentile, probe_healthz, stop_server, tree_rss_kib, wait_until_up

WORST = {"cell": "lstm", "seq_len": 256, "hidden_size": 256, "batch_size": 1, "num_layers": 1}
SMALL = {"preset": "lstm-memory", "seq_len": 6, "hidden_size": 4, "batch_size": 1}


def probe_paused_socket(url: str, stop, out) -> None:
    """In its own process: a paused stream; time the reply to a pause every 100 ms."""
    latencies = []
    with sync_connect(url, open_timeout=30, max_queue=None) as ws:
        ws.send(json.dumps({"type": "start", "config": SMALL, "mode": "step"}))
        while json.loads(ws.recv(timeout=60))["type"] != "meta":
            pass
        while not stop.is_set():
            start = time.perf_counter()
            ws.send(json.dumps({"type": "pause"}))
            while json.loads(ws.recv(timeout=60))["type"] != "paused":
                pass
            latencies.append((time.perf_counter() - start) * 1000)
            stop.wait(0.1)
    out.put(latencies)


async def worst_case_client(url: str, counts: dict) -> None:
    """Play the worst-case config to its end, again and again (until cancelled)."""
    async with connect(url, open_timeout=30, max_size=2**24, max_queue=None) as ws:
        while True:
            await ws.send(json.dumps({"type": "start", "config": WORST, "mode": "play", "delay_ms": 0}))
            while True:
                kind = json.loads(await ws.recv())["type"]
                counts[kind] = counts.get(kind, 0) + 1
                if kind in ("done", "error"):
                    break


def summary(name: str, values: list[float]) -> str:
    """One line of percentiles."""
    return (f"{name}: {len(values)} samples, p50 {percentile(values, 50):.1f} ms, p95 {percentile(values, 95):.1f} ms, "
            f"p99 {percentile(values, 99):.1f} ms, max {max(values, default=float('nan')):.1f} ms")


def main() -> None:
    """Run the measurement and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--streams", type=int, default=8)
    args = parser.parse_args()
    port = free_port()
    base, url = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/ws/trace"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "UNROLLED_MAX_STREAMS": str(args.streams + 1)}
    server = subprocess.Popen([str(UNROLLED), "serve", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stop = multiprocessing.Event()
    health_out, pause_out = multiprocessing.Queue(), multiprocessing.Queue()
    counts: dict[str, int] = {}
    try:
        wait_until_up(base, server)
        probes = [multiprocessing.Process(target=probe_healthz, args=(base, stop, health_out), daemon=True),
                  multiprocessing.Process(target=probe_paused_socket, args=(url, stop, pause_out), daemon=True)]
        for p in probes:
            p.start()

        async def clients() -> None:
            tasks = [asyncio.create_task(worst_case_client(url, counts)) for _ in range(args.streams)]
            await asyncio.sleep(args.seconds)  # the measurement window (the probes run meanwhile)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run(clients())
        rss = tree_rss_kib(server.pid) / 1024
        stop.set()
        health, failures = health_out.get(timeout=120)
        paused = pause_out.get(timeout=120)
        for p in probes:
            p.join(timeout=10)
    finally:
        stop.set()
        stop_server(server)
    print(f"{args.streams} streams of {WORST} at delay 0 for {args.seconds:.0f} s on {os.cpu_count()} cores: "
          f"{counts.get('done', 0)} runs done, {counts.get('event', 0)} events, {counts.get('error', 0)} errors; "
          f"server RSS {rss:.0f} MiB")
    print(summary("/healthz", health) + f", failures {failures}")
    print(summary("paused socket's reply to pause", paused))
    sys.exit(0 if counts.get("error", 0) == 0 else 1)


if __name__ == "__main__":
    main()
