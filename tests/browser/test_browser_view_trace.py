"""`unrolled view trace.npz`: the page streams a saved trace (source "loaded") without a config form."""

from __future__ import annotations

import numpy as np
import pytest

from browser_helpers import open_tab, serve, wait_done


@pytest.fixture(scope="module")
def view_server(tmp_path_factory):
    """The app serving a small saved-and-reloaded LSTM trace, as `unrolled view` does."""
    from unrolled import engine
    from unrolled.server.app import create_app

    net = engine.Network.random(cell="lstm", input_size=3, hidden_size=5, output_size=4, seed=0)
    x = np.random.default_rng(0).normal(size=(7, 2, 3))
    targets = np.full((7, 2), -100)
    targets[-1] = [1, 2]
    path = tmp_path_factory.mktemp("trace") / "mine.npz"
    net.run(x, targets, loss="cross_entropy").save(path)
    with serve(create_app(loaded_trace=(engine.load_trace(path), path.name))) as base:
        yield base


def test_a_loaded_trace_plays_in_the_page(page, view_server):
    """The page starts the loaded trace: T nodes per row, a loss only at the last step, the plots drawn."""
    page.goto(f"{view_server}/?delay=0")
    wait_done(page)
    assert page.locator('[data-testid="graph"] [data-node="h_l0"]').count() == 7
    assert page.locator('[data-testid="graph"] [data-node="loss"]').count() == 1
    assert page.get_attribute('[data-testid="graph"] [data-node="loss"]', "data-t") == "6"
    assert not page.is_visible("#config-form")
    open_tab(page, "plots")
    page.wait_for_selector('[data-testid="plot-vanishing"] .main-svg')
