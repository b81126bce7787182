"""Small helpers shared by the browser tests."""

from __future__ import annotations

import json
from urllib.parse import urlencode

DONE_TIMEOUT_MS = 30_000


def open_page(page, base: str, **query) -> None:
    """Open the page with a query (delay=0 unless given) and wait until it has a run's meta."""
    query.setdefault("delay", 0)
    page.goto(f"{base}/?{urlencode(query)}")
    page.wait_for_selector('[data-testid="graph"] [data-node]')


def wait_done(page, timeout: int = DONE_TIMEOUT_MS) -> None:
    """Wait until the run's stream is complete (done message received)."""
    page.wait_for_selector('body[data-status="done"]', timeout=timeout)


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


def expect_current(page, node: str, t: int) -> None:
    """Wait until the highlighted (current) graph node is (node, t)."""
    page.wait_for_selector(f'[data-testid="graph"] .node.current[data-node="{node}"][data-t="{t}"]', timeout=5_000)


def expect_cursor(page, seq: int) -> None:
    """Wait until the event on screen is `seq`."""
    page.wait_for_selector(f'body[data-cursor="{seq}"]', timeout=5_000)
