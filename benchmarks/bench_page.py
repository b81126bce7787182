"""The page's speed as a new user meets it: real chromium against a real `unrolled serve`.

Run by hand (a measurement, not a test)::

    .venv/bin/python benchmarks/bench_page.py              # medians of 3 page loads
    .venv/bin/python benchmarks/bench_page.py --loads 5 --seq-len 500

It starts `unrolled serve` on a free 127.0.0.1 port (loopback only) and, for each of `--loads`
fresh browser contexts, measures:

1. navigation → the preset picker usable (its options present and enabled);
2. navigation of a permalink (`--preset`, delay 0) → the first event drawn, from the first page once its
   run is done (the picker is usable before the page has loaded): its modules are then in the context's
   HTTP cache, as for anyone who has opened the app before;
3. the same permalink as the very first navigation of another fresh context (nothing cached: a new
   user following a link); and again, after the Playwright loads, in a chromium no driver instruments
   (benchmarks/bare_cdp.py: Playwright's Network domain costs each of the ~70 module requests a trip
   through its driver process, on the same two cores);
4. an LSTM with T = `--seq-len`, H = `--hidden`, delay 0 → drawn to its last event, and, beside it, →
   the run done (its summary, computed by the engine after the last event, has arrived: `data-status`
   "done");
5. scrubbing that long run with the arrow key held: one keydown per animation frame for
   `--scrub-seconds`, counting the frames on which a new cursor was drawn (frames per second).

"Drawn" is the page's own User Timing mark (`unrolled:first-event`, `unrolled:last-event`, set in the frame
that draws it; page_view.js), read as milliseconds since the navigation started. The waits run inside
the page (`wait_for_function`): polling it over the DevTools protocol every few ms took a noticeable
share of this 2-core machine from the page being measured. The wall-clock time seen from Python
(navigation call → the wait returning) is printed beside each figure.

It prints each load's figures and their medians. Chromium is /usr/bin/chromium (Debian's).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bare_cdp import uncached_first_events  # noqa: E402
from benchmarks.load import ROOT, UNROLLED, free_port, wait_until_up  # noqa: E402
from playwright.sync_api import Error as PlaywrightError  # noqa: E402

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# One keydown per animation frame; a frame counts when the drawn cursor differs from the last frame's.
SCRUB = """async ([seconds, key]) => {
  const drawn = () => document.body.dataset.cursor;
  let last = drawn(), changed = 0, frames = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    document.dispatchEvent(new KeyboardEvent('keydown', {key, bubbles: true}));
    await new Promise(r => requestAnimationFrame(r));
    frames += 1;
    const now = drawn();
    if (now !== last) { changed += 1; last = now; }
  }
  const elapsed = (performance.now() - start) / 1000;
  return {fps: changed / elapsed, frames: frames / elapsed};
}"""


def poll(page, expression: str, timeout_s: float) -> float:
    """Seconds until the JS expression is truthy, polled inside the page every animation frame
    (SystemExit on timeout)."""
    start = time.perf_counter()
    while True:
        left = timeout_s - (time.perf_counter() - start)
        if left <= 0:
            raise SystemExit(f"timed out after {timeout_s} s waiting for: {expression}")
        try:      # in short rounds: a wait begun just as a navigation commits can stay on the old document
            page.wait_for_function(expression, polling="raf", timeout=min(left, 0.5) * 1000)
            return time.perf_counter() - start
        except PlaywrightError:     # its TimeoutError, or the execution context destroyed by the navigation
            continue


def mark_seconds(page, name: str, timeout_s: float) -> float:
    """Seconds from the navigation's start to the page's User Timing mark `name` (waiting for it)."""
    poll(page, f"performance.getEntriesByName({name!r}).length > 0", timeout_s)
    return page.evaluate(f"performance.getEntriesByName({name!r})[0].startTime") / 1000


def first_event(page, url: str) -> tuple[float, float]:
    """Navigate to `url`; (seconds to its first drawn event by the page's mark, wall-clock seconds)."""
    start = time.perf_counter()
    page.goto(url, wait_until="commit")
    drawn = mark_seconds(page, "unrolled:first-event", 60)
    return drawn, time.perf_counter() - start


def one_load(browser, base: str, args) -> dict:
    """The figures of one fresh browser context (and of a second one, for the uncached permalink)."""
    permalink = f"{base}/?{urlencode({'preset': args.preset, 'delay': 0})}"
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    out = {}
    page = context.new_page()
    out["fresh_first_event"], out["fresh_first_event_wall"] = first_event(page, permalink)
    context.close()

    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    start = time.perf_counter()
    page.goto(f"{base}/", wait_until="commit")
    poll(page, "(() => { const s = document.querySelector('#preset');"
               " return !!s && s.options.length > 0 && !s.disabled; })()", 60)
    out["picker"] = time.perf_counter() - start
    # the picker is usable from the served HTML, long before the page has loaded: let it finish (its first
    # run done) so that the permalink below is timed on its own, not while this page still loads its modules
    poll(page, "document.body.dataset.status === 'done'", 60)

    out["first_event"], out["first_event_wall"] = first_event(page, permalink)

    query = {"cell": "lstm", "seq_len": args.seq_len, "hidden_size": args.hidden, "delay": 0}
    start = time.perf_counter()
    page.goto(f"{base}/?{urlencode(query)}", wait_until="commit")
    out["long_run"] = mark_seconds(page, "unrolled:last-event", args.timeout)
    out["long_run_wall"] = time.perf_counter() - start
    poll(page, "document.body.dataset.status === 'done'", args.timeout)
    out["done"] = time.perf_counter() - start
    out["events"] = int(page.evaluate("Number(document.body.dataset.received)"))

    scrub = page.evaluate(SCRUB, [args.scrub_seconds, "ArrowLeft"])
    out["scrub_fps"] = scrub["fps"]
    out["frame_rate"] = scrub["frames"]
    context.close()
    return out


def start_server(units: int) -> tuple[subprocess.Popen, str]:
    """`unrolled serve` on a free loopback port whose unit limit admits `units`; (process, base URL) once up."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, UNROLLED_MAX_UNITS=str(max(65536, units)))
    server = subprocess.Popen([str(UNROLLED), "serve", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_until_up(base, server)
    return server, base


def main(argv: list[str] | None = None) -> None:
    """Start the server, measure `--loads` page loads, print each and the medians."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loads", type=int, default=3)
    parser.add_argument("--preset", default="vanishing-tanh")
    parser.add_argument("--seq-len", type=int, default=1000)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--scrub-seconds", type=float, default=3.0)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds allowed for the long run")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    server, base = start_server(args.seq_len * args.hidden)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            rows = []
            for n in range(args.loads):
                row = one_load(browser, base, args)
                rows.append(row)
                print(f"load {n + 1}: picker {row['picker']:.2f} s · first event {row['first_event']:.2f} s "
                      f"(wall {row['first_event_wall']:.2f}) · uncached {row['fresh_first_event']:.2f} s "
                      f"(wall {row['fresh_first_event_wall']:.2f}) · "
                      f"LSTM T={args.seq_len} H={args.hidden} ({row['events']} events) drawn {row['long_run']:.2f} s "
                      f"(wall {row['long_run_wall']:.2f}, done {row['done']:.2f} s) · "
                      f"scrub {row['scrub_fps']:.1f} fps (frames {row['frame_rate']:.1f}/s)", flush=True)
            browser.close()
        # issue 17: the same uncached permalink without the driver's per-request instrumentation (bare_cdp.py)
        bare = uncached_first_events(f"{base}/?{urlencode({'preset': args.preset, 'delay': 0})}",
                                     max(args.loads, 5), CHROMIUM_ARGS)
    finally:
        server.terminate()
        server.wait(timeout=10)
    med = {k: statistics.median(r[k] for r in rows) for k in rows[0] if k != "events"}
    print(f"median of {len(rows)}: picker usable {med['picker']:.2f} s · permalink → first event "
          f"{med['first_event']:.2f} s (wall {med['first_event_wall']:.2f}; uncached {med['fresh_first_event']:.2f}, "
          f"wall {med['fresh_first_event_wall']:.2f}) · T={args.seq_len} drawn {med['long_run']:.2f} s "
          f"(wall {med['long_run_wall']:.2f}, done {med['done']:.2f} s) · scrubbing {med['scrub_fps']:.1f} fps")
    print(f"uncached permalink → first event in a bare chromium (no driver instrumentation, {len(bare)} loads): "
          f"{' '.join(f'{t:.2f}' for t in bare)} · median {statistics.median(bare):.2f} s")


if __name__ == "__main__":
    main()
