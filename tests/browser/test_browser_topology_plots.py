"""Issue 15's plots on the page: a tree's plots speak of nodes and depths (the gradient-by-depth plot
beside the same data as a chain), the overview strip is hidden for a tree, and Jordan's memory units
print their self-loop's Jacobian norm α."""

from __future__ import annotations

from pathlib import Path

import pytest

from browser_helpers import open_tab, frames, open_page, serve, wait_done, wait_until

SHOTS = Path("/work/notes/shots")


def plot(page, testid: str, expr: str):
    """`expr` evaluated with `p` = the plotly div of `testid`."""
    return page.evaluate(f"(() => {{ const p = document.querySelector('[data-testid={testid}]'); return {expr}; }})()")


def test_the_tree_plots_speak_of_depth_and_the_chain_per_step(page, live_server, screenshots_dir):
    open_page(page, live_server, preset="recursive-tree")
    wait_done(page)
    wait_until(page, "document.querySelector('[data-testid=plot-vanishing]').data?.length >= 4")
    names = plot(page, "plot-vanishing", "p.data.map(d => d.name)")
    assert names == ["tree: each node at its depth", "tree: fitted ×0.907 per level",
                     "chain of 32 steps: ‖∂L/∂h_t‖ at n−1−t", "chain: fitted ×0.922 per step"]
    headline = plot(page, "plot-vanishing", "p.layout.annotations[0].text")
    assert headline == "tree ×0.907 per level over 5 levels  ·  chain ×0.922 per step over 31 steps"
    depths = plot(page, "plot-vanishing", "p.data[0].x")
    assert len(depths) == 63 and max(depths) == 5                       # every node at its depth, the leaves at 5
    assert "depth" in plot(page, "plot-vanishing", "p.layout.xaxis.title.text")
    assert "tree node k" in plot(page, "plot-grad-norms", "p.layout.xaxis.title.text")
    assert plot(page, "plot-grad-norms", "p.data[0].x.length") == 63
    assert plot(page, "plot-flow", "p.data[0].x.length") == 62          # one Jacobian per child → parent edge
    wait_until(page, "document.querySelector('[data-testid=plot-hidden]').layout?.xaxis.title.text === 'tree node k (post-order)'")
    open_tab(page, "plots")
    heading = page.text_content("#plot-vanishing >> xpath=ancestor::div[contains(@class,'plot-card')]//h2")
    assert heading.startswith("Gradient by depth")
    assert page.evaluate("getComputedStyle(document.getElementById('overview')).display") == "none"
    open_tab(page, "plots")
    page.locator('[data-testid="plot-vanishing"]').scroll_into_view_if_needed()
    frames(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "nets2-tree-depth-plot.png"))
    # a chain run afterwards gets the chain's headings and its overview strip back
    open_page(page, live_server, preset="char-lm", seq_len=6)
    wait_done(page)
    heading = page.text_content("#plot-vanishing >> xpath=ancestor::div[contains(@class,'plot-card')]//h2")
    assert heading.startswith("Vanishing / exploding")
    assert page.evaluate("getComputedStyle(document.getElementById('overview')).display") != "none"


def test_jordan_memory_prints_its_loop_jacobian(page, live_server):
    open_page(page, live_server, preset="jordan-memory", seq_len=6)
    wait_done(page)
    wait_until(page, "document.querySelector('[data-testid=graph] [data-node=m][data-t=\"3\"] title')?.textContent.includes('‖∂m(3)/∂m(2)‖₂')")
    title = page.text_content('[data-testid=graph] [data-node=m][data-t="3"] title')
    assert "‖∂m(3)/∂m(2)‖₂ = ‖α·I‖₂ = 0.5" in title


@pytest.fixture(scope="module")
def tree_view_server(tmp_path_factory):
    """The app serving a saved-and-reloaded parse tree, as `unrolled view tree.npz` does."""
    from unrolled import engine
    from unrolled.server.app import create_app
    from unrolled.server.config import resolve_config
    from unrolled.server.runs import compute_trace

    trace, _ = compute_trace(resolve_config({"topology": "recursive", "task": "tagging", "seed": 7, "hidden_size": 8}))
    path = tmp_path_factory.mktemp("trace") / "tree.npz"
    trace.save(path)
    with serve(create_app(loaded_trace=(engine.load_trace(path), path.name))) as base:
        yield base


def test_a_saved_tree_is_viewed_as_a_tree(page, tree_view_server):
    page.goto(f"{tree_view_server}/?delay=0")
    wait_done(page)
    graph = '[data-testid="graph"]'
    assert page.locator(f"{graph} [data-node=h_tree]").count() == 13 and page.locator(f"{graph} [data-node=x]").count() == 7
    assert page.locator(f"{graph} [data-edge=left]").count() == 6 and page.locator(f"{graph} [data-edge=right]").count() == 6
    labels = page.evaluate(f"[...document.querySelectorAll('{graph} [data-node=x]')].map(n => n.querySelector('title').textContent)")
    assert [label.split("“")[1].rstrip("”") for label in labels] == ["he", "reads", "a", "book", "in", "the", "garden"]
    wait_until(page, "document.querySelector('[data-testid=plot-vanishing]').data?.length === 4")
    assert plot(page, "plot-vanishing", "p.data[2].name") == "chain of 7 steps: ‖∂L/∂h_t‖ at n−1−t"
    page.evaluate("window.scrollTo(0, 0)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "nets2-tree-view.png"))


def test_a_vanishing_tree_is_diagnosed_by_depth(page, live_server):
    """64 leaves with a small recurrent scale: the diagnosis card names the depth where the root's gradient fades."""
    open_page(page, live_server, preset="recursive-tree", seq_len=64, recurrent_scale=0.3)
    wait_done(page)
    open_tab(page, "diagnosis")
    finding = page.locator('#diagnosis [data-testid=finding][data-kind=vanishing]')
    finding.wait_for()
    text = finding.text_content() or ""
    assert "Vanishing gradient by depth (h_tree)" in text and "per-level factor" in text and "at depth" in text
    assert "worst at node" in text and "64 nodes" in text
    page.evaluate("window.scrollTo(0, 0)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "nets2-tree-vanishing-finding.png"))
    open_tab(page, "plots")
    page.locator('[data-testid="plot-vanishing"]').scroll_into_view_if_needed()
    frames(page)
    page.screenshot(path=str(SHOTS / "nets2-tree-vanishing-depth-plot.png"))
