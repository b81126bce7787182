"""The training panel on the real page: train char-lm, watch the loss fall and the plots fill, sample text
character by character, pause/resume and stop a run."""

from __future__ import annotations

from browser_helpers import open_tab, frames, open_page, wait_done, wait_until

CHAR_LM = {"preset": "char-lm", "seq_len": 16, "hidden_size": 16}


def progress(page) -> int:
    """Epochs done according to the progress bar."""
    return page.evaluate("document.querySelector('[data-testid=train-progress]').value")


def set_training(page, epochs: int) -> None:
    """Every training control set explicitly: Adam, lr 0.01, no clipping, no truncation."""
    open_tab(page, "training")
    page.select_option('[data-testid="train-optimizer"]', "adam")
    page.fill('[data-testid="train-lr"]', "0.01")
    page.fill('[data-testid="train-clip"]', "")
    page.fill('[data-testid="train-tbptt"]', "")
    page.fill('[data-testid="train-epochs"]', str(epochs))
    controls = page.evaluate("""() => ['optimizer', 'lr', 'clip', 'tbptt', 'epochs'].map(
        (k) => document.querySelector(`[data-testid=train-${k}]`).value)""")
    assert controls == ["adam", "0.01", "", "", str(epochs)], controls


def test_train_char_lm_watch_sample_and_step_through(page, live_server):
    open_page(page, live_server, **CHAR_LM)
    wait_done(page)
    set_training(page, epochs=40)
    open_tab(page, "training")
    page.click('[data-testid="train-start"]')
    wait_until(page, "document.querySelector('[data-testid=train-progress]').value >= 40", timeout_ms=30_000)
    page.wait_for_selector('[data-testid="train-status"]:has-text("finished after 40 epochs")', timeout=10_000)
    # the plot holds the loss curve (40 points, falling), both profiles and the heatmap; the plot is
    # drawn at most every few frames, so it may show fewer epochs than the status line for a moment
    wait_until(page, "document.querySelector('[data-testid=plot-training]').data?.[0].y.length === 40")
    data = page.evaluate("""() => document.querySelector('[data-testid=plot-training]').data.map(
        (d) => ({type: d.type || 'scatter', n: (d.y || []).length, y: d.y, z: d.z ? d.z.length : 0}))""")
    assert [d["type"] for d in data] == ["scatter", "scatter", "scatter", "heatmap"]
    losses = data[0]["y"]
    assert losses[-1] < losses[0] / 2, losses
    assert data[2]["n"] == 16 and data[3]["z"] == 40
    # sampling: the text appears one character at a time
    assert page.is_visible('[data-testid="sample-panel"]')
    page.fill('[data-testid="sample-length"]', "60")
    page.click('[data-testid="train-sample"]')
    wait_until(page, "document.querySelector('[data-testid=sample-text]').textContent.length > 4")
    partial = len(page.text_content('[data-testid="sample-text"]'))
    wait_until(page, "document.querySelector('[data-testid=sample-text]').textContent.length === 64")
    assert partial < 64 and page.text_content('[data-testid="sample-text"]').startswith("the ")
    # the trained network goes to the graph for stepping through
    page.click('[data-testid="train-step-through"]')
    page.wait_for_selector('#story-title:has-text("Trained 40 epochs")')
    wait_done(page)
    assert "trained network" in page.text_content("#banner")


def test_pause_resume_and_stop_from_the_panel(page, live_server):
    open_page(page, live_server, **CHAR_LM)
    wait_done(page)
    set_training(page, epochs=5000)
    open_tab(page, "training")
    page.click('[data-testid="train-start"]')
    wait_until(page, "document.querySelector('[data-testid=train-progress]').value >= 3")
    page.click('[data-testid="train-pause"]')
    page.wait_for_selector('[data-testid="train-status"]:has-text("paused after epoch")')
    assert page.text_content('[data-testid="train-pause"]') == "Resume"
    held = progress(page)          # "paused after epoch" is the server's acknowledgement: no epoch follows it
    frames(page, 20)
    assert progress(page) == held
    page.click('[data-testid="train-pause"]')
    wait_until(page, f"document.querySelector('[data-testid=train-progress]').value > {held}")
    page.click('[data-testid="train-stop"]')
    page.wait_for_selector('[data-testid="train-status"]:has-text("stopped after")', timeout=10_000)
    assert page.is_enabled('[data-testid="train-start"]') and not page.is_enabled('[data-testid="train-stop"]')
