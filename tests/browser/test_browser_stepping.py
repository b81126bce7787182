"""Step-through in the browser: buttons, keyboard, play/pause, scrubbing and the inspector."""

from __future__ import annotations

from browser_helpers import cursor, expect_current, expect_cursor, frames, in_graph_view, open_page, wait_done, wait_until

QUERY = {"preset": "vanishing-tanh", "seq_len": 10}


def test_step_buttons_and_keyboard_move_the_highlighted_step(page, live_server):
    """Step back/forward (buttons and ←/→/Home/End) change the highlighted node, replayed locally."""
    open_page(page, live_server, **QUERY)
    wait_done(page)
    total = int(page.evaluate("document.getElementById('scrubber').max")) + 1
    expect_cursor(page, total - 1)
    expect_current(page, "h_l0", 0)  # the backward pass ends at h(0)

    page.click('[data-testid="step-back"]')
    expect_cursor(page, total - 2)
    expect_current(page, "h_l0", 1)

    page.keyboard.press("ArrowLeft")
    expect_current(page, "h_l0", 2)
    page.keyboard.press("ArrowRight")
    expect_current(page, "h_l0", 1)
    page.click('[data-testid="step-forward"]')
    expect_current(page, "h_l0", 0)

    page.keyboard.press("Home")
    expect_cursor(page, 0)
    expect_current(page, "h_l0", 0)
    page.keyboard.press("ArrowRight")
    expect_current(page, "h_l0", 1)
    # forward phase: h(2) is not computed yet at this cursor
    assert "pending" in page.get_attribute('[data-testid="graph"] [data-node="h_l0"][data-t="2"]', "class")
    page.keyboard.press("End")
    expect_cursor(page, total - 1)


def test_space_plays_and_pauses(page, live_server):
    """Space replays the received events from the cursor and pauses again."""
    open_page(page, live_server, **QUERY, delay=40)
    wait_done(page)
    page.keyboard.press("Home")
    page.keyboard.press("Space")
    wait_until(page, "Number(document.body.dataset.cursor) >= 3")
    page.keyboard.press("Space")
    wait_until(page, "document.getElementById('play').textContent.includes('play')")   # a frame after the pause
    stopped = cursor(page)
    frames(page, 20)                     # 20 frames ≈ 8 replay steps at 40 ms, had the replay gone on
    assert cursor(page) == stopped
    assert page.text_content('[data-testid="play"]').strip().endswith("play")
    # with the play button focused, space toggles exactly once (no extra click on keyup)
    page.click('[data-testid="play"]')
    wait_until(page, "document.getElementById('play').textContent.includes('pause')")
    page.keyboard.press("Space")
    frames(page)
    assert page.text_content('[data-testid="play"]').strip().endswith("play")


def test_step_forward_at_the_live_edge_asks_the_server_for_one_event(page, live_server):
    """Paused at the live edge, → asks the server for exactly one more event; End fetches the rest."""
    open_page(page, live_server, **QUERY, delay=300)
    page.click('[data-testid="play"]')   # pause the live stream early
    # the server's "paused" names the last event it sent: every event up to it has arrived
    wait_until(page, "document.body.dataset.serverPausedAt !== undefined")
    received = int(page.get_attribute("body", "data-received"))
    assert received == int(page.get_attribute("body", "data-server-paused-at")) + 1
    assert cursor(page) == received - 1
    page.keyboard.press("ArrowRight")
    expect_cursor(page, received)
    frames(page, 10)
    assert int(page.get_attribute("body", "data-received")) == received + 1
    page.keyboard.press("End")
    wait_done(page)
    total = int(page.evaluate("document.getElementById('scrubber').max")) + 1
    expect_cursor(page, total - 1)


def test_clicking_a_node_opens_the_inspector(page, live_server):
    """A click on h(3) shows its vector, its gradient and its share of the weights' gradients."""
    open_page(page, live_server, **QUERY)
    wait_done(page)
    page.click('[data-testid="graph"] [data-node="h_l0"][data-t="3"]')
    page.wait_for_selector("#inspector .vec-block")
    text = page.text_content("#inspector")
    assert "h₃" in text and "∂L/∂h₃" in text and "W" in text and "Jacobian" in text
    assert page.locator("#inspector .bar").count() >= 16


def test_the_equation_shows_values_for_small_h_and_norms_beyond(page, live_server):
    """H ≤ 4: the evaluated equation lists the vector itself; H > 4: its norm."""
    open_page(page, live_server, cell="gru", hidden_size=3, seq_len=5, task="copy")
    wait_done(page)
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")
    expect_current(page, "h_l0", 1)
    text = page.inner_text("#equation")
    assert "(1 − z) ⊙ n + z ⊙ h₀" in text and "torch" in text
    assert "h₁ = [" in text and "z = [" in text
    open_page(page, live_server, cell="gru", hidden_size=8, seq_len=5, task="copy")
    wait_done(page)
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")
    expect_current(page, "h_l0", 1)
    assert "‖h₁‖ = " in page.inner_text("#equation")


def _visible(page, t: int) -> bool:
    """Whether graph node h_l0(t) is inside the graph's visible box."""
    graph = page.locator('[data-testid="graph"]').bounding_box()
    node = page.locator(f'[data-testid="graph"] [data-node="h_l0"][data-t="{t}"]').bounding_box()
    return graph["x"] <= node["x"] and node["x"] + node["width"] <= graph["x"] + graph["width"]


def test_long_sequences_window_follows_and_overview_moves_it(page, live_server):
    """T=60: the window follows the current step; a click on the overview strip moves the window."""
    open_page(page, live_server, preset="vanishing-tanh", seq_len=60)
    wait_done(page)
    assert _visible(page, 0) and not _visible(page, 59)   # the backward pass ended at t=0
    box = page.locator("#overview").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.97, box["y"] + box["height"] / 2)
    wait_until(page, in_graph_view(page, '[data-testid="graph"] [data-node="h_l0"][data-t="59"]'))
    assert _visible(page, 59) and not _visible(page, 0)
    assert not page.is_checked("#follow")
    page.keyboard.press("0")                              # fit: following again
    page.keyboard.press("Home")
    expect_current(page, "h_l0", 0)
    assert _visible(page, 0)
