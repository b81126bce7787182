"""static/js/training.js in a real chromium against a real uvicorn: train char-lm from the panel, watch
the loss fall and the plots fill, pause/resume, sample text character by character, hand the trained
config to the page, and stop a run.

The panel is mounted on a small harness page (the real page mounts it where its engineer decides),
served beside the app's own /static and /vendor routes. Skipped only when chromium is missing and CI
is unset.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
import uvicorn
from fastapi.responses import HTMLResponse, Response

from server import ws_train
from server.app import create_app

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# The page's CSP allows scripts from 'self' only: the harness script is its own route, and the
# config travels as JSON data (not script), as on the real page.
HARNESS = """<!doctype html><html><head><meta charset="utf-8"><link rel="stylesheet" href="/static/css/app.css">
<script src="/vendor/plotly.min.js"></script></head><body>
<div class="card" id="training"><div class="plot" data-testid="plot-training" hidden></div></div>
<script id="harness-config" type="application/json">%s</script>
<script type="module" src="/harness.js"></script></body></html>"""

HARNESS_JS = """import { mountTrainingPanel } from '/static/js/training.js';
window.trained = [];
const config = JSON.parse(document.getElementById('harness-config').textContent);
window.panel = mountTrainingPanel(document.getElementById('training'), {
  getConfig: () => ({ ...config }),
  onTrained: (t) => window.trained.push(t),
});
"""

CHAR_LM = {"preset": "char-lm", "seq_len": 16, "hidden_size": 16}


def _chromium() -> bool:
    return os.access(CHROMIUM, os.X_OK) or shutil.which("chromium") is not None


@pytest.fixture(scope="module")
def base_url():
    """A uvicorn serving the app (with /ws/train) and the harness page at /harness."""
    app = create_app()
    if not any(getattr(r, "path", None) == "/ws/train" for r in app.routes):
        app.include_router(ws_train.router)

    @app.get("/harness", include_in_schema=False)
    def harness() -> HTMLResponse:
        return HTMLResponse(HARNESS % json.dumps(CHAR_LM))

    @app.get("/harness.js", include_in_schema=False)
    def harness_js() -> Response:
        return Response(HARNESS_JS, media_type="application/javascript")

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture(scope="module")
def page_factory():
    """New pages of one chromium; each records console errors, page errors and off-host requests."""
    if not _chromium():
        if os.environ.get("CI"):
            pytest.fail("chromium is missing in CI")
        pytest.skip("chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, timeout=30_000)
        problems: list[str] = []

        def make():
            page = browser.new_page()
            page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
            page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))

            def guard(route):
                if urlsplit(route.request.url).hostname != "127.0.0.1":
                    problems.append(f"off-host request: {route.request.url}")
                    return route.abort()
                return route.continue_()

            page.route("**/*", guard)
            return page

        yield make, problems
        browser.close()


def wait_until(page, expression: str, timeout: float = 30.0):
    """Poll a JS expression until it is truthy (the page's CSP forbids wait_for_function's eval)."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {expression}")
        time.sleep(0.05)


def progress(page) -> int:
    """Epochs done according to the progress bar."""
    return page.evaluate("document.querySelector('[data-testid=train-progress]').value")


def open_harness(page, base_url: str, problems: list[str]) -> None:
    """Load the harness and wait for the panel; a module that fails to load is reported with its errors."""
    page.goto(f"{base_url}/harness")
    try:
        page.wait_for_selector('[data-testid="train-epochs"]', timeout=10_000)
    except Exception as exc:
        raise AssertionError(f"the training panel did not mount: {problems}") from exc


def test_train_char_lm_watch_sample_and_step_through(base_url, page_factory):
    make, problems = page_factory
    page = make()
    open_harness(page, base_url, problems)
    page.fill('[data-testid="train-epochs"]', "40")
    page.click('[data-testid="train-start"]')
    wait_until(page, "document.querySelector('[data-testid=train-progress]').value >= 40")
    page.wait_for_selector('[data-testid="train-status"]:has-text("finished after 40 epochs")', timeout=10_000)
    # the plot holds the loss curve (40 points, falling), both profiles and the heatmap
    wait_until(page, "document.querySelector('[data-testid=plot-training]').data?.[0].x.length === 40")
    data = page.evaluate("""() => document.querySelector('[data-testid=plot-training]').data.map(
        (d) => ({type: d.type || 'scatter', n: (d.y || []).length, y: d.y, z: d.z ? d.z.length : 0}))""")
    assert [d["type"] for d in data] == ["scatter", "scatter", "scatter", "heatmap"]
    losses = data[0]["y"]
    assert losses[-1] < losses[0] / 2
    assert data[2]["n"] == 16 and data[3]["z"] == 40
    # sampling: the text appears one character at a time
    assert page.is_visible('[data-testid="sample-panel"]')
    page.fill('[data-testid="sample-length"]', "60")
    page.click('[data-testid="train-sample"]')
    wait_until(page, "document.querySelector('[data-testid=sample-text]').textContent.length > 4")
    partial = len(page.text_content('[data-testid="sample-text"]'))
    wait_until(page, "document.querySelector('[data-testid=sample-text]').textContent.length === 64")
    assert partial < 64 and page.text_content('[data-testid="sample-text"]').startswith("the ")
    # the trained network goes to the page for stepping through
    page.click('[data-testid="train-step-through"]')
    trained = page.evaluate("window.trained")
    assert trained[0]["source"] == "trained" and trained[0]["config"]["epochs"] == 40
    assert trained[0]["config"]["preset"] == "char-lm"
    assert problems == []


def test_pause_resume_and_stop_from_the_panel(base_url, page_factory):
    make, problems = page_factory
    page = make()
    open_harness(page, base_url, problems)
    page.fill('[data-testid="train-epochs"]', "5000")
    page.click('[data-testid="train-start"]')
    wait_until(page, "document.querySelector('[data-testid=train-progress]').value >= 3")
    page.click('[data-testid="train-pause"]')
    page.wait_for_selector('[data-testid="train-status"]:has-text("paused after epoch")')
    assert page.text_content('[data-testid="train-pause"]') == "Resume"
    held = progress(page)
    time.sleep(0.4)
    assert progress(page) == held
    page.click('[data-testid="train-pause"]')
    wait_until(page, f"document.querySelector('[data-testid=train-progress]').value > {held}")
    page.click('[data-testid="train-stop"]')
    page.wait_for_selector('[data-testid="train-status"]:has-text("stopped after")', timeout=10_000)
    assert page.is_enabled('[data-testid="train-start"]') and not page.is_enabled('[data-testid="train-stop"]')
    assert problems == []
