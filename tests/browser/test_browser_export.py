"""An exported page (`unrolled export`) opened from file:// in chromium with every network request
blocked: the graph draws, stepping forward and back works, the plots draw, no console error; an
exported lesson plays its scenes (issue 16)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from browser_helpers import open_tab, block_all_but_file, cursor, wait_until
from unrolled.server import export

PLOTS = ("plot-grad-norms", "plot-vanishing", "plot-flow", "plot-hidden", "plot-contributions")


@pytest.fixture
def offline_page(browser) -> Iterator[tuple]:
    """A 1280×720 page whose every request but the opened file itself is aborted and recorded;
    yields (page, problems). The test fails on any problem."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.set_default_timeout(30_000)
    problems, open_file = block_all_but_file(page)
    yield page, problems, open_file
    context.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("preset", ["char-lm", "lstm-memory", "seq2seq"])
def test_exported_preset_works_offline(offline_page, tmp_path, screenshots_dir, preset: str) -> None:
    page, problems, open_file = offline_page
    path = tmp_path / f"{preset}.html"
    path.write_text(export.export_preset(preset), encoding="utf-8")
    size_mb = path.stat().st_size / 2**20
    print(f"exported {preset}: {size_mb:.2f} MB")
    assert size_mb < 8
    open_file(path, "?delay=0")
    page.wait_for_selector('body[data-status="done"]')
    assert page.locator('[data-testid="graph"] [data-node]').count() > 0
    open_tab(page, "plots")
    for plot in PLOTS:
        page.wait_for_selector(f'[data-testid="{plot}"] .main-svg')
    end = cursor(page)
    assert end == int(page.get_attribute("body", "data-received")) - 1
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    wait_until(page, f"Number(document.body.dataset.cursor) === {end - 2}")
    page.click('[data-testid="step-forward"]')
    wait_until(page, f"Number(document.body.dataset.cursor) === {end - 1}")
    page.keyboard.press("Home")   # the first forward event
    wait_until(page, "Number(document.body.dataset.cursor) === 0")
    page.keyboard.press("ArrowRight")
    wait_until(page, "Number(document.body.dataset.cursor) === 1")
    page.wait_for_selector('[data-testid="graph"] .node.current')
    note = page.text_content('[data-testid="offline-note"]')
    assert "recording" in note and "cannot compute" in note
    page.screenshot(path=str(screenshots_dir / f"export-{preset}.png"))
    assert not problems


def test_exported_page_refuses_a_run_it_does_not_hold(offline_page, tmp_path) -> None:
    page, problems, open_file = offline_page
    path = tmp_path / "char-lm.html"
    path.write_text(export.export_preset("char-lm"), encoding="utf-8")
    open_file(path, "?preset=char-lm&seq_len=7&delay=0")   # a permalink to a run the file does not hold
    page.wait_for_selector('body[data-status="error"]')
    assert "cannot compute a new one" in page.text_content("#banner")


def test_exported_lesson_plays_offline(offline_page, tmp_path, screenshots_dir) -> None:
    page, problems, open_file = offline_page
    path = tmp_path / "bptt.html"
    path.write_text(export.export_lesson("bptt"), encoding="utf-8")
    open_file(path, "?scene=2")
    page.wait_for_selector('body[data-lesson-ready="2"]')
    assert json.loads(page.get_attribute("body", "data-lesson-problems")) == []
    page.keyboard.press("ArrowRight")
    page.wait_for_selector('body[data-lesson-ready="3"]')
    assert json.loads(page.get_attribute("body", "data-lesson-problems")) == []
    assert page.text_content('[data-testid="lesson-counter"]') == "Scene 3 / 7"
    page.screenshot(path=str(screenshots_dir / "export-lesson-bptt.png"))


def test_download_as_page_saves_the_run_on_screen(page, live_server, tmp_path) -> None:
    page.goto(f"{live_server}/?preset=pos-tagging&seq_len=5&delay=0")
    page.wait_for_selector('body[data-status="done"]')
    with page.expect_download() as info:
        page.click('[data-testid="download-page"]')
    download = info.value
    assert download.suggested_filename == "pos-tagging.html"
    saved = tmp_path / "saved.html"
    download.save_as(saved)
    html = saved.read_text(encoding="utf-8")
    assert '<script id="offline-data"' in html and '"seq_len":5' in html
    wait_until(page, "document.querySelector('#banner').textContent.startsWith('Saved pos-tagging.html')")
