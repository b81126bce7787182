"""Where the page's time goes: a Chromium CPU profile (CDP, from Playwright) of bench_page.py's phases.

Run by hand (a measurement, not a test)::

    .venv/bin/python benchmarks/profile_page.py                 # T=1000, H=64 LSTM
    .venv/bin/python benchmarks/profile_page.py --top 25 --save /tmp/profiles

For each phase (navigation → picker usable, the long run drawn to its last event, scrubbing it with
the arrow key held) it records a CPU profile through the DevTools protocol and prints the functions
with the most self time (with their script and line), plus the time Chromium spent in garbage
collection, layout/style ("(program)" is native work: parsing, style, layout, paint). `--save`
writes each phase's .cpuprofile (open it in Chromium's DevTools, Performance tab).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_page import CHROMIUM_ARGS, SCRUB, poll, start_server  # noqa: E402


def self_times(profile: dict) -> list[tuple[float, str]]:
    """(self milliseconds, "function script:line") of a CDP cpuprofile, largest first."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    dt = defaultdict(float)
    deltas = profile.get("timeDeltas", [])
    for sample, delta in zip(profile.get("samples", []), deltas[1:] + [0]):
        frame = nodes[sample]["callFrame"]
        script = frame["url"].rsplit("/", 1)[-1] or "-"
        name = f"{frame['functionName'] or '(anonymous)'} {script}:{frame['lineNumber'] + 1}"
        dt[name] += delta / 1000
    return sorted(((ms, name) for name, ms in dt.items()), reverse=True)


def callers(profile: dict, native: tuple[str, ...] = ("setAttribute", "(program)")) -> list[tuple[float, str]]:
    """(self ms, "native ← caller script:line") of the native functions named, by their JS caller."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    parent = {c: n["id"] for n in profile["nodes"] for c in n.get("children", [])}
    dt = defaultdict(float)
    deltas = profile.get("timeDeltas", [])
    for sample, delta in zip(profile.get("samples", []), deltas[1:] + [0]):
        frame = nodes[sample]["callFrame"]
        if frame["functionName"] not in native:
            continue
        up = nodes.get(parent.get(sample))
        where = "(root)"
        if up:
            f = up["callFrame"]
            where = f"{f['functionName'] or '(anonymous)'} {f['url'].rsplit('/', 1)[-1]}:{f['lineNumber'] + 1}"
        dt[f"{frame['functionName']} ← {where}"] += delta / 1000
    return sorted(((ms, name) for name, ms in dt.items()), reverse=True)


def report(phase: str, profile: dict, top: int, save: Path | None) -> None:
    """Print a phase's total sampled time and its top functions by self time."""
    rows = self_times(profile)
    total = sum(ms for ms, _ in rows)
    print(f"\n== {phase}: {total:.0f} ms sampled")
    for ms, name in rows[:top]:
        print(f"  {ms:8.1f} ms  {100 * ms / max(total, 1e-9):5.1f} %  {name}")
    print("  -- native time by JS caller:")
    for ms, name in callers(profile)[:8]:
        print(f"  {ms:8.1f} ms  {name}")
    if save:
        save.mkdir(parents=True, exist_ok=True)
        (save / f"{phase}.cpuprofile").write_text(json.dumps(profile))


def timeline(trace: dict, top: int, what: str) -> None:
    """Print the renderer's timeline events (style, layout, paint, script…) by total duration."""
    total = defaultdict(float)
    count = defaultdict(int)
    for ev in trace.get("traceEvents", []):
        if ev.get("ph") == "X" and ev.get("dur"):
            total[ev["name"]] += ev["dur"] / 1000
            count[ev["name"]] += 1
    layouts = [ev["args"].get("beginData", {}) for ev in trace.get("traceEvents", []) if ev.get("name") == "Layout" and ev.get("ph") == "X"]
    if layouts:
        dirty = statistics.median(d.get("dirtyObjects", 0) for d in layouts)
        objects = statistics.median(d.get("totalObjects", 0) for d in layouts)
        print(f"\nlayout: median {dirty} dirty of {objects} layout objects")
    print(f"\n== {what} timeline (ms, count; nested events overlap)")
    for name, ms in sorted(total.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {ms:8.1f} ms  {count[name]:6d}  {name}")


def main(argv: list[str] | None = None) -> None:
    """Start the server, profile the three phases in one fresh browser context, print the tops."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seq-len", type=int, default=1000)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--scrub-seconds", type=float, default=2.0)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--save", type=Path, default=None, help="folder for the .cpuprofile files")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    server, base = start_server(args.seq_len * args.hidden)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
            cdp = page.context.new_cdp_session(page)
            cdp.send("Profiler.enable")
            cdp.send("Profiler.setSamplingInterval", {"interval": 200})

            def phase(name: str, action) -> None:
                cdp.send("Profiler.start")
                action()
                report(name, cdp.send("Profiler.stop")["profile"], args.top, args.save)

            phase("picker", lambda: (page.goto(f"{base}/", wait_until="commit"), poll(
                page, "(() => { const s = document.querySelector('#preset');"
                      " return !!s && s.options.length > 0 && !s.disabled; })()", 60)))
            query = {"cell": "lstm", "seq_len": args.seq_len, "hidden_size": args.hidden, "delay": 0}
            browser.start_tracing(page=page, categories=["devtools.timeline"])
            phase("long_run", lambda: (page.goto(f"{base}/?{urlencode(query)}", wait_until="commit"), poll(
                page, "Number(document.body.dataset.total) > 0 && document.body.dataset.cursor === "
                      "String(Number(document.body.dataset.total) - 1)", 300)))
            timeline(json.loads(browser.stop_tracing()), args.top, "long run")
            poll(page, "document.body.dataset.status === 'done'", 300)
            phase("scrub", lambda: print("scrub:", page.evaluate(SCRUB, [args.scrub_seconds, "ArrowLeft"])))
            browser.start_tracing(page=page, categories=["devtools.timeline"])
            print("scrub (traced):", page.evaluate(SCRUB, [args.scrub_seconds, "ArrowLeft"]))
            timeline(json.loads(browser.stop_tracing()), args.top, "scrub")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
