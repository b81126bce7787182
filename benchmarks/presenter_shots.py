"""Presenter-mode screenshots of three presets at 1280x720, for before/after comparisons (run by hand).

    .venv/bin/python benchmarks/presenter_shots.py after [--out docs/screenshots]

Starts `unrolled serve` from this checkout on a free loopback port, opens each preset with
``?present=1`` in Debian's chromium, waits until the run is done and writes ``TAG-present-PRESET.png``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.load import ROOT, UNROLLED, free_port, wait_until_up  # noqa: E402

PRESETS = ("vanishing-tanh", "lstm-memory", "seq2seq")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tag", help="file name prefix, e.g. before or after")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = subprocess.Popen([str(UNROLLED), "serve", "--port", str(port)], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_up(f"http://127.0.0.1:{port}", server)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
            page = browser.new_context(viewport={"width": 1280, "height": 720}, bypass_csp=True).new_page()
            for preset in PRESETS:
                page.goto(f"http://127.0.0.1:{port}/?preset={preset}&present=1")
                page.wait_for_function("() => document.body.innerText.includes('done')", timeout=60_000)
                # the plots' last redraw is paced after the last event: wait until the punchline's
                # curve has every step (a partial curve carries a partial fitted factor)
                page.wait_for_function("() => { const d = (document.querySelector('#punchline').data || [])[0];"
                                       " return d && d.y.length > 0 && d.y.every((v) => v !== null); }",
                                       timeout=30_000)
                page.wait_for_timeout(300)   # plotly's paint after its data
                page.screenshot(path=str(args.out / f"{args.tag}-present-{preset}.png"))
            browser.close()
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
