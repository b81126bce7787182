"""unrolled.show in a real notebook: executed headless with nbclient + ipykernel, its saved output
opened in chromium (every network request blocked) draws the graph inside the iframe (issue 16)."""

from __future__ import annotations

import nbclient   # the test extra installs nbclient, nbformat and ipykernel: never skipped
import nbformat
from browser_helpers import open_tab, block_all_but_file

CELL = """
import numpy as np
import unrolled
from unrolled import engine
net = engine.Network.random(cell="lstm", input_size=3, hidden_size=4, output_size=3, seed=0)
x = np.random.default_rng(0).normal(size=(6, 3))
unrolled.show(net, x, np.array([0, 1, 2, 1, 0, 2]), height=700)
"""


def test_show_in_an_executed_notebook_draws_the_graph(browser, tmp_path, screenshots_dir) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(CELL))
    nbclient.NotebookClient(nb, timeout=180, kernel_name="python3").execute()
    nbformat.write(nb, tmp_path / "show.ipynb")
    saved = nbformat.read(tmp_path / "show.ipynb", as_version=4)
    outputs = [o["data"]["text/html"] for o in saved.cells[0].outputs if "text/html" in o.get("data", {})]
    assert len(outputs) == 1 and outputs[0].startswith("<iframe srcdoc=")
    page_file = tmp_path / "output.html"
    page_file.write_text(f"<!doctype html><html><body>{outputs[0]}</body></html>", encoding="utf-8")

    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    problems, open_file = block_all_but_file(page)
    try:
        open_file(page_file)
        frame = page.frame_locator("iframe")
        frame.locator('body[data-status="done"]').wait_for(timeout=30_000)
        assert frame.locator('[data-testid="graph"] [data-node="h_l0"]').count() == 6
        open_tab(frame, "plots")
        frame.locator('[data-testid="plot-grad-norms"] .main-svg').first.wait_for(timeout=30_000)
        page.screenshot(path=str(screenshots_dir / "notebook-show.png"))
    finally:
        context.close()
    assert not problems, "\n".join(problems)
