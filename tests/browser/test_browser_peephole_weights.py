"""The peephole LSTM's P in the page (issue 13): the inspector of an h node lists its layer's
peepholes Pⁱ, Pᶠ, Pᵒ with the numbers of the run's weight_peephole_l0."""

from __future__ import annotations

from browser_helpers import open_page, wait_done


def test_the_inspector_shows_the_layers_peepholes(page, live_server, screenshots_dir):
    open_page(page, live_server, preset="peephole-lstm", seq_len=6)
    wait_done(page)
    page.click('[data-testid="graph"] [data-node="h_l0"][data-t="2"]')
    page.wait_for_selector("#inspector >> text=P (peepholes)", timeout=10_000)
    names = page.eval_on_selector_all("#inspector .vec-name", "els => els.map(e => e.textContent)")
    assert {"Pⁱ", "Pᶠ", "Pᵒ"} <= set(names), names
    page.locator("#inspector").screenshot(path=str(screenshots_dir / "inspector-peepholes.png"))
