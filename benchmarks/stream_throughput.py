"""Streaming throughput of /ws/trace: a long trace played to the end with delay_ms=0.

Run by hand (a measurement, not a test)::

    .venv/bin/python benchmarks/stream_throughput.py                       # T=1000, H=64, lstm
    .venv/bin/python benchmarks/stream_throughput.py --hidden 256 --cell rnn_tanh

It starts `unrolled serve` on a free 127.0.0.1 port and plays one config over
a real websocket, printing events per second, bytes per event, and the time
to the first event, the last event and the summary. T·H above the product
limit (65536 units: T=1000 allows H=64) raises ``UNROLLED_MAX_UNITS`` for the
server it starts, and says so. Then it times the in-process parts of the
stream path (engine steps, event encoding, summary) for the same config.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from websockets.sync.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.load import ROOT, UNROLLED, free_port, wait_until_up  # noqa: E402


def play_over_socket(url: str, config: dict, compression: str | None = "deflate", **start_fields) -> dict:
    """Times and sizes of one stream played with delay 0 (sizes before any compression; an ``events``
    message's size is shared out over its events). ``start_fields``: e.g. encoding="f32", batch=True."""
    sizes: list[int] = []
    with connect(url, open_timeout=30, max_size=2**26, compression=compression) as ws:
        start = time.perf_counter()
        ws.send(json.dumps({"type": "start", "config": config, "mode": "play", "delay_ms": 0, **start_fields}))
        first = last = summary = None
        messages = 0
        while True:
            text = ws.recv(timeout=300)
            message = json.loads(text)
            kind = message["type"]
            now = time.perf_counter() - start
            messages += 1
            if kind in ("event", "events"):
                n = len(message["events"]) if kind == "events" else 1
                sizes.extend([len(text.encode()) / n] * n)
                first = first if first is not None else now
                last = now
            elif kind == "summary":
                summary = now
            elif kind == "done":
                return {"events": len(sizes), "bytes": sum(sizes), "first": first, "last": last,
                        "summary": summary, "done": now, "messages": messages}
            elif kind == "error":
                raise SystemExit(f"the server refused: {text}")


def in_process(config: dict, encoding: str = "json") -> dict:
    """Seconds of each part of the stream path, without the socket."""
    from unrolled.server.config import resolve_config
    from unrolled.server.wire.messages import summary_message
    from unrolled.server.runs import config_source
    from unrolled.server.wire.serialize import dumps
    from unrolled.server.wire.events import encode_event

    resolved = resolve_config(config)
    start = time.perf_counter()
    source = config_source(resolved)
    events = list(source.events)
    engine_s = time.perf_counter() - start
    start = time.perf_counter()
    for seq, event in enumerate(events):
        encode_event(event, seq, resolved.batch_index, encoding)
    encode_s = time.perf_counter() - start
    start = time.perf_counter()
    dumps(summary_message(source.finished_trace()))
    return {"engine steps": engine_s, "event encoding": encode_s, "summary": time.perf_counter() - start}


def main() -> None:
    """Parse the options, play the stream, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seq-len", type=int, default=1000)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--cell", default="lstm")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--no-compression", action="store_true",
                        help="the client does not offer permessage-deflate (browsers always do)")
    parser.add_argument("--encoding", choices=["json", "f32"], default="json",
                        help="the start's event encoding (the page asks for f32)")
    parser.add_argument("--batched", action="store_true",
                        help="ask for batched \"events\" messages at delay 0, as the page does")
    args = parser.parse_args()
    config = {"cell": args.cell, "task": "copy", "seq_len": args.seq_len, "hidden_size": args.hidden,
              "batch_size": args.batch}
    units = args.seq_len * args.hidden * args.batch
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if units > 65536:
        env["UNROLLED_MAX_UNITS"] = str(units)
        os.environ["UNROLLED_MAX_UNITS"] = str(units)  # for the in-process timing too
        print(f"note: T·H·B = {units} > 65536: UNROLLED_MAX_UNITS={units} for this measurement")
    port = free_port()
    server = subprocess.Popen([str(UNROLLED), "serve", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until_up(f"http://127.0.0.1:{port}", server)
        r = play_over_socket(f"ws://127.0.0.1:{port}/ws/trace", config,
                             None if args.no_compression else "deflate", encoding=args.encoding, batch=args.batched)
    finally:
        server.send_signal(2)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    span = r["last"] - r["first"] if r["events"] > 1 else float("nan")
    print(f"{args.cell} T={args.seq_len} H={args.hidden} B={args.batch}: {r['events']} events, "
          f"{r['bytes'] / r['events']:.0f} bytes/event, {r['events'] / r['last']:.0f} events/s overall "
          f"({r['events'] / span:.0f}/s between first and last event), {r['messages']} messages")
    print(f"first event {r['first']:.2f} s, last event {r['last']:.2f} s, summary {r['summary']:.2f} s, "
          f"done {r['done']:.2f} s after start")
    parts = in_process(config, args.encoding)
    print("in process: " + ", ".join(f"{k} {v:.2f} s" for k, v in parts.items()))


if __name__ == "__main__":
    main()
