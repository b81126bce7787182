"""An ONNX model whose GRU has direction="reverse", uploaded through "Debug your own model": the page
draws its one layer as a reverse row — the nodes h_l0_reverse, the initial state right of the last
step and every recurrent edge pointing left."""

from __future__ import annotations

import numpy as np

from browser_helpers import wait_done, wait_until
from onnx_models import B, I, T, gru_onnx
from test_browser_onnx import open_upload, submit_upload

EDGE_ENDS = """() => [...document.querySelectorAll('[data-testid="graph"] [data-edge="recurrent"]')].map((p) => {
  const m = p.getAttribute('d').match(/M([-\\d.]+),[-\\d.]+ L([-\\d.]+),/);
  return [Number(m[1]), Number(m[2])];
})"""
X_OF = """(sel) => [...document.querySelectorAll(sel)].map((g) => Number(/translate\\(([-\\d.]+)/.exec(g.getAttribute('transform'))[1]))"""


def test_a_reverse_onnx_layer_is_drawn_right_to_left(page, live_server, tmp_path, screenshots_dir):
    model, x = tmp_path / "reverse.onnx", tmp_path / "batch.npy"
    model.write_bytes(gru_onnx(extra={"direction": "reverse"}))
    np.save(x, np.random.default_rng(0).standard_normal((B, T, I)))
    open_upload(page, live_server)
    submit_upload(page, model, x)
    page.click('[data-testid="upload-step-through"]')
    wait_until(page, "document.getElementById('story-title').textContent.startsWith('Your model: reverse.onnx')")
    wait_done(page)
    graph = '[data-testid="graph"]'
    assert page.locator(f'{graph} [data-node="h_l0_reverse"]').count() == T
    assert page.locator(f'{graph} [data-node="h_l0"]').count() == 0
    ends = page.evaluate(EDGE_ENDS)
    assert len(ends) == T and all(x1 < x0 for x0, x1 in ends)            # every W edge points left
    h_x = page.evaluate(X_OF, f'{graph} [data-node="h_l0_reverse"]')
    initial_x = page.evaluate(X_OF, f'{graph} [data-role="initial"]')
    assert len(initial_x) == 1 and initial_x[0] > max(h_x)               # h(T) sits right of the last step
    page.locator(graph).screenshot(path=str(screenshots_dir / "onnx_reverse_graph.png"))
