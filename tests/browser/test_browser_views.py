"""Presenter mode, the dark theme, the plots' content and plot → graph hover, with screenshots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from browser_helpers import open_tab, frames, open_page, wait_done, wait_until

from unrolled import engine

PLOTS = ["plot-grad-norms", "plot-vanishing", "plot-flow", "plot-hidden", "plot-contributions"]


def test_presenter_mode_hides_the_form_and_enlarges_type(page, live_server, screenshots_dir):
    """?present=1: larger type, no config form; the graph and controls stay."""
    open_page(page, live_server, preset="vanishing-tanh")
    normal = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    open_page(page, live_server, preset="vanishing-tanh", present=1)
    wait_done(page)
    big = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert big > normal * 1.2
    assert not page.is_visible("#config-form")
    assert page.is_visible('[data-testid="graph"]') and page.is_visible('[data-testid="run"]')
    page.click("#jump-forward-end")
    page.wait_for_selector('body[data-cursor="119"]')
    page.screenshot(path=str(screenshots_dir / "present-vanishing-tanh-forward-end.png"))
    page.keyboard.press("PageDown")   # start of the backward pass
    page.screenshot(path=str(screenshots_dir / "present-vanishing-tanh-backward-start.png"))
    page.keyboard.press("End")
    page.wait_for_selector('body[data-cursor="199"]')
    # the punchline's factor and plot follow the cursor a frame or two later (paced plot redraws)
    wait_until(page, "document.querySelector('[data-testid=\"punchline-factor\"]').dataset.factor !== ''")
    page.screenshot(path=str(screenshots_dir / "present-vanishing-tanh-end.png"))


def test_plots_render_with_data_and_hover_highlights_the_graph(page, live_server, screenshots_dir):
    """All five plots draw their data (not the waiting note); hovering a point marks its node."""
    open_page(page, live_server, preset="lstm-memory", theme="dark")
    wait_done(page)
    open_tab(page, "plots")
    for plot in PLOTS:
        page.wait_for_selector(f'[data-testid="{plot}"] .main-svg')
    # a plot first shows a "waiting" note (no data); the summary's data comes with the next frame
    counts_js = "Object.fromEntries(%s.map(id => [id, document.getElementById(id).data?.length ?? 0]))" % PLOTS
    try:
        wait_until(page, f"Object.values({counts_js}).every(n => n >= 1)")
    except AssertionError:
        raise AssertionError(page.evaluate(counts_js)) from None
    open_tab(page, "plots")
    log_axis = page.evaluate("document.getElementById('plot-grad-norms').layout.yaxis.type")
    assert log_axis == "log"
    vanishing = page.evaluate("document.getElementById('plot-vanishing').data.map(d => d.mode)")
    assert vanishing.count("lines") >= 2   # the fitted factor and the bound
    open_tab(page, "plots")
    page.locator('[data-testid="plot-grad-norms"]').scroll_into_view_if_needed()
    box = page.locator('[data-testid="plot-grad-norms"] .nsewdrag').bounding_box()
    page.mouse.move(box["x"] + 2, box["y"] + box["height"] / 2)
    for dx in range(0, int(box["width"]), 6):
        page.mouse.move(box["x"] + dx, box["y"] + box["height"] / 2)
        frames(page)                         # plotly's hover, then the graph's next frame
        if page.query_selector('[data-testid="graph"] .node.hovered'):
            break
    assert page.query_selector('[data-testid="graph"] .node.hovered[data-node="h_l0"]') is not None
    page.screenshot(path=str(screenshots_dir / "dark-lstm-memory-plots.png"), full_page=True)


def test_exports_help_and_inspector_of_gates(page, live_server, screenshots_dir):
    """Trace .json / .npz and plot PNG downloads work offline (a plot not drawn yet says so); '?' opens
    and closes the help; the LSTM inspector shows gates."""
    open_page(page, live_server, preset="lstm-memory", seq_len=8, hidden_size=8)
    wait_done(page)
    with page.expect_download() as info:
        page.click("#export-json")
    trace = json.loads(Path(info.value.path()).read_text())
    assert isinstance(trace, dict) and "loss" in trace
    with page.expect_download() as info:
        page.click("#export-npz")
    assert info.value.suggested_filename.endswith(".npz")
    loaded = engine.load_trace(info.value.path())                 # the engine reads what the page saved
    assert loaded.cell == "lstm" and loaded.T == 8 and loaded.loss == pytest.approx(trace["loss"])
    open_tab(page, "plots")    # a hidden tab's plots are drawn when it opens: wait for it (not drawn yet says so)
    wait_until(page, "(document.getElementById('plot-grad-norms').data || []).length > 0", timeout_ms=30_000)
    with page.expect_download() as info:
        page.click('button.png[data-plot="plot-grad-norms"]')
    assert Path(info.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    open_tab(page, "training")
    page.click('button.png[data-plot="plot-training"]')          # nothing trained: nothing to save
    page.wait_for_selector("#banner.info:has-text('That plot has nothing to export yet.')")

    page.keyboard.press("?")
    assert page.is_visible("#help")
    page.keyboard.press("Escape")
    assert not page.is_visible("#help")
    page.keyboard.press("?")
    assert page.is_visible("#help")
    page.keyboard.press("?")                                      # '?' toggles it
    assert not page.is_visible("#help")
    page.keyboard.press("?")
    page.click("#close-help")
    assert not page.is_visible("#help")

    page.click('[data-testid="graph"] [data-node="h_l0"][data-t="4"]')
    page.wait_for_selector("#inspector .vec-block")
    names = page.eval_on_selector_all("#inspector .vec-name", "els => els.map(e => e.textContent)")
    for gate in ["i", "f", "g", "o"]:
        assert gate in names, names
    assert any(n.startswith("c₄") for n in names), names
    page.screenshot(path=str(screenshots_dir / "inspector-lstm.png"))


def test_diagnosis_findings_lead_to_their_node(page, live_server):
    """The engine's findings are listed after the run; clicking one inspects its node."""
    open_page(page, live_server, preset="exploding", seq_len=12)
    wait_done(page)
    open_tab(page, "diagnosis")
    page.wait_for_selector('.diagnosis-card:not([hidden]) [data-testid="finding"]')
    assert "σmax" in page.text_content('[data-testid="spectra"]')
    page.click('#diagnosis [data-testid="finding"] >> nth=0')
    page.wait_for_selector("#inspector .vec-block")
    assert page.query_selector('[data-testid="graph"] .node.selected[data-node="h_l0"]') is not None
