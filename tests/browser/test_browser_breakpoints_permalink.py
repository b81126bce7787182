"""A NaN breakpoint stops an exploding ReLU run; the permalink reproduces a config exactly."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError

from browser_helpers import open_tab, PageGuard, current_node, cursor, guard_page, open_page, wait_done, wait_shown_to_end, wait_until

EXPLODING = {"cell": "rnn_relu", "recurrent_scale": 10, "seq_len": 200, "hidden_size": 16, "task": "copy"}


def test_nan_breakpoint_stops_an_exploding_relu_run(page, live_server, screenshots_dir):
    """With the NaN/∞ breakpoint set, the stream stops at the first non-finite value and says why."""
    open_page(page, live_server, **EXPLODING, break_nan=1)
    page.wait_for_selector('body[data-status="paused"]', timeout=30_000)
    banner = page.text_content("#banner")
    assert "NaN" in banner
    page.wait_for_selector('[data-testid="graph"] .node.current.paused-at[data-node="h_l0"]')
    assert current_node(page)[0] == "h_l0"
    total = int(page.evaluate("document.getElementById('scrubber').max")) + 1
    assert cursor(page) < total - 1
    assert page.get_attribute("body", "data-status") == "paused"
    page.screenshot(path=str(screenshots_dir / "breakpoint-nan.png"))
    # clear the breakpoint (the server forgets it) and resume: the run goes on to the end
    open_tab(page, "config")
    page.uncheck("#break-nan")
    page.click('[data-testid="play"]')
    wait_done(page)
    assert "paused-at" not in (page.get_attribute('[data-testid="graph"] .node.current', "class") or "")


def test_without_the_breakpoint_the_same_run_goes_to_done(page, live_server):
    """The same config without the breakpoint streams to the end (NaN/∞ are data, not crashes)."""
    open_page(page, live_server, **EXPLODING)
    wait_done(page)
    assert page.locator('[data-testid="graph"] [data-node="h_l0"]').count() == 200


def test_permalink_reproduces_the_config_and_the_trace(page, browser, live_server):
    """The URL holds the whole config; opening it elsewhere gives the same form, graph and loss."""
    open_page(page, live_server, cell="lstm", task="copy", seq_len=12, hidden_size=6, num_layers=2,
              seed=7, recurrent_scale=1.5)
    wait_done(page)
    open_tab(page, "config")
    page.fill('input[name="seed"]', "11")
    page.press('input[name="seed"]', "Enter")
    wait_until(page, "new URLSearchParams(location.search).get('seed') === '11'")
    wait_shown_to_end(page)
    url = page.url
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    for key, value in {"cell": "lstm", "task": "copy", "seq_len": "12", "hidden_size": "6",
                       "num_layers": "2", "seed": "11", "recurrent_scale": "1.5"}.items():
        assert query[key] == value, key
    status = page.text_content("#status")
    node_title = page.text_content('[data-testid="graph"] [data-node="h_l1"][data-t="5"] title')

    other = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    try:
        other.goto(url)
        wait_shown_to_end(other)
        assert other.input_value('input[name="seed"]') == "11"
        assert other.input_value('select[name="cell"]') == "lstm"
        assert other.locator('[data-testid="graph"] [data-node="h_l1"]').count() == 12
        assert other.text_content("#status") == status
        assert other.text_content('[data-testid="graph"] [data-node="h_l1"][data-t="5"] title') == node_title
    finally:
        other.context.close()


def test_an_invalid_config_is_reported_with_its_field(page, live_server):
    """A permalink with a value beyond the limits shows the server's error and marks the field."""
    page.goto(f"{live_server}/?cell=rnn_tanh&seq_len=100000&delay=0")
    page.wait_for_selector('body[data-status="error"]')
    assert "seq_len" in page.text_content("#banner")
    assert "invalid" in page.get_attribute('input[name="seq_len"]', "class")
    open_tab(page, "config")
    page.fill('input[name="seq_len"]', "6")
    page.press('input[name="seq_len"]', "Enter")
    wait_done(page)
    assert page.locator('[data-testid="graph"] [data-node="h_l0"]').count() == 6
    assert page.is_hidden("#banner")
    assert "invalid" not in (page.get_attribute('input[name="seq_len"]', "class") or "")


def test_the_breakpoint_inputs_set_the_permalink_as_they_change(page, live_server):
    """Ticking a threshold uses the value its box shows (the template's, or one just typed); unticking
    drops it."""
    open_page(page, live_server, preset="vanishing-tanh")
    wait_done(page)
    query = "Object.fromEntries(new URLSearchParams(location.search))"
    open_tab(page, "config")
    page.check("#break-below-on")
    wait_until(page, "new URLSearchParams(location.search).has('break_below')")
    assert float(page.evaluate(query)["break_below"]) == pytest.approx(1e-6)
    page.fill("#break-above", "50")
    page.check("#break-above-on")                               # typing, then ticking (the box loses focus)
    wait_until(page, "new URLSearchParams(location.search).get('break_above') === '50'")
    page.uncheck("#break-below-on")
    wait_until(page, "!new URLSearchParams(location.search).has('break_below')")
    assert page.evaluate(query)["break_above"] == "50"


def test_grad_below_breakpoint_says_why_it_stopped(page, live_server):
    """A 'gradient below' breakpoint stops the vanishing run in the backward pass on an h node."""
    open_page(page, live_server, preset="vanishing-tanh", break_below=1e-4)
    page.wait_for_selector('body[data-status="paused"]', timeout=30_000)
    assert "fell below" in page.text_content("#banner")
    node, t = current_node(page)
    assert node == "h_l0"
    title = page.text_content(f'[data-testid="graph"] [data-node="h_l0"][data-t="{t}"] title')
    assert "‖∂L/∂h‖" in title


def test_the_guard_catches_requests_that_leave_the_machine(browser, live_server):
    """The page guard really aborts and records a request to another host (so the fixture can fail)."""
    context = browser.new_context()
    try:
        page = context.new_page()
        guard = PageGuard()
        guard_page(page, guard)
        with pytest.raises(PlaywrightError):   # aborted by the guard (navigations bypass the CSP)
            page.goto("http://example.com/x")
        assert guard.outside_requests == ["http://example.com/x"]
    finally:
        context.close()
