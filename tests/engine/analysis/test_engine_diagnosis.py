"""Each diagnosis appears on a model that has its problem, and a healthy model gets none."""
from __future__ import annotations

import numpy as np
import pytest

from unrolled import engine
from engine_cases import assert_steps

T_LONG = 40


def many_to_one(net: engine.Network, T: int, scale: float = 1.0, seed: int = 0) -> engine.Trace:
    """Run `net` on seeded inputs with a single loss at the last step."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((T, 4, net.input_size)) * scale
    y = np.full((T, 4), -100)
    y[-1] = rng.integers(0, net.output_size, 4)
    return net.run(x, y)


def kinds(trace: engine.Trace) -> set[str]:
    """The kinds of finding for a trace."""
    return {f.kind for f in engine.diagnose(trace)}


def random(cell: str, **kw) -> engine.Network:
    """A small seeded network."""
    return engine.Network.random(cell=cell, input_size=3, hidden_size=16, output_size=4, seed=0, **kw)


@pytest.mark.parametrize("net", [random("lstm", forget_bias=1.0), random("rnn_tanh", recurrent_scale=1.0),
                                 random("gru")], ids=["lstm", "rnn_tanh", "gru"])
def test_healthy_models_get_no_findings(net):
    assert engine.diagnose(many_to_one(net, T=10)) == []


def test_vanishing_is_found_with_its_factor_and_step():
    trace = many_to_one(random("rnn_tanh", recurrent_scale=0.5), T=T_LONG)
    (finding,) = [f for f in engine.diagnose(trace) if f.kind == "vanishing"]
    assert finding.numbers["factor"] < 0.6
    assert finding.numbers["ratio"] < 1e-3
    norms = trace.vanishing("h_l0")["norms"]
    assert norms[finding.t] < 1e-3 * norms.max()          # the linked step really is below the threshold
    assert "vanishing" not in kinds(many_to_one(random("rnn_tanh", recurrent_scale=1.0), T=10))


def test_exploding_growth_is_found():
    trace = many_to_one(random("rnn_relu", recurrent_scale=2.0), T=30)
    (finding,) = [f for f in engine.diagnose(trace) if f.kind == "exploding"]
    assert finding.severity == "problem" and finding.numbers["ratio"] > 1e3 and finding.numbers["factor"] > 1


def test_first_nonfinite_step_is_reported():
    trace = many_to_one(random("rnn_relu", recurrent_scale=30.0), T=300)
    found = [f for f in engine.diagnose(trace) if f.kind == "nonfinite"]
    forward = [f for f in found if "∂L" not in f.title]
    assert forward, found
    first = forward[0].t
    h = trace.activations["h_l0"]
    assert not np.isfinite(h[first]).all() and np.isfinite(h[:first]).all()


def test_saturated_tanh_units_are_found():
    assert "saturation" in kinds(many_to_one(random("rnn_tanh", recurrent_scale=1.0), T=10, scale=30.0))
    assert "saturation" not in kinds(many_to_one(random("rnn_tanh", recurrent_scale=1.0), T=10, scale=1.0))


def test_dead_relu_units_are_found():
    state = random("rnn_relu").state_dict()
    state["bias_ih_l0"][:8] = -20.0                        # half the units can never fire
    finding = [f for f in engine.diagnose(many_to_one(engine.Network.from_state_dict(state, cell="rnn_relu"), 10))
               if f.kind == "dead_relu"]
    assert finding and set(finding[0].numbers["units"]) >= set(range(8))
    assert "dead_relu" not in kinds(many_to_one(random("rnn_relu"), 10))


def test_closing_forget_gates_are_found():
    assert "forget_gate" in kinds(many_to_one(random("lstm", forget_bias=-4.0), T=10))
    assert "forget_gate" not in kinds(many_to_one(random("lstm", forget_bias=1.0), T=10))


def test_weight_spectra_match_numpy():
    net = random("gru", recurrent_scale=0.7)
    spectra = engine.weight_spectra(many_to_one(net, 5))["h_l0"]
    assert spectra["radius_r"] == pytest.approx(0.7) and spectra["radius_n"] == pytest.approx(0.7)
    assert spectra["sigma_max"] == pytest.approx(np.linalg.norm(net.state_dict()["weight_hh_l0"], 2))


def test_from_torch_matches_the_module_and_head():
    import torch
    torch.manual_seed(0)
    module = torch.nn.GRU(3, 5, num_layers=2, bidirectional=True, dtype=torch.float64)
    head = torch.nn.Linear(10, 4, dtype=torch.float64)
    net = engine.Network.from_torch(module, head)
    x = np.random.default_rng(0).standard_normal((6, 2, 3))
    trace = net.run(x, np.zeros((6, 2), dtype=int))
    out, _ = module(torch.tensor(x))
    np.testing.assert_allclose(trace.activations["logits"], head(out).detach().numpy(), rtol=1e-12, atol=1e-12)
    assert_steps(trace.activations["logits"], head(out).detach().numpy(), "logits", tol=1e-12)


def test_from_torch_without_head_or_bias_and_rejects_others():
    import torch
    net = engine.Network.from_torch(torch.nn.RNN(2, 3, bias=False, nonlinearity="relu"))
    assert net.cell == "rnn_relu" and net.output_size == 3
    assert not net.state_dict()["bias_ih_l0"].any()
    with pytest.raises(ValueError, match="RNN, LSTM or GRU"):
        engine.Network.from_torch(torch.nn.Linear(2, 3))
    with pytest.raises(ValueError, match="proj_size"):
        engine.Network.from_torch(torch.nn.LSTM(2, 4, proj_size=2))


def test_from_npz_reads_a_state_dict_without_pickle(tmp_path):
    net = random("lstm")
    path = tmp_path / "model.npz"
    np.savez(path, **net.state_dict())
    again = engine.Network.from_npz(path, cell="lstm")
    assert all(np.array_equal(v, again.state_dict()[k]) for k, v in net.state_dict().items())
    bad = tmp_path / "bad.npz"
    np.save(bad, np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="cannot read"):
        engine.Network.from_npz(bad, cell="lstm")


def test_a_deliberately_truncated_recurrence_is_not_called_vanishing():
    net = random("rnn_tanh", recurrent_scale=0.5)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((T_LONG, 4, 3)), rng.integers(0, 4, (T_LONG, 4))
    lagged = lambda trace: {f.kind for f in engine.diagnose(trace, required_lag=20)}   # noqa: E731
    assert "vanishing" in lagged(net.run(x, y))
    assert "vanishing" not in lagged(net.run(x, y, recurrent_gradient=False))
    assert "vanishing" not in lagged(net.run(x, y, truncate=5))
