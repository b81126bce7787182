"""An ONNX model through the page's "Debug your own model": a batch-first GRU tagger uploaded as .onnx with
its input in its own layout is stepped through; a graph the reader refuses is named next to the model's
picker."""

from __future__ import annotations

import numpy as np

from browser_helpers import open_tab, expect_refusals, open_page, wait_done, wait_until
from onnx_models import B, I, T, gru_onnx


def open_upload(page, live_server) -> None:
    open_page(page, live_server, preset="vanishing-tanh", seq_len=8)
    wait_done(page)
    open_tab(page, "model")
    page.click("#model-upload-card summary")
    page.wait_for_selector('[data-testid="upload-model"]', state="visible")
    page.add_style_tag(content=".topbar { position: static; }")


def submit_upload(page, model, x, *, batch_first: bool = False) -> None:
    """Pick the model and input files in the open upload card (ticking "batch first" if asked), send them
    and wait for the card's summary of what was read."""
    page.set_input_files('[data-testid="upload-model"]', str(model))
    page.set_input_files('[data-testid="upload-input"]', str(x))
    if batch_first:
        page.check('[data-testid="upload-batch-first"]')
    page.click('[data-testid="upload-submit"]')
    page.wait_for_selector('[data-testid="upload-info"]:not([hidden])')


def test_an_onnx_tagger_is_read_batch_first_and_stepped_through(page, live_server, tmp_path, screenshots_dir):
    model, x = tmp_path / "tagger.onnx", tmp_path / "batch.npy"
    model.write_bytes(gru_onnx())
    np.save(x, np.random.default_rng(0).standard_normal((B, T, I)))       # (B, T, I): batch first
    open_upload(page, live_server)
    open_tab(page, "model")
    page.set_input_files('[data-testid="upload-model"]', str(model))
    page.set_input_files('[data-testid="upload-input"]', str(x))
    page.click('[data-testid="upload-submit"]')
    page.wait_for_selector('[data-testid="upload-info"]:not([hidden])')
    info = page.text_content('[data-testid="upload-info"]')
    assert "tagger.onnx" in info and "gru" in info and f"T = {T}, batch {B}" in info and "read batch first" in info
    page.locator("#model-upload-card").screenshot(path=str(screenshots_dir / "onnx_upload_info.png"))
    page.click('[data-testid="upload-step-through"]')
    wait_until(page, "document.getElementById('story-title').textContent.startsWith('Your model: tagger.onnx')")
    wait_done(page)
    assert page.locator('[data-testid="graph"] [data-node="h_l0"]').count() == T


def test_a_refused_onnx_graph_is_named_next_to_the_model_picker(page, live_server, guard, tmp_path):
    model, x = tmp_path / "clipped.onnx", tmp_path / "batch.npy"
    model.write_bytes(gru_onnx(extra={"clip": 3.0}))
    np.save(x, np.zeros((B, T, I)))
    open_upload(page, live_server)
    open_tab(page, "model")
    page.set_input_files('[data-testid="upload-model"]', str(model))
    page.set_input_files('[data-testid="upload-input"]', str(x))
    page.click('[data-testid="upload-submit"]')
    error = page.wait_for_selector('[data-testid="upload-model-error"]:not([hidden])').text_content()
    assert "clipped.onnx" in error and "node 'gru' (GRU): attribute 'clip'" in error
    assert page.is_hidden('[data-testid="upload-input-error"]')
    expect_refusals(guard, 1)
