"""Local replay stops at breakpoints by the server's rule: the first crossing event of each node, once."""

from __future__ import annotations

from browser_helpers import cursor, expect_cursor, open_page, wait_done, wait_until


def test_local_replay_stops_where_the_server_stopped_and_only_there(page, live_server):
    """A replay from the start pauses at the server's breakpoint event, then plays on to the end."""
    open_page(page, live_server, preset="vanishing-tanh", break_below=1e-4)
    page.wait_for_selector('body[data-status="paused"]', timeout=30_000)
    stop = cursor(page)
    page.click('[data-testid="play"]')   # resume: the server does not stop again on that node
    wait_done(page)
    total = int(page.evaluate("document.getElementById('scrubber').max")) + 1
    expect_cursor(page, total - 1)

    page.keyboard.press("Home")
    expect_cursor(page, 0)
    page.keyboard.press("Space")         # replay the received events locally
    page.wait_for_selector('body[data-status="paused"]', timeout=20_000)
    assert cursor(page) == stop
    assert "replayed locally" in page.text_content("#banner")

    page.keyboard.press("Space")         # every later step of h_l0 is below too: no stop at any of them
    wait_until(page, f"document.body.dataset.cursor === '{total - 1}'", timeout_ms=20_000)
