"""The lectures' cells in the browser: each is drawn, stepped forward and backward with its lecture
equations (peephole terms, the coupled gate, the reset gate before the product) and its gates in
the inspector; the "GRU as in the lectures" switch flips the cell and the permalink."""

from __future__ import annotations

import pytest

from browser_helpers import open_tab, expect_current, open_page, wait_done, wait_until

CELLS = {
    # cell → (its gates, a forward line of the step t = 1, a backward line of the step t = 1)
    "lstm_peephole": (["i", "f", "g", "o"], "+ Pᵒ ⊙ c₁", "Pⁱ ⊙ ∂L/∂aᵢ₂"),
    "lstm_coupled": (["f", "g", "o"], "c₁ = f ⊙ c₀ + (1 − f) ⊙ g", "∂L/∂c₁ = ∂L/∂h₁ ⊙ o ⊙ (1 − tanh²c₁) + f₂ ⊙ ∂L/∂c₂"),
    "gru_reset_before": (["r", "z", "n"], "Wₙ (r ⊙ h₀)", "r₂ ⊙ Wₙᵀ ∂L/∂aₙ₂"),
}


@pytest.mark.parametrize("cell", list(CELLS))
def test_a_lecture_cell_is_drawn_stepped_and_inspected(page, live_server, screenshots_dir, cell):
    """Forward step t = 1 shows the cell's lecture line with numbers; the backward step t = 1 its
    gradient line; the inspector lists the cell's gates; the equations panel shows this cell's block."""
    gates, forward_line, backward_line = CELLS[cell]
    open_page(page, live_server, cell=cell, task="copy", hidden_size=3, seq_len=4, batch_size=1)
    wait_done(page)
    page.keyboard.press("Home")                                          # forward h(0)
    page.keyboard.press("ArrowRight")
    expect_current(page, "h_l0", 1)
    text = page.inner_text("#equation")
    assert forward_line in text, text
    for gate in gates:
        assert f"{gate} = [" in text, text                              # the gate's numbers (H = 3)
    page.locator("#equation").screenshot(path=str(screenshots_dir / f"lecture-cell-{cell}-equation.png"))
    open_tab(page, "equations")
    assert page.locator(f'.eq-cell[data-cell="{cell}"]').is_visible()
    page.locator(".equations-panel").screenshot(path=str(screenshots_dir / f"lecture-cell-{cell}-panel.png"))
    open_tab(page, "step")
    page.keyboard.press("End")                                           # backward h(0), the last event
    page.keyboard.press("ArrowLeft")
    # forward h(1) was current already: wait for the backward one to be drawn (its cursor), not just h(1)
    wait_until(page, "Number(document.body.dataset.cursor) === Number(document.body.dataset.total) - 2")
    expect_current(page, "h_l0", 1)
    assert "Backward step t = 1" in page.inner_text("#equation")
    assert backward_line in page.inner_text("#equation"), page.inner_text("#equation")
    page.keyboard.press("End")
    page.click('[data-testid="graph"] [data-node="h_l0"][data-t="1"]')
    page.wait_for_selector("#inspector .vec-block")
    names = page.eval_on_selector_all("#inspector .vec-name", "els => els.map(e => e.textContent)")
    assert [n for n in names if n in gates] == gates, names
    if cell == "lstm_peephole":
        assert "P (peepholes)" in page.text_content("#inspector")      # its share of the peepholes' gradient
    page.screenshot(path=str(screenshots_dir / f"lecture-cell-{cell}.png"))


def test_the_gru_switch_flips_the_convention_and_the_permalink(page, live_server, screenshots_dir):
    """Shown for a GRU only; on → cell gru_reset_before (URL and the equations panel), off → gru."""
    open_page(page, live_server, cell="lstm", task="copy", hidden_size=3, seq_len=4)
    wait_done(page)
    assert not page.locator('[data-testid="gru-lecture"]').is_visible()
    open_page(page, live_server, cell="gru", task="copy", hidden_size=3, seq_len=4)
    wait_done(page)
    open_tab(page, "config")
    switch = page.locator('[data-testid="gru-lecture"]')
    assert switch.is_visible() and not switch.is_checked()
    switch.check()
    wait_until(page, "new URLSearchParams(location.search).get('cell') === 'gru_reset_before'")
    wait_done(page)
    wait_until(page, "!document.querySelector('.eq-cell[data-cell=\"gru_reset_before\"]').hidden")
    open_tab(page, "equations")
    assert page.locator('.eq-cell[data-cell="gru"]').is_hidden()
    assert page.input_value('select[name="cell"]') == "gru_reset_before"
    open_tab(page, "config")
    page.locator("#config-form").screenshot(path=str(screenshots_dir / "gru-lecture-switch.png"))
    switch.uncheck()
    wait_until(page, "new URLSearchParams(location.search).get('cell') === 'gru'")
    open_page(page, live_server, cell="gru_reset_before", task="copy", hidden_size=3, seq_len=4)   # a permalink
    wait_done(page)
    assert page.locator('[data-testid="gru-lecture"]').is_checked()
