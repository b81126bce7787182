"""Issue 15's graphs on the page: Jordan's memory units and fixed self-loop, the output→hidden fed
edges (teacher forced: from y(t−1), free running: from ŷ(t−1)), the recursive network drawn as a
tree; node and edge counts read off data attributes, stepped forward and backward."""

from __future__ import annotations

from browser_helpers import open_tab, cursor, current_node, frames, open_page, wait_done, wait_shown_to_end, wait_until

GRAPH = '[data-testid="graph"]'


def count(page, selector: str) -> int:
    """How many elements of the graph match `selector`."""
    return page.evaluate(f"document.querySelectorAll('{GRAPH} {selector}').length")


def test_jordan_draws_memory_units_and_a_fixed_loop(page, live_server, screenshots_dir):
    open_page(page, live_server, preset="jordan-memory", seq_len=8)
    wait_done(page)
    assert count(page, "[data-node=h_l0]") == 8
    assert count(page, "[data-node=m]") == 7
    assert count(page, "[data-edge=memory-loop]") == 6
    assert count(page, "[data-edge=fed]") == 7 and count(page, "[data-edge=fed-input]") == 7
    assert count(page, "[data-edge=recurrent]") == 0
    open_tab(page, "equations")
    assert page.is_visible('.eq-cell[data-cell="topology-jordan"]') and page.is_hidden('.eq-cell[data-cell="rnn_tanh"]')
    wait_shown_to_end(page)
    frames(page)
    # backward: no fed or memory edge is ever thickened (no gradient crosses them)
    widths = page.evaluate(f"[...document.querySelectorAll('{GRAPH} .edge.fed')].map(e => e.style.strokeWidth)")
    assert widths and all(w == "" for w in widths)
    page.click(f'{GRAPH} [data-node=m][data-t="3"]')            # the inspector takes a memory node in its stride
    page.click(f'{GRAPH} [data-node=h_l0][data-t="3"]')
    frames(page)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(screenshots_dir / "topology-jordan.png"))


def test_teacher_forcing_and_free_running_feed_different_nodes(page, live_server, screenshots_dir):
    open_page(page, live_server, preset="teacher-forcing", seq_len=8)
    wait_done(page)
    sources = page.evaluate(f"[...document.querySelectorAll('{GRAPH} .edge.fed.teacher title')].map(t => t.textContent)")
    assert len(sources) == 7 and all("true previous output" in s for s in sources)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(screenshots_dir / "topology-teacher-forced.png"))
    open_page(page, live_server, preset="teacher-forcing", seq_len=8, unroll="free_running")
    wait_done(page)
    assert count(page, ".edge.fed.output") == 7 and count(page, ".edge.fed.teacher") == 0
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(screenshots_dir / "topology-free-running.png"))
    # the same weights, two graphs: test time above, train time (teacher forced) beside it, two losses
    page.check('[data-testid="teacher-compare"]')
    page.wait_for_selector('[data-testid="teacher-card"][data-status="done"]')
    teacher = '[data-testid="graph-teacher"]'
    assert page.evaluate(f"document.querySelectorAll('{teacher} .edge.fed.teacher').length") == 7
    assert page.evaluate(f"document.querySelectorAll('{teacher} .edge.fed.output').length") == 0
    assert "L = " in page.text_content("#teacher-title")
    page.screenshot(path=str(screenshots_dir / "topology-teacher-vs-free.png"), full_page=True)


def test_the_tree_is_drawn_as_a_tree_and_stepped_in_post_order(page, live_server, screenshots_dir):
    open_page(page, live_server, topology="recursive", task="tagging", seed=7, hidden_size=8)
    wait_done(page)
    assert count(page, "[data-node=h_tree]") == 13          # "(he ((reads (a book)) (in (the garden))))"
    assert count(page, "[data-node=x]") == 7
    open_tab(page, "equations")
    assert page.is_visible('.eq-cell[data-cell="topology-recursive"]')
    assert count(page, "[data-edge=left]") == 6 and count(page, "[data-edge=right]") == 6
    assert count(page, "[data-node=logits]") == 1 and count(page, "[data-node=loss]") == 1
    page.keyboard.press("Home")
    wait_until(page, "document.body.dataset.cursor === '0'")
    frames(page)
    seen = []
    for _ in range(13):
        seen.append(current_node(page))
        before = cursor(page)
        page.click('[data-testid="step-forward"]')
        wait_until(page, f"document.body.dataset.cursor === '{before + 1}'")
        frames(page)
    assert seen == [("h_tree", k) for k in range(13)]
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(screenshots_dir / "topology-tree-forward.png"))
    page.click('[data-testid="step-back"]')
    wait_until(page, "document.body.dataset.cursor === '12'")
    frames(page)
    assert "h₁₂ = tanh(U h₀ + W h₁₁ + b)" in page.text_content("#equation")   # the root: he + the rest
    page.keyboard.press("End")
    wait_until(page, f"document.querySelectorAll('{GRAPH} .edge.tree-edge.carrying').length === 12")
    page.click(f'{GRAPH} [data-node=h_tree][data-t="5"]')
    frames(page)
    inspector = page.text_content("#inspector") or ""
    assert "h₅" in inspector and "layer" not in inspector and "∂h₁₁/∂h₅" in inspector
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(screenshots_dir / "topology-tree-inspector.png"))
    open_tab(page, "plots")
    page.locator('[data-testid="plot-vanishing"]').scroll_into_view_if_needed()
    frames(page)
    page.screenshot(path=str(screenshots_dir / "topology-tree-plots.png"))
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(screenshots_dir / "topology-tree-backward.png"))


def test_the_tree_trains_live_and_the_trained_tree_steps_through(page, live_server, screenshots_dir):
    open_page(page, live_server, preset="recursive-tree", seq_len=8)
    wait_done(page)
    open_tab(page, "training")
    page.fill('[data-testid="train-epochs"]', "15")
    page.select_option('[data-testid="train-optimizer"]', "adam")
    page.fill('[data-testid="train-lr"]', "0.05")
    page.click('[data-testid="train-start"]')
    page.wait_for_selector('[data-testid="train-status"]:has-text("finished after 15 epochs")', timeout=30_000)
    wait_until(page, "document.querySelector('[data-testid=plot-training]').data?.[0].y.length === 15")
    losses = page.evaluate("document.querySelector('[data-testid=plot-training]').data[0].y")
    assert losses[-1] < losses[0]
    page.locator('[data-testid="plot-training"]').scroll_into_view_if_needed()
    frames(page)
    page.screenshot(path=str(screenshots_dir / "topology-tree-training.png"))
    page.click('[data-testid="train-step-through"]')
    page.wait_for_selector('#story-title:has-text("Trained 15 epochs")')
    wait_done(page)
    assert count(page, "[data-node=h_tree]") == 15 and count(page, "[data-edge=left]") == 7


def test_the_recursive_tree_preset_for_the_projector(page, live_server, screenshots_dir):
    open_page(page, live_server, preset="recursive-tree")
    wait_done(page)
    assert count(page, "[data-node=h_tree]") == 63 and count(page, "[data-node=x]") == 32
    page.click("#jump-backward-start")
    wait_until(page, "document.body.dataset.cursor === '65'")              # the root's ∂L/∂o: 63 nodes + logits + loss
    page.click('[data-testid="step-forward"]')
    wait_until(page, "document.body.dataset.cursor === '66'")
    frames(page)
    assert current_node(page) == ("h_tree", 62)                            # back through structure: the root first
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(screenshots_dir / "topology-recursive-tree-preset.png"))
