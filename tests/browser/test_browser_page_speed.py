"""Issue 17's page structure for long runs (what makes them fast; the speed itself is measured by
benchmarks/bench_page.py, never asserted): the graph exists in the DOM only around the view, the
overview strip is one bitmap, and plotly.js is not in the page's <head> but loaded after it is usable."""

from __future__ import annotations

from browser_helpers import expect_current, in_graph_view, open_page, open_tab, wait_done, wait_until

H_NODES = '[data-testid="graph"] .node.kind-h[data-node="h_l0"]'


def _drawn_steps(page) -> list[int]:
    """The t of every h node that exists in the graph's DOM."""
    return page.eval_on_selector_all(H_NODES, "nodes => nodes.map(n => Number(n.dataset.t))")


def test_a_long_run_is_drawn_around_the_view_and_the_overview_moves_it(page, live_server, screenshots_dir):
    """T=400: a window of columns around the step on screen exists; jumping moves it; the strip is a bitmap."""
    open_page(page, live_server, preset="vanishing-tanh", seq_len=400)
    wait_done(page)
    expect_current(page, "h_l0", 0)   # the backward pass ends at h(0)
    # the punchline is drawn at once: plotly's figure, or while plotly.js is still parsed, a plain-SVG sketch
    assert page.locator("#punchline .main-svg, #punchline > .plot-sketch polyline").count() > 0
    steps = _drawn_steps(page)
    assert 0 in steps and 10 < len(steps) < 200, steps
    assert 399 not in steps
    assert page.get_attribute("#overview image.overview-cells", "href").startswith("data:image/png")
    assert page.locator("#overview > rect:not(.overview-window)").count() == 0   # no rect per timestep (flags are in a <g>)

    box = page.locator("#overview").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.99, box["y"] + box["height"] / 2)
    wait_until(page, in_graph_view(page, f'{H_NODES}[data-t="399"]'))
    steps = _drawn_steps(page)
    assert 0 not in steps and 399 in steps and len(steps) < 200, steps
    # a node drawn late is painted like the others: the backward pass has reached it
    assert "done" in page.get_attribute(f'{H_NODES}[data-t="399"]', "class")
    page.screenshot(path=str(screenshots_dir / "page_speed_long_run_end.png"))

    page.keyboard.press("0")      # fit: the window follows the step again
    page.keyboard.press("Home")   # the first event: the window comes back to t=0, node h(0) current
    expect_current(page, "h_l0", 0)
    wait_until(page, in_graph_view(page, f'{H_NODES}[data-t="0"]'))
    assert 399 not in _drawn_steps(page)


def test_plotly_is_loaded_after_the_page_and_draws_the_plots(page, live_server):
    """The served page names plotly.js in a <meta>, not a blocking <script>; the plots are drawn once it has loaded."""
    open_page(page, live_server, preset="vanishing-tanh", seq_len=8)
    assert page.get_attribute('meta[name="plotly-src"]', "content") == "/vendor/plotly.min.js"
    assert page.evaluate("document.querySelectorAll('head > script[src*=\"plotly\"]:not([async])').length") == 0
    wait_done(page)
    open_tab(page, "plots")   # issue 20: the plots live in a tab
    page.wait_for_selector('[data-testid="plot-grad-norms"] .main-svg')
    page.wait_for_selector("#punchline .main-svg")
    assert page.locator("#punchline .plot-sketch").count() == 0   # plotly's figure has replaced the sketch
    wait_until(page, "typeof window.Plotly === 'object' && "
                     "document.querySelector('[data-testid=\"plot-grad-norms\"]').data?.length > 0")


def test_the_picker_works_before_the_scripts_run(page, live_server):
    """The preset picker is in the served HTML: a preset picked while main.js is still loading (held back
    here) is the run the page starts once the scripts run, not the first preset."""
    held = []
    page.route("**/static/js/main.js", lambda route: held.append(route))
    page.goto(f"{live_server}/?delay=0", wait_until="commit")
    page.wait_for_selector('#preset option[value="lstm-memory"]', state="attached")
    wait_until(page, "document.querySelectorAll('#preset option').length > 5 && !document.querySelector('#preset').disabled")
    page.select_option("#preset", "lstm-memory")
    wait_until(page, "document.querySelector('#preset').value === 'lstm-memory'")
    assert len(held) == 1 and page.evaluate("document.body.dataset.status") is None   # no script has run
    held[0].continue_()
    wait_done(page)
    assert "preset=lstm-memory" in page.url
    assert page.locator('[data-testid="graph"] .node[data-node="c_l0"]').count() > 0   # an LSTM: its cell state
    assert page.input_value("#preset") == "lstm-memory"


def test_the_page_marks_its_first_and_last_drawn_event(page, live_server):
    """User Timing marks "unrolled:first-event" and "unrolled:last-event" (read by bench_page.py and
    DevTools) are set once each, in that order, and the last one only when the run's last event is drawn."""
    open_page(page, live_server, preset="vanishing-tanh", seq_len=12)
    wait_done(page)
    wait_until(page, "document.body.dataset.cursor === String(Number(document.body.dataset.total) - 1)")
    marks = page.evaluate("performance.getEntriesByType('mark').filter(m => m.name.startsWith('unrolled:'))"
                          ".map(m => [m.name, m.startTime])")
    assert [name for name, _ in marks] == ["unrolled:first-event", "unrolled:last-event"], marks
    assert 0 < marks[0][1] <= marks[1][1]
    page.keyboard.press("Home")      # moving the cursor back and forth adds no marks
    page.keyboard.press("End")
    wait_until(page, "document.body.dataset.cursor === String(Number(document.body.dataset.total) - 1)")
    assert page.evaluate("performance.getEntriesByType('mark').filter(m => m.name.startsWith('unrolled:')).length") == 2


def test_the_first_run_takes_the_socket_opened_while_the_page_loads(page, live_server):
    """The served page opens /ws/trace from early_socket.js while main.js is still loading (held back
    here); once the scripts run, the first run streams on that socket: one socket for the whole load."""
    sockets = []
    page.on("websocket", lambda ws: sockets.append(ws))
    held = []
    page.route("**/static/js/main.js", lambda route: held.append(route))
    with page.expect_websocket(timeout=10_000) as early:
        page.goto(f"{live_server}/?preset=vanishing-tanh&delay=0", wait_until="commit")
    assert early.value.url.endswith("/ws/trace")
    assert len(held) == 1 and page.evaluate("document.body.dataset.status") is None   # main.js has not run
    held[0].continue_()
    wait_done(page)
    assert page.evaluate("Number(document.body.dataset.received)") > 0
    assert sockets == [early.value]
    with page.expect_websocket(timeout=10_000) as second:   # a later run opens its own socket
        page.select_option("#preset", "lstm-memory")
    wait_done(page)
    assert sockets == [early.value, second.value]
    wait_until(page, "document.body.dataset.received > 0 && document.querySelector('#preset').value === 'lstm-memory'")
    assert early.value.is_closed()
