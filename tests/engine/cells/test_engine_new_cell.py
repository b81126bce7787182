"""Adding a cell is one module plus one registry line: a cell defined here, in the test, and
registered at run time runs through every engine path without any other engine file knowing it.

The throwaway cell is a "scaled tanh" Elman variant: h_t = s · tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh).
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from unrolled import engine
from unrolled.engine.cells import Cell, cell_spec, get_cell, register_cell, unregister_cell

SCALE = 0.5


class ScaledTanhCell(Cell):
    """h_t = s·tanh(z_t); ∂L/∂z_t = s(1 − (h_t/s)²) ⊙ ∂L/∂h_t; ∂h_t/∂h_{t−1} = diag(φ′) W."""

    name = "scaled_tanh"
    max_dphi = SCALE
    saturating = {"h": (-SCALE, SCALE)}

    def forward(self, xp, h_prev, c_prev, w_hh, b_hh, out):
        """h_t = s·tanh(xp + W h_{t−1})."""
        np.tanh(h_prev @ w_hh.T + xp, out=out.h)
        out.h *= SCALE

    def dphi(self, h):
        """φ′(z_t) through h_t."""
        return SCALE * (1.0 - (h / SCALE) ** 2)

    def backward_factors(self, h, h_prev, act, extra):
        """φ′ of every step."""
        return {"dphi": self.dphi(h)}

    def backward(self, dh_next, dc_next, dh_out, rec, fac, w_hh, out):
        """The Elman step back."""
        dh = np.add(dh_out, dh_next, out=out.dh)
        dz = np.multiply(dh, fac["dphi"], out=out.dz_ih)
        return dz @ w_hh, None

    def jacobian(self, rec, w_hh):
        """diag(φ′) W, (B, H, H)."""
        return self.dphi(rec.h)[:, :, None] * w_hh[None]


@pytest.fixture
def scaled_tanh():
    """The cell, registered for the test only."""
    register_cell(ScaledTanhCell())
    yield "scaled_tanh"
    unregister_cell("scaled_tanh")


def test_a_registered_cell_runs_through_every_engine_path(scaled_tanh, tmp_path):
    """random → run → steps → replay → save/load → analysis → diagnosis → gradcheck, all on the new cell."""
    assert get_cell(scaled_tanh).name == scaled_tanh
    spec = cell_spec(scaled_tanh)
    assert {k: spec[k] for k in ("name", "states", "gates")} == {"name": "scaled_tanh", "states": ["h"], "gates": []}
    assert spec["lecture"]["forward"] == ["h{t} = scaled_tanh({U} {input}, {W} h{prev})"]   # generic: no lecture text
    net = engine.Network.random(cell=scaled_tanh, input_size=3, hidden_size=4, output_size=2, num_layers=2,
                                bidirectional=True, seed=3)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 2, 3)), rng.integers(0, 2, size=(6, 2))
    trace = net.run(x, y)
    assert np.abs(trace.activations["h_l0"]).max() < SCALE             # the cell's own forward ran

    stepped = net.steps(x, y)
    events = list(stepped)
    assert len(events) == engine.event_count(6, 2, 2)
    assert {tuple(e.values) for e in events if e.node == "h_l1_reverse"} == {("h",), ("dh",)}
    for a, b in zip(events, engine.replay(trace)):
        assert (a.phase, a.node, a.t) == (b.phase, b.node, b.t) and set(a.values) == set(b.values)
        for key in a.values:
            np.testing.assert_array_equal(a.values[key], b.values[key])
    np.testing.assert_array_equal(stepped.trace.gradients["h_l0"], trace.gradients["h_l0"])

    path = tmp_path / "t.npz"
    trace.save(path)
    loaded = engine.load_trace(path)
    for node in trace.node_names:
        np.testing.assert_array_equal(loaded.jacobian_norms[node], trace.jacobian_norms[node])
    summary = trace.summary()
    json.dumps(summary)
    for node in trace.node_names:
        assert summary["vanishing"][node]["bound"] == pytest.approx(SCALE * summary["vanishing"][node]["sigma_max"])
        measured = trace.jacobian_norms[node][np.isfinite(trace.jacobian_norms[node])]
        assert measured.max() <= SCALE * summary["vanishing"][node]["sigma_max"]
    assert isinstance(engine.diagnose(trace), list)
    assert set(engine.weight_spectra(trace)["h_l0"]) == {"sigma_max", "radius_W"}
    worst = engine.gradcheck(net, x, y)
    assert max(worst.values()) < 1e-6, worst


def test_an_unregistered_cell_is_refused():
    """The registry names the cells it knows."""
    with pytest.raises(ValueError, match="cell must be one of rnn_tanh, rnn_relu, lstm, gru"):
        get_cell("scaled_tanh")
    with pytest.raises(ValueError, match="built-in"):
        unregister_cell("lstm")
