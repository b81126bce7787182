"""Finite differences: engine.gradcheck over the matrix, an independent central-difference check,
and proof that gradcheck notices wrong gradients."""

from __future__ import annotations

import numpy as np
import pytest

from unrolled import engine
from engine_cases import MATRIX, Config, build_net, make_data

# smaller than the parity matrix: gradcheck runs the network twice per parameter entry
SMALL = [Config(c.cell, c.layers, c.bidirectional, c.loss, c.many_to_one, T=4, B=2, I=2, H=2, O=2)
         for c in MATRIX] + [
    Config("lstm", 2, True, "cross_entropy", False, T=4, B=3, I=2, H=2, O=2, sparse=True, seed=31),
    Config("rnn_tanh", 1, True, "mse", False, T=4, B=3, I=2, H=2, O=2, sparse=True, seed=32),
    Config("gru", 2, True, "cross_entropy", False, T=1, B=2, I=2, H=2, O=2, seed=33)]


@pytest.mark.parametrize("cfg", SMALL, ids=[c.id for c in SMALL])
def test_gradcheck_matrix(cfg):
    """Worst relative error of every parameter < 1e-6 in float64."""
    net = build_net(cfg)
    x, targets = make_data(cfg)
    errors = engine.gradcheck(net, x, targets, loss=cfg.loss)
    assert set(errors) == set(net.state_dict())
    worst = {name: float(err) for name, err in errors.items() if not float(err) < 1e-6}
    assert not worst, f"gradcheck errors >= 1e-6: {worst}"


def _loss_of(state, cfg, x, targets) -> float:
    net = engine.Network.from_state_dict(state, cell=cfg.cell, num_layers=cfg.layers,
                                         bidirectional=cfg.bidirectional)
    return net.run(x, targets, loss=cfg.loss).loss


@pytest.mark.parametrize("cfg", [
    Config("lstm", 2, True, "cross_entropy", False, T=4, B=2, I=2, H=2, O=3, seed=11),
    Config("gru", 1, True, "mse", True, T=4, B=2, I=2, H=3, O=2, seed=12),
], ids=lambda c: c.id)
def test_independent_central_differences(cfg):
    """A central-difference check written here (no engine.gradcheck) agrees with trace.grads."""
    net = build_net(cfg)
    x, targets = make_data(cfg)
    grads = net.run(x, targets, loss=cfg.loss).grads
    state = net.state_dict()
    eps = 1e-6
    for name, value in state.items():
        numeric = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            plus = {k: v.copy() for k, v in state.items()}
            minus = {k: v.copy() for k, v in state.items()}
            plus[name][idx] += eps
            minus[name][idx] -= eps
            numeric[idx] = (_loss_of(plus, cfg, x, targets) - _loss_of(minus, cfg, x, targets)) / (2 * eps)
        err = np.max(np.abs(numeric - grads[name])) / max(np.max(np.abs(grads[name])), 1e-12)
        assert err < 1e-6, f"{name}: central differences disagree, relative error {err:.2e}"


def test_gradcheck_sees_coarse_differences():
    """With a huge step the finite differences are wrong, and gradcheck must say so."""
    cfg = Config("rnn_tanh", 1, False, "cross_entropy", False, T=4, B=2, I=2, H=3, O=3, seed=5)
    net = build_net(cfg)
    x, targets = make_data(cfg)
    errors = engine.gradcheck(net, x, targets, loss=cfg.loss, eps=1.0)
    assert max(float(e) for e in errors.values()) > 1e-3


def test_gradcheck_reports_a_wrong_gradient(monkeypatch):
    """If run() returned a wrong gradient, gradcheck would report a large error for that parameter."""
    cfg = Config("gru", 1, False, "cross_entropy", False, T=4, B=2, I=2, H=3, O=3, seed=6)
    net = build_net(cfg)
    x, targets = make_data(cfg)
    original_run = type(net).run

    def wrong_run(self, *args, **kwargs):
        trace = original_run(self, *args, **kwargs)
        trace.grads["weight_hh_l0"] = trace.grads["weight_hh_l0"] * 1.5
        return trace

    monkeypatch.setattr(type(net), "run", wrong_run)
    errors = engine.gradcheck(net, x, targets, loss=cfg.loss)
    assert float(errors["weight_hh_l0"]) > 0.1
    assert float(errors["weight_ih_l0"]) < 1e-6
