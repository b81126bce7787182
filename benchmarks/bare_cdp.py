"""The uncached permalink timed in a chromium that no test driver instruments (used by bench_page.py).

Playwright enables the DevTools Network domain on every page it drives: each of the page's ~70 module requests
then sends its events through the driver process, on the same two cores as the page it measures. Here chromium
is started with `--remote-debugging-port` and driven over the bare protocol: a fresh browser context per load
(nothing cached), a navigation, and `Runtime.evaluate` of the page's `unrolled:first-event` mark every 50 ms;
no other domain is enabled.

    .venv/bin/python benchmarks/bare_cdp.py --loads 7     # alone: starts its own `unrolled serve`
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.load import free_port  # noqa: E402

FIRST_EVENT = "(performance.getEntriesByName('unrolled:first-event')[0] || {}).startTime || 0"


class Cdp:
    """Calls over one DevTools WebSocket (flat sessions); events are read and dropped."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.last_id = 0

    async def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """The result of one command (RuntimeError on a protocol error)."""
        self.last_id += 1
        message = {"id": self.last_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        await self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(await self.ws.recv())
            if reply.get("id") == self.last_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})


async def _first_events(endpoint: str, url: str, loads: int, timeout_s: float) -> list[float]:
    async with websockets.connect(endpoint, max_size=None) as ws:
        cdp = Cdp(ws)
        out = []
        for _ in range(loads):
            context = (await cdp.call("Target.createBrowserContext"))["browserContextId"]
            target = (await cdp.call("Target.createTarget", {"url": "about:blank", "browserContextId": context}))["targetId"]
            session = (await cdp.call("Target.attachToTarget", {"targetId": target, "flatten": True}))["sessionId"]
            await cdp.call("Page.navigate", {"url": url}, session)
            start = time.monotonic()
            while True:
                reply = await cdp.call("Runtime.evaluate", {"expression": FIRST_EVENT, "returnByValue": True}, session)
                ms = reply.get("result", {}).get("value") or 0
                if ms:
                    break
                if time.monotonic() - start > timeout_s:
                    raise SystemExit(f"no first event drawn after {timeout_s} s: {url}")
                await asyncio.sleep(0.05)
            out.append(ms / 1000)
            await cdp.call("Target.disposeBrowserContext", {"browserContextId": context})
        return out


def uncached_first_events(url: str, loads: int, chromium_args: list[str], timeout_s: float = 60) -> list[float]:
    """Seconds from navigation to the first drawn event of `url`, each in a fresh context of a bare chromium."""
    port = free_port()
    with tempfile.TemporaryDirectory() as profile:
        chromium = subprocess.Popen(["/usr/bin/chromium", *chromium_args, f"--remote-debugging-port={port}",
                                     f"--user-data-dir={profile}", "about:blank"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/version", timeout=2) as reply:
                        endpoint = json.load(reply)["webSocketDebuggerUrl"]
                    break
                except OSError:
                    if time.monotonic() > deadline or chromium.poll() is not None:
                        raise SystemExit("chromium's DevTools endpoint did not come up") from None
                    time.sleep(0.1)
            return asyncio.run(_first_events(endpoint, url, loads, timeout_s))
        finally:
            chromium.terminate()
            chromium.wait(timeout=10)


def main(argv: list[str] | None = None) -> None:
    """Start `unrolled serve`, time `--loads` uncached permalinks, print each and the median."""
    from benchmarks.bench_page import CHROMIUM_ARGS, start_server

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loads", type=int, default=7)
    parser.add_argument("--preset", default="vanishing-tanh")
    args = parser.parse_args(argv)
    server, base = start_server(65536)
    try:
        times = uncached_first_events(f"{base}/?preset={args.preset}&delay=0", args.loads, CHROMIUM_ARGS)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print("uncached permalink → first event drawn (bare chromium):", " ".join(f"{t:.2f}" for t in times),
          f"· median {statistics.median(times):.2f} s")


if __name__ == "__main__":
    main()
