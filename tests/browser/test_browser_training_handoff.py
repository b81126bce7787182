"""The training panel on the real page: a short training, then stepping through the trained network."""

from __future__ import annotations

from browser_helpers import open_tab, open_page, wait_done


def test_training_then_step_through_the_trained_network(page, live_server):
    """Train a few epochs in the page, hand the trained network to the unrolled graph, and see it run."""
    open_page(page, live_server, preset="vanishing-tanh", seq_len=8)
    wait_done(page)
    untrained_loss = page.text_content("#status")
    open_tab(page, "training")
    page.fill('[data-testid="train-epochs"]', "20")
    page.fill('[data-testid="train-lr"]', "0.05")
    page.click('[data-testid="train-start"]')
    page.wait_for_selector('[data-testid="train-step-through"]:not([disabled])', timeout=60_000)
    page.wait_for_selector('[data-testid="plot-training"] .main-svg')
    page.click('[data-testid="train-step-through"]')
    page.wait_for_selector('body[data-status="running"], body[data-status="done"]')
    wait_done(page)
    assert "trained network" in page.text_content("#banner")
    assert page.locator('[data-testid="graph"] [data-node="h_l0"]').count() == 8
    assert page.text_content("#status") != untrained_loss   # trained weights: another loss
