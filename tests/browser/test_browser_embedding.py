"""Word embeddings and padded batches in the browser (issue 13): the e(t) = E[x(t)] row is drawn,
coloured as the run steps through it, and the shown sentence's padding is drawn absent."""

from __future__ import annotations

from browser_helpers import expect_cursor, frames, open_page, wait_done

GRAPH = '[data-testid="graph"]'
QUERY = {"preset": "word-embeddings", "batch_index": 1}     # element 1: 9 words, then 3 pads (T = 12)


def classes(page, node: str) -> dict[int, str]:
    """data-t → class attribute of the graph nodes of `node`."""
    pairs = page.evaluate(f"[...document.querySelectorAll('{GRAPH} [data-node=\"{node}\"]')]"
                          ".map(e => [e.dataset.t, e.getAttribute('class')])")
    return {int(t): cls for t, cls in pairs}


def test_embedding_row_is_drawn_stepped_and_padding_is_absent(page, live_server, screenshots_dir):
    open_page(page, live_server, **QUERY)
    wait_done(page)
    T, length = 12, 9
    embedding = classes(page, "embedding")
    assert sorted(embedding) == list(range(T))
    assert all("done" in embedding[t] for t in range(length)), embedding
    assert all("padded" in embedding[t] for t in range(length, T)), embedding
    for node in ("h_l0", "h_l0_reverse", "c_l0", "x"):
        row = classes(page, node)
        assert all("padded" in row[t] for t in range(length, T)) and not any("padded" in row[t] for t in range(length))
    assert page.evaluate(f"document.querySelectorAll('{GRAPH} [data-edge=embedding]').length") == T
    pad_text = page.text_content(f'{GRAPH} [data-node="h_l0"][data-t="10"]')
    assert "padding" in pad_text
    page.screenshot(path=str(screenshots_dir / "embedding-backward-end.png"))

    # step from the start: e(0) is computed with h_l0's first forward step, e(1) not yet
    page.keyboard.press("Home")
    expect_cursor(page, 0)
    frames(page)
    embedding = classes(page, "embedding")
    assert "done" in embedding[0] and "pending" in embedding[1]
    page.keyboard.press("ArrowRight")
    expect_cursor(page, 1)
    frames(page)
    assert "done" in classes(page, "embedding")[1]
    fill = page.get_attribute(f'{GRAPH} [data-node="embedding"][data-t="1"] circle', "fill")
    assert fill and fill != "none" and "pending" not in fill
    # the inspector of e(1): its values and the row of the table it is
    page.click(f'{GRAPH} [data-node="embedding"][data-t="1"]')
    page.wait_for_selector("text=the row of", timeout=5000)
    page.screenshot(path=str(screenshots_dir / "embedding-forward-step.png"))
