"""The overview strip of a padded batch (issue 13): the shown sentence's padding columns stay
uncoloured, as the graph draws those steps absent; its real steps are coloured."""

from __future__ import annotations

from browser_helpers import open_page, wait_done

CELLS = """() => [...document.querySelectorAll('#overview > rect:not(.overview-window)')]
  .map((r) => [Number(r.getAttribute('x')), r.getAttribute('fill'), r.dataset.padded === '1'])"""


def test_padded_columns_of_the_overview_are_not_coloured(page, live_server, screenshots_dir):
    open_page(page, live_server, preset="word-embeddings", batch_index=1)    # 9 words, then 3 pads (T = 12)
    wait_done(page)
    cells = page.evaluate(CELLS)
    rows = 2                                                                 # h_l0_reverse, h_l0
    assert len(cells) == rows * 12
    padded = [(t, fill) for t, fill, pad in cells if pad]
    assert sorted(t for t, _ in padded) == sorted([9, 10, 11] * rows) and all(fill == "none" for _, fill in padded)
    real = [fill for t, fill, pad in cells if not pad]
    assert len(real) == rows * 9 and all(fill not in ("none", "var(--node-pending)") for fill in real), real
    page.locator("#overview").screenshot(path=str(screenshots_dir / "overview-padded.png"))
