"""Issue 20: one screen per lesson at 1280×720 — the graph and the punchline plot above the fold, a
presenter mode that fits, legible graph text, honest notes, the one-click cell contrast; screenshots
of every preset in normal, presenter and dark looks."""

from __future__ import annotations

import pytest

from browser_helpers import open_page, open_tab, page_data, wait_done, wait_until

VIEWPORT = {"width": 1280, "height": 720}

INTERSECTS_FIRST_SCREEN = """sel => { const r = document.querySelector(sel).getBoundingClientRect();
    return r.width > 0 && r.height > 0 && r.top < innerHeight && r.bottom > 0 && r.left < innerWidth && r.right > 0; }"""

SMALLEST_GRAPH_TEXT = """() => { let least = Infinity;
    for (const t of document.querySelectorAll('[data-testid="graph"] text')) {
      const r = t.getBoundingClientRect();
      if (!r.width || getComputedStyle(t).display === 'none' || !t.textContent.trim()) continue;
      const svg = t.ownerSVGElement; const scale = svg.getBoundingClientRect().height / svg.viewBox.baseVal.height;
      least = Math.min(least, parseFloat(getComputedStyle(t).fontSize) * scale);
    } return least; }"""

# every drawn node and text of the graph lies wholly inside the graph's visible box, or wholly outside it
CUT_BY_EDGE = """() => { const v = document.querySelector('.graph-viewport').getBoundingClientRect();
    const cut = [];
    for (const el of document.querySelectorAll('[data-testid="graph"] .node, [data-testid="graph"] text')) {
      const r = el.getBoundingClientRect();
      if (!r.width || !r.height || getComputedStyle(el).visibility === 'hidden') continue;   // not drawn
      const inside = r.left >= v.left - 0.5 && r.right <= v.right + 0.5 && r.top >= v.top - 0.5 && r.bottom <= v.bottom + 0.5;
      const outside = r.right <= v.left || r.left >= v.right || r.bottom <= v.top || r.top >= v.bottom;
      if (!inside && !outside) cut.push(el.textContent.trim() || el.getAttribute('data-node') + ':' + el.getAttribute('data-t'));
    } return cut; }"""


@pytest.fixture
def small(page):
    """The page at 1280×720, a projector's size."""
    page.set_viewport_size(VIEWPORT)
    return page



# the punchline plot has drawn its curve, or is hidden (a tree has no time axis): screenshots wait for it
PUNCHLINE_DRAWN = """() => { const plot = document.querySelector('#punchline');
  return !plot || plot.offsetParent === null || plot.querySelectorAll('.scatterlayer .trace').length > 0; }"""


def wait_punchline(page) -> None:
    """Wait until the punchline plot shows the run (its redraw is paced after the last event)."""
    wait_until(page, PUNCHLINE_DRAWN)

def presets(page, live_server) -> list[str]:
    open_page(page, live_server, preset="vanishing-tanh")
    return [p["name"] for p in page_data(page)["presets"]]


@pytest.mark.parametrize("present", [0, 1])
def test_the_graph_and_the_punchline_share_the_first_screen(small, live_server, present):
    open_page(small, live_server, preset="vanishing-tanh", present=present)
    wait_done(small)
    wait_until(small, "document.querySelector('[data-testid=\"punchline\"] .main-svg') !== null")
    for sel in ('[data-testid="graph"]', '[data-testid="punchline"]'):
        assert small.evaluate(INTERSECTS_FIRST_SCREEN, sel), sel
    factor = float(small.get_attribute('[data-testid="punchline-factor"]', "data-factor"))
    assert 0 < factor < 0.95   # the tanh preset vanishes: the fitted factor per step back is below 1
    assert "vanishing" in small.text_content('[data-testid="punchline-factor"]')


def test_presenter_mode_fits_every_preset_with_legible_text(small, live_server, screenshots_dir):
    names = presets(small, live_server)
    too_tall, too_small = [], []
    for name in names:
        for theme in ("light", "dark"):
            open_page(small, live_server, preset=name, present=1, theme=theme)
            wait_done(small)
            wait_punchline(small)
            if theme == "light":
                height = small.evaluate("document.documentElement.scrollHeight")
                if height > 1.2 * VIEWPORT["height"]:
                    too_tall.append((name, height))
                least = small.evaluate(SMALLEST_GRAPH_TEXT)
                if least < 18:
                    too_small.append((name, round(least, 1)))
                assert small.text_content('[data-testid="toggle-present"]') == "Exit"
            small.screenshot(path=str(screenshots_dir / f"one_screen_{name}_present_{theme}.png"))
    assert not too_tall, too_tall
    assert not too_small, too_small


def test_every_preset_normal_and_dark_screenshots_and_no_cut_nodes(small, live_server, screenshots_dir):
    names = presets(small, live_server)
    cut = {}
    for name in names:
        for theme in ("light", "dark"):
            open_page(small, live_server, preset=name, theme=theme)
            wait_done(small)
            wait_punchline(small)
            assert small.evaluate(INTERSECTS_FIRST_SCREEN, '[data-testid="graph"]'), name
            small.screenshot(path=str(screenshots_dir / f"one_screen_{name}_{theme}.png"))
            if theme == "light":
                edges = small.evaluate(CUT_BY_EDGE)
                if edges:
                    cut[name] = edges[:6]
    assert not cut, cut


def test_an_untrained_run_says_so_and_the_scale_slider_shows_its_value(small, live_server):
    open_page(small, live_server, cell="rnn_tanh", task="copy", seq_len=12, hidden_size=8, recurrent_scale=10)
    assert "Untrained" in small.text_content('[data-testid="weights-note"]')
    open_tab(small, "config")
    assert small.text_content("#scale-out") == "× 10"
    assert float(small.input_value('input[name="recurrent_scale"]')) == 10
    open_page(small, live_server, cell="rnn_tanh", task="copy", seq_len=12, hidden_size=8)
    open_tab(small, "config")
    assert small.text_content("#scale-out") == "default init"
    assert small.get_attribute('input[name="recurrent_scale"]', "data-unset") is not None


def test_pos_tagging_plots_no_drop_at_padding_and_its_title_names_both_sentences(small, live_server):
    open_page(small, live_server, preset="pos-tagging")
    wait_done(small)
    wait_until(small, "document.querySelector('[data-testid=\"punchline\"] .main-svg') !== null")
    ys = small.evaluate("() => document.querySelector('[data-testid=\"punchline\"]').data[0].y")
    assert ys and all(y is None or y > 0 for y in ys)
    assert any(y is None for y in ys)   # the padding step is a gap, not a drop to the axis floor
    assert "a dog runs fast" in small.text_content("#story-title")


def test_one_click_draws_tanh_lstm_and_gru_on_the_punchline(small, live_server):
    open_page(small, live_server, preset="vanishing-tanh")
    wait_done(small)
    small.click('[data-testid="compare-cells"]')
    wait_until(small, "(document.querySelector('[data-testid=\"punchline\"]').data || []).filter(d => d.showlegend !== false).length === 3",
               timeout_ms=30_000)
    text = small.text_content('[data-testid="punchline-factor"]')
    for cell in ("tanh RNN", "LSTM", "GRU"):
        assert cell in text


def test_a_long_run_shows_its_progress_and_can_be_cancelled(small, live_server):
    open_page(small, live_server, cell="lstm", seq_len=200, hidden_size=16, delay=20)
    small.wait_for_selector('[data-testid="run-progress"]', state="visible")
    small.click('[data-testid="cancel-run"]')
    small.wait_for_selector("body[data-server-paused-at]")   # the server stopped streaming
    small.wait_for_selector('[data-testid="run-progress"]', state="hidden")
    received = int(small.get_attribute("body", "data-received"))
    total = int(small.get_attribute("body", "data-total"))
    assert 0 < received < total   # cancelled before the end (~1 000 events at 20 ms each)


def test_a_preset_plays_to_its_punchline_at_the_default_pace(small, live_server):
    """No delay in the URL: the slider shows the paced delay, at most 2 s for the whole run."""
    small.goto(f"{live_server}/?preset=vanishing-tanh")
    wait_done(small)
    total = int(small.get_attribute("body", "data-received"))
    delay = int(small.text_content("#speed-out").split()[0])
    assert delay * total <= 2000
