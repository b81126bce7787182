"""Every preset runs to the end in a real browser; its graph, plots and screenshots."""

from __future__ import annotations

from browser_helpers import open_tab, open_page, page_data, wait_done, wait_until

PLOTS = ["plot-grad-norms", "plot-vanishing", "plot-flow", "plot-hidden", "plot-contributions"]


def test_every_preset_runs_to_done(page, live_server, screenshots_dir):
    """Each preset from the picker streams to done, draws T nodes per h row and all five plots."""
    open_page(page, live_server)
    names = [p["name"] for p in page_data(page)["presets"]]
    assert len(names) >= 10
    for name in names:
        page.select_option('[data-testid="preset"]', name)
        wait_until(page, f"new URLSearchParams(location.search).get('preset') === '{name}'")
        wait_done(page)
        fields = page.evaluate("Object.fromEntries(new URLSearchParams(location.search))")
        # an encoder–decoder (task reverse) reads seq_len steps and writes seq_len more
        meta_t = int(fields["seq_len"]) * (2 if fields["task"] == "reverse" else 1)
        if fields.get("topology") == "recursive":   # issue 15: a balanced tree of 2·seq_len − 1 nodes, not rows
            tree = page.evaluate("document.querySelectorAll('[data-testid=graph] [data-node=h_tree]').length")
            assert tree == 2 * int(fields["seq_len"]) - 1, (name, tree)
            meta_t = tree
        nodes = page.evaluate(
            "[...document.querySelectorAll('[data-testid=graph] [data-node^=h_l], [data-testid=graph] [data-node=h_tree]')]"
            ".map(e => e.dataset.node)")
        per_row = {n: nodes.count(n) for n in set(nodes)}
        assert per_row and all(count == meta_t for count in per_row.values()), (name, per_row)
        bidirectional = page.evaluate("new URLSearchParams(location.search).get('bidirectional')") == "1"
        assert bidirectional == any(n.endswith("_reverse") for n in per_row), (name, per_row)
        open_tab(page, "plots")
        for plot in PLOTS:
            page.wait_for_selector(f'[data-testid="{plot}"] .main-svg')
        page.screenshot(path=str(screenshots_dir / f"preset-{name}.png"), full_page=False)
