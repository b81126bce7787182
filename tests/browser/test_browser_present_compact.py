"""Issue 20, presenter mode at 1280×720: every step of a 40-step preset on screen with graph text
≥ 18 px, no graph text over another (the ‖∂L/∂h‖ labels included), no card that scrolls (the
recursive tree), and no empty L / ŷ rows for a run without targets."""

from __future__ import annotations

import numpy as np
import pytest

from browser_helpers import open_page, page_data, serve, wait_done, wait_until

VIEWPORT = {"width": 1280, "height": 720}

# the texts of the graph that are drawn (displayed, not hidden), with their screen boxes
DRAWN_TEXTS = """() => [...document.querySelectorAll('[data-testid="graph"] text')].filter((t) => {
    const r = t.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && t.textContent.trim() && getComputedStyle(t).visibility !== 'hidden';
  }).map((t) => { const r = t.getBoundingClientRect();
    return { text: t.textContent.trim(), cls: t.getAttribute('class'), l: r.left, r: r.right, t: r.top, b: r.bottom,
             px: parseFloat(getComputedStyle(t).fontSize) * t.ownerSVGElement.getBoundingClientRect().height / t.ownerSVGElement.viewBox.baseVal.height }; })"""

# every h node of the graph, with its box and whether it is shown
H_NODES = """() => [...document.querySelectorAll('[data-testid="graph"] g.node.kind-h[data-node="h_l0"]')].map((g) => {
    const r = g.querySelector('circle').getBoundingClientRect();
    return { t: Number(g.dataset.t), l: r.left, r: r.right, hidden: getComputedStyle(g).visibility === 'hidden' }; })"""

VIEWPORT_BOX = "() => { const r = document.querySelector('.graph-viewport').getBoundingClientRect(); return [r.left, r.right]; }"

SCROLLS = """() => [...document.querySelectorAll('.graph-card, .graph-viewport')]
    .filter((el) => el.scrollHeight > el.clientHeight + 1 || el.scrollWidth > el.clientWidth + 1)
    .map((el) => `${el.className}: ${el.scrollWidth}x${el.scrollHeight} in ${el.clientWidth}x${el.clientHeight}`)"""


@pytest.fixture
def small(page):
    """The page at 1280×720, a projector's size."""
    page.set_viewport_size(VIEWPORT)
    return page


def overlapping(texts: list[dict]) -> list[tuple[str, str]]:
    """The pairs of drawn texts whose boxes overlap (by more than half a pixel each way)."""
    pairs = []
    for i, a in enumerate(texts):
        for b in texts[i + 1:]:
            if a["l"] < b["r"] - 0.5 and b["l"] < a["r"] - 0.5 and a["t"] < b["b"] - 0.5 and b["t"] < a["b"] - 0.5:
                pairs.append((f'{a["text"]} ({a["cls"]})', f'{b["text"]} ({b["cls"]})'))
    return pairs


def test_a_40_step_preset_is_fully_visible_in_presenter_mode(small, live_server, screenshots_dir):
    open_page(small, live_server, preset="vanishing-tanh", present=1)
    wait_done(small)
    left, right = small.evaluate(VIEWPORT_BOX)
    nodes = small.evaluate(H_NODES)
    assert sorted(n["t"] for n in nodes) == list(range(40))
    outside = [n["t"] for n in nodes if n["hidden"] or n["l"] < left - 0.5 or n["r"] > right + 0.5]
    assert not outside, outside
    texts = small.evaluate(DRAWN_TEXTS)
    assert min(t["px"] for t in texts) >= 18, min(texts, key=lambda t: t["px"])
    norms = [t for t in texts if t["cls"] == "norm-label"]
    assert len(norms) >= 5   # ‖∂L/∂h‖ printed under the h nodes, every k-th step
    # the last step's loss and output are on screen: no empty L / ŷ rows in the copy task
    for node in ("loss", "logits"):
        box = small.locator(f'[data-testid="graph"] [data-node="{node}"][data-t="39"]').bounding_box()
        assert box and left <= box["x"] and box["x"] + box["width"] <= right
    small.screenshot(path=str(screenshots_dir / "present_compact_vanishing-tanh.png"))


def test_no_graph_text_overlaps_and_no_card_scrolls_in_presenter_mode(small, live_server, screenshots_dir):
    open_page(small, live_server, preset="vanishing-tanh")
    names = [p["name"] for p in page_data(small)["presets"]]
    overlaps, scrolls, no_norms = {}, {}, []
    for name in names:
        open_page(small, live_server, preset=name, present=1)
        wait_done(small)
        wait_until(small, "document.querySelectorAll('[data-testid=\"graph\"] .norm-label').length > 0 || "
                          "!document.querySelector('[data-testid=\"graph\"] g.node.kind-h')")
        texts = small.evaluate(DRAWN_TEXTS)
        if not any(t["cls"] == "norm-label" for t in texts):
            no_norms.append(name)
        if pairs := overlapping(texts):
            overlaps[name] = pairs[:4]
        if bad := small.evaluate(SCROLLS):
            scrolls[name] = bad
        small.screenshot(path=str(screenshots_dir / f"present_compact_{name}.png"))
    assert len(names) >= 20
    assert not overlaps, overlaps
    assert not scrolls, scrolls
    assert not no_norms, no_norms


def test_the_recursive_tree_fits_its_card_in_presenter_mode(small, live_server):
    open_page(small, live_server, preset="recursive-tree", present=1)
    wait_done(small)
    # the punchline card carries the tree's lesson: the gradient by depth beside a chain's per step
    factor = small.locator('[data-testid="punchline-factor"]')
    factor.filter(has_text="per level").wait_for()
    assert "a chain" in factor.text_content() and small.locator('[data-testid="compare-cells"]').is_hidden()
    wait_until(small, "(document.getElementById('punchline').data || []).length >= 2")
    assert small.evaluate(SCROLLS) == []
    texts = small.evaluate(DRAWN_TEXTS)
    assert min(t["px"] for t in texts) >= 18
    assert not overlapping(texts)


@pytest.fixture(scope="module")
def untargeted_servers(tmp_path_factory):
    """Two apps serving the same saved tanh-RNN trace: with a target at its last step, and with none."""
    from unrolled import engine
    from unrolled.server.app import create_app

    net = engine.Network.random(cell="rnn_tanh", input_size=3, hidden_size=5, output_size=4, seed=0)
    x = np.random.default_rng(0).normal(size=(7, 2, 3))
    paths = {}
    for name, last in (("targeted", [1, 2]), ("untargeted", [-100, -100])):
        targets = np.full((7, 2), -100)
        targets[-1] = last
        paths[name] = tmp_path_factory.mktemp(name) / f"{name}.npz"
        net.run(x, targets, loss="cross_entropy").save(paths[name])
    with serve(create_app(loaded_trace=(engine.load_trace(paths["targeted"]), "targeted.npz"))) as targeted, \
            serve(create_app(loaded_trace=(engine.load_trace(paths["untargeted"]), "untargeted.npz"))) as untargeted:
        yield targeted, untargeted


ROW_LABELS = "() => [...document.querySelectorAll('[data-testid=\"graph\"] .row-label')].map((t) => t.textContent)"


def test_a_run_without_targets_draws_no_empty_loss_and_output_rows(small, untargeted_servers):
    heights = []
    for base in untargeted_servers:
        small.goto(f"{base}/?delay=0")
        wait_done(small)
        heights.append(small.evaluate("document.querySelector('[data-testid=\"graph\"]').viewBox.baseVal.height"))
        labels = small.evaluate(ROW_LABELS)
        if base == untargeted_servers[0]:
            assert labels == ["L(t)", "ŷ(t)", "h(t)", "x(t)"]
        else:
            assert labels == ["h(t)", "x(t)"]
            assert small.locator('[data-testid="graph"] [data-node="loss"], [data-testid="graph"] [data-node="logits"]').count() == 0
            assert small.locator('[data-testid="graph"] [data-node="h_l0"]').count() == 7
    assert heights[1] < heights[0]   # the graph shrinks by the two rows
