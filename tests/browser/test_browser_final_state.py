"""Issue 19 on the page: a saved bidirectional final-state classifier on a padded batch (`unrolled view
trace.npz`) draws one ŷ and one L, fed by the forward direction's state at the shown element's last
real step and the reverse direction's state at t = 0 — and no per-step outputs."""

from __future__ import annotations

import numpy as np
import pytest

from browser_helpers import serve, wait_done

T, LENGTHS = 7, [4, 7, 6]


@pytest.fixture(scope="module")
def final_state_server(tmp_path_factory):
    """The app serving a saved-and-reloaded trace of a 2-layer bidirectional GRU read at its final states."""
    from unrolled import engine
    from unrolled.server.app import create_app

    net = engine.Network.random(cell="gru", input_size=3, hidden_size=4, output_size=3, num_layers=2,
                                bidirectional=True, seed=0, readout="final_state")
    x = np.random.default_rng(0).normal(size=(T, len(LENGTHS), 3))
    path = tmp_path_factory.mktemp("trace") / "clf.npz"
    net.run(x, np.array([0, 2, 1]), loss="cross_entropy", lengths=np.array(LENGTHS)).save(path)
    with serve(create_app(loaded_trace=(engine.load_trace(path), path.name))) as base:
        yield base


def test_the_final_state_head_is_drawn_from_both_final_states(page, final_state_server, screenshots_dir):
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{final_state_server}/?delay=0")
    wait_done(page)
    graph = page.locator('[data-testid="graph"]')
    assert graph.locator('[data-node="logits"]').count() == 1
    assert graph.locator('[data-node="loss"]').count() == 1
    assert graph.locator('[data-node="logits"]').get_attribute("data-t") == str(T - 1)
    assert graph.locator('[data-edge="output"]').count() == 0
    edges = graph.locator('[data-edge="final-state"]')
    assert edges.count() == 2
    titles = sorted(edges.nth(i).locator("title").text_content() for i in range(2))
    assert titles[0].startswith(f"h({LENGTHS[0] - 1}): the forward direction's final state"), titles
    assert titles[1].startswith("h←(0): the reverse direction's final state"), titles
    # the one ŷ has its value (the engine's output at row T − 1), not a padded blank
    assert "padded" not in (graph.locator('[data-node="logits"]').get_attribute("class") or "")
    page.screenshot(path=str(screenshots_dir / "final_state_padded_bidirectional.png"))


def test_a_config_run_with_readout_final_state_draws_the_same_head(page, live_server, screenshots_dir):
    """From the page's own config (the URL): a bidirectional LSTM on the copy task read at its final states."""
    from browser_helpers import open_page
    page.set_viewport_size({"width": 1280, "height": 720})
    open_page(page, live_server, cell="lstm", bidirectional="true", task="copy", seq_len=6, readout="final_state")
    wait_done(page)
    graph = page.locator('[data-testid="graph"]')
    assert graph.locator('[data-node="logits"]').count() == 1
    T = int(graph.locator('[data-node="logits"]').get_attribute("data-t")) + 1
    titles = sorted(graph.locator('[data-edge="final-state"] title').all_text_contents())
    assert len(titles) == 2
    assert titles[0].startswith(f"h({T - 1}): the forward direction's final state")
    assert titles[1].startswith("h←(0): the reverse direction's final state")
    page.screenshot(path=str(screenshots_dir / "final_state_config_copy.png"))
