"""Issue 8 on the real page: upload your own torch LSTM, step through it, follow its diagnosis to the
graph; a bad file is named next to its picker; compare tanh vs LSTM vs GRU.

These need the page wiring of issue 8 (index.html containers #model-upload and #compare, main.js
mounting findings.js / models.js / compare.js, socket.js sending model_id)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from browser_helpers import open_tab, expect_refusals, in_graph_view, open_page, page_data, wait_done, wait_until

H = 8


def save_lstm(folder: Path, forget_bias: float, input_size: int = 3) -> Path:
    """A torch.nn.LSTM(input_size, H) state dict with its forget-gate bias shifted, saved with np.savez."""
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(input_size, H)
    with torch.no_grad():
        lstm.bias_ih_l0[H:2 * H] += forget_bias
    path = folder / "shut.npz"
    np.savez(path, **{k: v.detach().numpy() for k, v in lstm.state_dict().items()})
    return path


def save_input(folder: Path, shape: tuple[int, ...], name: str = "walk.npy") -> Path:
    """A random input sequence, time first."""
    path = folder / name
    np.save(path, np.random.default_rng(0).standard_normal(shape))
    return path


def unstick_topbar(page) -> None:
    """Let the sticky top bar scroll away, so that it does not cover element screenshots."""
    page.add_style_tag(content=".topbar { position: static; }")


def open_upload(page, live_server) -> None:
    """Open the page on a short preset run and unfold the upload card."""
    open_page(page, live_server, preset="vanishing-tanh", seq_len=8)
    wait_done(page)
    open_tab(page, "model")
    page.click("#model-upload-card summary")
    page.wait_for_selector('[data-testid="upload-model"]', state="visible")
    unstick_topbar(page)


def test_an_uploaded_lstm_with_closing_forget_gates_is_diagnosed_and_a_click_selects_its_step(page, live_server, tmp_path, screenshots_dir):
    open_upload(page, live_server)
    open_tab(page, "model")
    page.set_input_files('[data-testid="upload-model"]', str(save_lstm(tmp_path, forget_bias=-6.0)))
    page.set_input_files('[data-testid="upload-input"]', str(save_input(tmp_path, (20, 2, 3))))
    page.click('[data-testid="upload-submit"]')
    page.wait_for_selector('[data-testid="upload-info"]:not([hidden])')
    info = page.text_content('[data-testid="upload-info"]')
    assert "shut.npz" in info and "lstm" in info and "hidden 8" in info and "T = 20" in info
    page.locator("#model-upload-card").screenshot(path=str(screenshots_dir / "debug_upload_info.png"))

    page.click('[data-testid="upload-step-through"]')
    wait_until(page, "document.getElementById('story-title').textContent.startsWith('Your model: shut.npz')")
    wait_done(page)
    assert page.locator('[data-testid="graph"] [data-node="h_l0"]').count() == 20
    assert page.is_disabled("#copy-link")   # no permalink for uploaded weights
    preset_story = next(p["story"] for p in page_data(page)["presets"] if p["name"] == "vanishing-tanh")
    assert page.text_content("#story") != preset_story   # not the story of the preset shown before
    open_tab(page, "diagnosis")
    finding = page.wait_for_selector('[data-testid="finding"][data-kind="forget_gate"]')
    assert finding.get_attribute("data-severity") == "warning"
    assert "forget" in finding.text_content().lower()
    t = int(finding.get_attribute("data-t"))
    assert 0 <= t < 20
    flags = page.locator('#overview [data-testid="health-flag"][data-kind="forget_gate"]')
    assert flags.count() >= 1
    assert t in {int(flags.nth(i).get_attribute("data-t")) for i in range(flags.count())}

    finding.click()
    selected = page.wait_for_selector(f'[data-testid="graph"] .node.selected[data-node="h_l0"][data-t="{t}"]', timeout=5_000)
    wait_until(page, in_graph_view(page, f'[data-testid="graph"] .node.selected[data-node="h_l0"][data-t="{t}"]'))
    node, view = selected.bounding_box(), page.locator(".graph-viewport").bounding_box()
    assert view["x"] <= node["x"] and node["x"] + node["width"] <= view["x"] + view["width"], "the selected step is off screen"
    assert f"t = {t}" in page.text_content("#inspector") or f"{t}" in page.text_content("#inspector")
    page.screenshot(path=str(screenshots_dir / "debug_forget_gate_selected.png"))
    open_tab(page, "diagnosis")   # the finding's click opened the Step tab (the inspector)
    page.locator(".diagnosis-card").screenshot(path=str(screenshots_dir / "debug_diagnosis_card.png"))


def test_a_healthy_uploaded_lstm_says_no_problems_found(page, live_server, tmp_path):
    open_upload(page, live_server)
    open_tab(page, "model")
    page.set_input_files('[data-testid="upload-model"]', str(save_lstm(tmp_path, forget_bias=2.0)))
    page.set_input_files('[data-testid="upload-input"]', str(save_input(tmp_path, (20, 2, 3))))
    page.click('[data-testid="upload-submit"]')
    page.click('[data-testid="upload-step-through"]')
    wait_until(page, "document.getElementById('story-title').textContent.startsWith('Your model')")
    wait_done(page)
    open_tab(page, "diagnosis")
    page.wait_for_selector('[data-testid="diagnosis-healthy"]')
    # issue 21: the memory horizon is a fact shown under "No problems found", never a problem or a flag
    assert page.locator('[data-testid="finding"]:not([data-severity="info"])').count() == 0
    assert page.locator('#overview [data-testid="health-flag"]').count() == 0
    page.locator('[data-testid="diagnosis-panel"]').screenshot(path=str(tmp_path / "issue21_healthy_horizon.png"))
    assert "σmax" in page.text_content('[data-testid="spectra"]')


def test_a_wrong_input_shape_is_shown_next_to_the_input_picker(page, live_server, guard, tmp_path, screenshots_dir):
    open_upload(page, live_server)
    open_tab(page, "model")
    page.set_input_files('[data-testid="upload-model"]', str(save_lstm(tmp_path, forget_bias=0.0)))
    page.set_input_files('[data-testid="upload-input"]', str(save_input(tmp_path, (20, 2, 4), name="seq.npy")))
    page.click('[data-testid="upload-submit"]')
    error = page.wait_for_selector('[data-testid="upload-input-error"]:not([hidden])')
    text = error.text_content()
    assert "seq.npy" in text and "(20, 2, 4)" in text and "3" in text
    assert page.is_hidden('[data-testid="upload-model-error"]')
    assert page.is_hidden('[data-testid="upload-info"]')
    page.locator("#model-upload-card").screenshot(path=str(screenshots_dir / "debug_upload_bad_input.png"))

    (tmp_path / "notes.npz").write_bytes(b"not a zip at all")
    page.set_input_files('[data-testid="upload-model"]', str(tmp_path / "notes.npz"))
    page.click('[data-testid="upload-submit"]')
    model_error = page.wait_for_selector('[data-testid="upload-model-error"]:not([hidden])')
    assert "notes.npz" in model_error.text_content()
    expect_refusals(guard, 2)


def test_a_missing_file_is_asked_for_before_anything_is_sent(page, live_server, tmp_path):
    open_upload(page, live_server)
    open_tab(page, "model")
    page.set_input_files('[data-testid="upload-input"]', str(save_input(tmp_path, (20, 3))))
    page.click('[data-testid="upload-submit"]')
    assert ".npz" in page.wait_for_selector('[data-testid="upload-model-error"]:not([hidden])').text_content()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_compare_tanh_lstm_gru_draws_three_decay_curves_and_the_breakdown(page, live_server, screenshots_dir, theme):
    open_page(page, live_server, preset="vanishing-tanh", seq_len=16, theme=theme)
    wait_done(page)
    unstick_topbar(page)
    open_tab(page, "compare")
    page.select_option('[data-testid="compare-vary"]', "cell")
    page.click('[data-testid="compare-run"]')
    page.wait_for_selector('[data-testid="plot-compare"] .main-svg')
    page.wait_for_selector('[data-testid="plot-breakdown"] .main-svg')
    curves = page.evaluate("""() => document.querySelector('[data-testid="plot-compare"]').data
        .filter((d) => d.meta === 'run').map((d) => [d.name, d.y.filter((v) => v !== null).length])""")
    assert [name.split(":")[0] for name, _ in curves] == ["cell = rnn_tanh", "cell = lstm", "cell = gru"]
    assert all("per step" in name and "×" in name for name, _ in curves)
    assert all(points >= 10 for _, points in curves)
    assert page.locator('[data-testid="plot-compare"] .legendtext').count() == 3
    heatmaps = page.evaluate("""() => document.querySelector('[data-testid="plot-breakdown"]').data
        .map((d) => [d.type, d.zmin, d.zmax, d.y.length])""")
    assert len(heatmaps) == 2 and {h[0] for h in heatmaps} == {"heatmap"}
    assert heatmaps[0][1:3] == heatmaps[1][1:3]             # one colour scale for both
    assert heatmaps[0][3] == 16 and heatmaps[1][3] == 1     # a loss at every step vs the end only
    assert page.locator('[data-testid="compare-run-card"]').count() == 3
    assert page.locator('[data-testid="plot-compare-profiles"] .main-svg').count() >= 1
    page.locator(".compare-card").screenshot(path=str(screenshots_dir / f"debug_compare_{theme}.png"))


def test_a_bad_custom_comparison_shows_the_servers_message(page, live_server, guard):
    open_page(page, live_server, preset="vanishing-tanh", seq_len=8)
    wait_done(page)
    open_tab(page, "compare")
    page.select_option('[data-testid="compare-vary"]', "model")
    page.click('[data-testid="compare-run"]')
    assert "Upload a model first" in page.text_content('[data-testid="compare-status"]')
    page.select_option('[data-testid="compare-vary"]', "custom")
    page.fill('[data-testid="compare-field"]', "cell")
    page.fill('[data-testid="compare-values"]', "rnn_tanh, banana")
    page.click('[data-testid="compare-run"]')
    wait_until(page, "document.querySelector('[data-testid=\"compare-status\"]').classList.contains('error')")
    assert "run 2" in page.text_content('[data-testid="compare-status"]')
    expect_refusals(guard, 1)


@pytest.fixture()
def own_server(tmp_path):
    """An app of its own whose uploads are shared in this test's folder: (base URL, its model store)."""
    from browser_helpers import serve
    from unrolled.server.app import create_app
    from unrolled.server.settings import Settings
    from unrolled.server.uploads.model_spill import SpilledFiles
    from unrolled.server.uploads.models import ModelStore

    settings = Settings.from_env()
    store = ModelStore(settings, SpilledFiles(tmp_path / "spill", settings.max_spill_bytes))
    with serve(create_app(settings, models=store)) as base:
        yield base, store


def test_a_model_the_server_no_longer_holds_is_uploaded_again_from_the_kept_files(page, own_server, guard, tmp_path):
    """Another worker or a trimmed store: the socket answers an error on model_id, the page POSTs the
    same files again (same id) and the run starts without the user doing anything."""
    live_server, store = own_server
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and r.url.endswith("/api/models") else None)
    open_upload(page, live_server)
    open_tab(page, "model")
    page.set_input_files('[data-testid="upload-model"]', str(save_lstm(tmp_path, forget_bias=-6.0)))
    page.set_input_files('[data-testid="upload-input"]', str(save_input(tmp_path, (12, 3))))
    page.click('[data-testid="upload-submit"]')
    page.click('[data-testid="upload-step-through"]')
    wait_done(page)
    assert len(posts) == 1

    store._models.clear()                             # this process forgets it ...
    for path in (tmp_path / "spill").rglob("*"):      # ... and so does the shared folder
        if path.is_file():
            path.unlink()
    page.click("#run")
    wait_until(page, "document.body.dataset.status === 'done' && document.getElementById('status').textContent.includes('done')", 30_000)
    assert len(posts) == 2
    assert page.text_content("#story-title").startswith("Your model: shut.npz")
    assert page.is_hidden("#banner") or "Error" not in page.text_content("#banner")
    assert page.locator('[data-testid="finding"][data-kind="forget_gate"]').count() == 1


def test_an_uploaded_model_is_compared_with_fresh_cells_of_its_sizes(page, live_server, tmp_path):
    open_upload(page, live_server)
    open_tab(page, "model")
    page.set_input_files('[data-testid="upload-model"]', str(save_lstm(tmp_path, forget_bias=-6.0)))
    page.set_input_files('[data-testid="upload-input"]', str(save_input(tmp_path, (12, 3))))
    page.click('[data-testid="upload-submit"]')
    page.wait_for_selector('[data-testid="upload-info"]:not([hidden])')
    page.click('[data-testid="upload-step-through"]')
    wait_done(page)
    open_tab(page, "compare")
    page.select_option('[data-testid="compare-vary"]', "model")
    page.click('[data-testid="compare-run"]')
    page.wait_for_selector('[data-testid="plot-compare"] .main-svg')
    names = page.evaluate("""() => document.querySelector('[data-testid="plot-compare"]').data
        .filter((d) => d.meta === 'run').map((d) => d.name)""")
    assert len(names) == 4 and "shut.npz" in names[0]
    cards = page.locator('[data-testid="compare-run-card"]')
    assert cards.nth(0).locator('[data-testid="finding"][data-kind="forget_gate"]').count() == 1
