"""Small helpers shared by the browser tests."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import uvicorn

DONE_TIMEOUT_MS = 30_000


def open_page(page, base: str, **query) -> None:
    """Open the page with a query (delay=0 unless given) and wait until it has a run's meta."""
    query.setdefault("delay", 0)
    page.goto(f"{base}/?{urlencode(query)}")
    page.wait_for_selector('[data-testid="graph"] [data-node]')


def wait_done(page, timeout: int = DONE_TIMEOUT_MS) -> None:
    """Wait until the run's stream is complete (done message received) and the page has drawn that
    (the status line is rendered on the next animation frame)."""
    page.wait_for_selector('body[data-status="done"]', timeout=timeout)
    wait_until(page, "document.body.dataset.status === 'done' && "
                     "document.querySelector('#status').textContent.includes('done')", timeout_ms=timeout)


def wait_shown_to_end(page, timeout: int = DONE_TIMEOUT_MS) -> None:
    """Wait until the stream is complete and its last event has been drawn (the page renders on
    the next animation frame after the done message, so edge widths may lag it by a frame)."""
    wait_done(page, timeout)
    wait_until(page, "document.body.dataset.cursor === String(Number(document.body.dataset.received) - 1)",
               timeout_ms=timeout)


def expect_refusals(guard, count: int) -> None:
    """Chromium logs each expected 422 as a console error: accept exactly `count` of them."""
    refused = [m for m in guard.console_errors if "status of 422" in m]
    assert len(refused) == count, guard.console_errors
    guard.console_errors[:] = [m for m in guard.console_errors if "status of 422" not in m]


def cursor(page) -> int:
    """The seq of the event on screen."""
    return int(page.get_attribute("body", "data-cursor"))


def current_node(page) -> tuple[str, int] | None:
    """(data-node, data-t) of the highlighted graph node, or None."""
    el = page.query_selector('[data-testid="graph"] .node.current')
    if el is None:
        return None
    return el.get_attribute("data-node"), int(el.get_attribute("data-t"))


def page_data(page) -> dict:
    """The page_data JSON the server rendered into the page."""
    return json.loads(page.text_content("#page-data"))


def wait_until(page, expression: str, timeout_ms: int = 10_000) -> None:
    """Poll a JS expression until it is truthy (page.evaluate, not wait_for_function: the app's CSP
    forbids eval, which wait_for_function's string predicates need)."""
    deadline = time.monotonic() + timeout_ms / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {expression}")
        page.wait_for_timeout(25)


def frames(page, n: int = 2) -> None:
    """Wait until the page has drawn `n` more animation frames (what it does next is on screen then)."""
    page.evaluate("""n => new Promise(done => {
        let left = n;
        const tick = () => (--left <= 0 ? done() : requestAnimationFrame(tick));
        requestAnimationFrame(tick);
    })""", n)


def in_graph_view(page, selector: str) -> str:
    """A JS expression: the element `selector` lies horizontally inside the graph's visible box."""
    return (f"(() => {{ const n = document.querySelector({json.dumps(selector)})?.getBoundingClientRect(); "
            "const v = document.querySelector('.graph-viewport').getBoundingClientRect(); "
            "return Boolean(n) && n.width > 0 && v.left <= n.left && n.right <= v.right; })()")


def expect_current(page, node: str, t: int) -> None:
    """Wait until the highlighted (current) graph node is (node, t)."""
    page.wait_for_selector(f'[data-testid="graph"] .node.current[data-node="{node}"][data-t="{t}"]', timeout=5_000)


def expect_cursor(page, seq: int) -> None:
    """Wait until the event on screen is `seq`."""
    page.wait_for_selector(f'body[data-cursor="{seq}"]', timeout=5_000)


@contextmanager
def serve(app) -> Iterator[str]:
    """Serve `app` with a real uvicorn on a free 127.0.0.1 port (bound first: no port race)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@dataclass
class PageGuard:
    """What a page did that it must not: console errors, page errors, requests off 127.0.0.1."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Every recorded problem, one line each."""
        return ([f"console error: {m}" for m in self.console_errors]
                + [f"page error: {m}" for m in self.page_errors]
                + [f"request outside 127.0.0.1: {u}" for u in self.outside_requests])


def guard_page(page, guard: PageGuard) -> None:
    """Abort and record requests off 127.0.0.1; record console errors and uncaught page errors."""
    def route(route):
        host = urlsplit(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            route.continue_()
        else:
            guard.outside_requests.append(route.request.url)
            route.abort()

    page.route("**/*", route)
    page.on("console", lambda msg: guard.console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: guard.page_errors.append(str(exc)))


def block_all_but_file(page) -> tuple[list[str], Callable[[Path, str], None]]:
    """Abort every request of `page` except the local file it opens, and record those requests,
    console errors/warnings and page errors. Returns (problems, open_file(path, query=""))."""
    problems: list[str] = []
    opened: dict[str, str] = {}

    def route(route):
        if route.request.url.split("?")[0] == opened.get("file"):
            route.continue_()
        else:
            problems.append(f"request: {route.request.url[:120]}")
            route.abort()

    page.route("**/*", route)
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))

    def open_file(path: Path, query: str = "") -> None:
        opened["file"] = path.resolve().as_uri()
        page.goto(opened["file"] + query)

    return problems, open_file


def open_tab(page, name: str) -> None:
    """Open the tab `name` below the first screen (step, plots, config, equations, diagnosis, training,
    compare, model) and wait until its panel is shown."""
    page.locator(f'[data-testid="tab-{name}"]').click()   # a Page or a FrameLocator (an exported page in an iframe)
    page.locator(f'.tab-panel[data-panel="{name}"]:not([hidden])').wait_for(state="visible")
