"""Issue 21's diagnosis: each finding on a model built to have it, and silence on a healthy twin."""
from __future__ import annotations

import numpy as np
import pytest

from unrolled import engine

T = 40


def run(net: engine.Network, T: int = T, per_step: bool = False, scale: float = 1.0, positive: bool = False,
        seed: int = 0) -> engine.Trace:
    """A seeded run: a loss at every step (per_step) or only at the last one."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((T, 4, net.input_size)) * scale
    x = np.abs(x) if positive else x
    y = rng.integers(0, net.output_size, (T, 4))
    if not per_step:
        y[:-1] = -100
    return net.run(x, y)


def kinds(trace, **kw) -> set[str]:
    return {f.kind for f in engine.diagnose(trace, **kw) if f.severity != "info"}


def irnn(scale: float = 1.0) -> engine.Network:
    state = engine.Network.random("rnn_relu", 3, 16, 4, seed=0).state_dict()
    state["weight_hh_l0"] = scale * np.eye(16)
    state["bias_hh_l0"][:] = 0
    return engine.Network.from_state_dict(state, cell="rnn_relu")


def test_an_irnn_is_flagged_for_forward_growth_before_any_nan():
    trace = run(irnn(1.0), positive=True)
    assert np.isfinite(trace.activations["h_l0"]).all()
    (growth,) = [f for f in engine.diagnose(trace) if f.kind == "growth"]
    assert growth.severity == "problem" and growth.numbers["ratio"] > 10
    h = np.linalg.norm(trace.activations["h_l0"], axis=-1).mean(axis=1)
    assert h[growth.t] > 10 * h[0]                      # the linked step really has grown
    assert "growth" not in kinds(run(engine.Network.random("rnn_relu", 3, 16, 4, seed=0), positive=True))


def test_a_wide_open_forget_gate_is_silent_and_a_shut_input_gate_is_not():
    assert kinds(run(engine.Network.random("lstm", 3, 16, 4, seed=0, forget_bias=6.0))) == set()
    state = engine.Network.random("lstm", 3, 16, 4, seed=0).state_dict()
    state["bias_ih_l0"][:16] = -12.0                    # i ≈ 0: nothing enters the cell
    shut = engine.diagnose(run(engine.Network.from_state_dict(state, cell="lstm")))
    assert any(f.kind == "gate_closed" and f.numbers["gate"] == "i" for f in shut)


def test_gru_update_gate_near_one_keeps_memory_and_is_silent():
    state = engine.Network.random("gru", 3, 16, 4, seed=0).state_dict()
    state["bias_ih_l0"][16:32] = 8.0                    # z ≈ 1
    assert "gate_closed" not in kinds(run(engine.Network.from_state_dict(state, cell="gru")))
    state["bias_ih_l0"][16:32] = -8.0                   # z ≈ 0: overwritten every step
    assert "gate_closed" in kinds(run(engine.Network.from_state_dict(state, cell="gru")))


def test_per_step_losses_get_a_horizon_and_vanish_only_against_a_required_lag():
    net = engine.Network.random("rnn_tanh", 3, 16, 4, seed=0, recurrent_scale=0.5)
    trace = run(net, per_step=True)
    found = engine.diagnose(trace)
    (horizon,) = [f for f in found if f.kind == "horizon"]
    assert horizon.severity == "info" and 1 <= horizon.numbers["horizon"] < 10
    assert "vanishing" not in {f.kind for f in found}
    lagged = engine.diagnose(trace, required_lag=20)
    assert [f.kind for f in lagged if f.kind == "vanishing"] == ["vanishing"]
    assert "vanishing" not in kinds(trace, required_lag=horizon.numbers["horizon"] - 1)
    with pytest.raises(ValueError, match="required_lag"):
        engine.diagnose(trace, required_lag=0)


def test_update_ratio_flags_a_gradient_that_dwarfs_its_weight():
    trace = run(irnn(1.02), positive=True, scale=3.0)
    ratios = [f for f in engine.diagnose(trace) if f.kind == "update_ratio"]
    assert ratios and all(f.numbers["ratio"] > 100 for f in ratios)
    healthy = run(engine.Network.random("gru", 3, 16, 4, seed=0))
    assert "update_ratio" not in kinds(healthy)


def test_a_gradient_too_big_to_square_gets_its_ratio_without_a_warning():
    """Finite entries ~1e200 overflow a sum of squares: the norm is still right, and numpy warns of nothing."""
    from unrolled.engine.analysis.model_checks import update_ratios
    from unrolled.engine.norms import frobenius
    big = np.full((3, 4), 1e200)
    with np.errstate(over="raise"):
        assert frobenius(big) == pytest.approx(1e200 * np.sqrt(12), rel=1e-12)
        assert frobenius(np.zeros(3)) == 0.0 and frobenius(np.array([3.0, -4.0])) == pytest.approx(5.0)
        assert frobenius(np.array([1.0, np.inf])) == np.inf and np.isnan(frobenius(np.array([1.0, np.nan])))
        trace = run(irnn(1.02), positive=True, scale=3.0)
        trace.grads["weight_hh_l0"] = np.full_like(trace.grads["weight_hh_l0"], 1e200)
        ratio = update_ratios(trace)["weight_hh_l0"]
    assert ratio == pytest.approx(1e200 * 16 / np.linalg.norm(trace.params["weight_hh_l0"]), rel=1e-12)


def test_bidirectional_last_step_readout_is_flagged_and_per_step_is_not():
    net = engine.Network.random("gru", 3, 8, 4, seed=0, bidirectional=True)
    (f,) = [f for f in engine.diagnose(run(net, T=10)) if f.kind == "readout"]
    assert f.node == "h_l0_reverse" and f.t == 9
    assert "readout" not in kinds(run(net, T=10, per_step=True))


def test_no_loss_and_no_gradient_is_never_healthy():
    net = engine.Network.random("gru", 3, 8, 4, seed=0)
    x = np.random.default_rng(0).standard_normal((6, 2, 3))
    idle = net.run(x, np.full((6, 2), -100))
    assert [f.kind for f in engine.diagnose(idle)] == ["no_gradient"]
    driven = net.run(x, np.full((6, 2), -100), final_state_grads={"h_l0": np.ones((2, 8))})
    found = engine.diagnose(driven)
    assert "no_gradient" not in {f.kind for f in found} and found       # judged: at least its horizon


def test_a_replayed_torch_model_is_judged_from_its_own_gradient():
    torch = pytest.importorskip("torch")    # torch is in the test extra; CI installs it
    from tests.engine.torch_models import cases
    model, inputs, targets, loss_fn = cases()["mean pooling (bidirectional GRU)"]
    replay = engine.from_torch_model(model, inputs, targets, loss_fn)
    found = engine.diagnose(replay.trace)
    assert "no_gradient" not in {f.kind for f in found} and any(f.kind == "horizon" for f in found)
    assert torch is not None
