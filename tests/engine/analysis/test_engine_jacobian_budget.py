"""Long sequences of wide states: Jacobian norms stay exact where computed, on a bounded subsample of steps."""
from __future__ import annotations

import numpy as np

from unrolled import engine
import unrolled.engine.analysis.jacobians as jacobians


def test_over_budget_norms_are_an_exact_even_subsample(monkeypatch):
    net = engine.Network.random(cell="lstm", input_size=3, hidden_size=5, output_size=4, bidirectional=True, seed=2)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((30, 2, 3)), rng.integers(0, 4, (30, 2))
    full = net.run(x, y).jacobian_norms
    S3 = (2 * 5) ** 3
    monkeypatch.setattr(jacobians, "EXACT_WORK_BUDGET", 2 * S3 * 7)      # pays for 7 steps of a batch of 2
    partial = net.run(x, y).jacobian_norms
    for node, norms in partial.items():
        computed = np.isfinite(norms)
        assert computed.sum() == 7, node
        np.testing.assert_allclose(norms[computed], full[node][computed], rtol=1e-12)
        steps = np.flatnonzero(computed)
        first = 29 if node.endswith("_reverse") else 0
        assert first not in steps and {steps.min(), steps.max()} <= {1, 28, 0, 29} - {first}
