"""Network construction: state_dict round trip, recurrent_scale, forget_bias, float32, (T, I) inputs."""

from __future__ import annotations

import numpy as np
import pytest

from unrolled import engine
from engine_cases import Config, build_net, make_data, rel_error
from torch_reference import CELLS, GATE_ROWS, param_names


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("cell", CELLS)
def test_random_has_torch_names_shapes_and_attributes(cell, bidirectional):
    """random() builds torch-named parameters; the attributes describe the network."""
    net = engine.Network.random(cell=cell, input_size=3, hidden_size=5, output_size=2, num_layers=2,
                                bidirectional=bidirectional, seed=0)
    dirs = 2 if bidirectional else 1
    rows = GATE_ROWS[cell] * 5
    expected = {"head.weight": (2, 5 * dirs), "head.bias": (2,)}
    for layer in range(2):
        for d in range(dirs):
            w_ih, w_hh, b_ih, b_hh = param_names(layer, d)
            expected.update({w_ih: (rows, 3 if layer == 0 else 5 * dirs), w_hh: (rows, 5),
                             b_ih: (rows,), b_hh: (rows,)})
    state = net.state_dict()
    assert {k: v.shape for k, v in state.items()} == expected
    assert (net.cell, net.num_layers, net.bidirectional, net.directions) == (cell, 2, bidirectional, dirs)
    assert (net.input_size, net.hidden_size, net.output_size) == (3, 5, 2)
    assert net.dtype == np.float64
    assert net.node_names == [f"h_l{k}{s}" for k in range(2) for s in ([""] + ["_reverse"] * (dirs - 1))]
    assert all(v.dtype == np.float64 for v in state.values())


def test_random_is_seeded():
    """Same seed, same weights; another seed, other weights."""
    def make(seed):
        return engine.Network.random(cell="lstm", input_size=2, hidden_size=3, output_size=2, seed=seed).state_dict()
    a, b, c = make(1), make(1), make(2)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not all(np.array_equal(a[k], c[k]) for k in a)


def test_state_dict_round_trip_and_copies():
    """from_state_dict(state_dict()) is the same network; state_dict() returns copies."""
    net = engine.Network.random(cell="gru", input_size=2, hidden_size=3, output_size=4, num_layers=2,
                                bidirectional=True, seed=3)
    state = net.state_dict()
    again = engine.Network.from_state_dict(state, cell="gru", num_layers=2, bidirectional=True)
    assert all(np.array_equal(state[k], v) for k, v in again.state_dict().items())
    state["weight_hh_l0"][:] = 0.0
    assert not np.all(net.state_dict()["weight_hh_l0"] == 0.0)
    assert not np.all(again.state_dict()["weight_hh_l0"] == 0.0)  # from_state_dict copied too


def test_loads_a_torch_module_state_dict():
    """A user's torch.nn.LSTM state dict (tensors converted with .numpy()) loads and runs."""
    import torch

    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, dtype=torch.float64)
    head = torch.nn.Linear(8, 2, dtype=torch.float64)
    state = {k: v.detach().numpy() for k, v in lstm.state_dict().items()}
    state.update({f"head.{k}": v.detach().numpy() for k, v in head.state_dict().items()})
    net = engine.Network.from_state_dict(state, cell="lstm", num_layers=2, bidirectional=True)
    x = np.random.default_rng(0).normal(size=(5, 2, 3))
    trace = net.run(x, np.zeros((5, 2), dtype=int))
    out, _ = lstm(torch.tensor(x))
    top = np.concatenate([trace.activations["h_l1"], trace.activations["h_l1_reverse"]], axis=-1)
    assert rel_error(top, out.detach().numpy()) < 1e-12


@pytest.mark.parametrize("scale", [0.5, 1.0, 3.0])
@pytest.mark.parametrize("cell", CELLS)
def test_recurrent_scale_sets_spectral_radius_of_every_block(cell, scale):
    """Every H x H block of every W_hh is orthogonal x scale: spectral radius and sigma_max = scale."""
    H = 6
    net = engine.Network.random(cell=cell, input_size=3, hidden_size=H, output_size=2, num_layers=2,
                                bidirectional=True, seed=4, recurrent_scale=scale)
    state = net.state_dict()
    for name in (n for n in state if n.startswith("weight_hh")):
        for block in np.split(state[name], GATE_ROWS[cell], axis=0):
            assert abs(np.max(np.abs(np.linalg.eigvals(block))) - scale) < 1e-8, name
            assert abs(np.linalg.norm(block, 2) - scale) < 1e-8, name
            np.testing.assert_allclose(block @ block.T, scale ** 2 * np.eye(H), atol=1e-10)


def test_forget_bias_is_added_to_the_f_rows_only():
    """forget_bias shifts bias_ih's f rows (H:2H) of every LSTM layer/direction and nothing else."""
    H = 4
    kwargs = dict(cell="lstm", input_size=2, hidden_size=H, output_size=2, num_layers=2, bidirectional=True, seed=9)
    plain = engine.Network.random(**kwargs).state_dict()
    biased = engine.Network.random(forget_bias=1.5, **kwargs).state_dict()
    for name, value in plain.items():
        if name.startswith("bias_ih"):
            expected = value.copy()
            expected[H:2 * H] += 1.5
            np.testing.assert_allclose(biased[name], expected, rtol=0, atol=1e-15)
        else:
            assert np.array_equal(biased[name], value), name


@pytest.mark.parametrize("cfg", [Config(c, 2, True, loss, True) for c in CELLS for loss in ("cross_entropy", "mse")],
                         ids=lambda c: c.id)
def test_float32_agrees_with_float64(cfg):
    """A float32 network returns float32 arrays and agrees with the float64 run to ~1e-4."""
    net32 = build_net(cfg, dtype=np.float32)
    assert net32.dtype == np.float32
    state32 = net32.state_dict()
    assert all(v.dtype == np.float32 for v in state32.values())
    net64 = engine.Network.from_state_dict({k: v.astype(np.float64) for k, v in state32.items()}, cell=cfg.cell,
                                           num_layers=cfg.layers, bidirectional=cfg.bidirectional)
    x, targets = make_data(cfg)
    t32 = net32.run(x.astype(np.float32), targets, loss=cfg.loss)
    t64 = net64.run(x, targets, loss=cfg.loss)
    assert abs(t32.loss - t64.loss) <= 1e-4 * abs(t64.loss)
    for attr in ("activations", "gradients", "grads", "grad_contributions", "jacobian_norms"):
        for key, value in getattr(t64, attr).items():
            got = getattr(t32, attr)[key]
            assert got.dtype == np.float32, f"{attr}[{key}] is {got.dtype}"
            assert rel_error(got, value) < 1e-4, f"{attr}[{key}]: {rel_error(got, value):.2e}"
    assert t32.loss_t.dtype == np.float32
    assert t32.input_grads.dtype == np.float32                     # summed block by block, never upcast
    assert rel_error(t32.input_grads, t64.input_grads) < 1e-4
    assert all(v.dtype == np.float32 for v in t32.initial_state_grads.values())


def test_float32_network_accepts_float64_input():
    """run() computes in the network's dtype whatever the input dtype."""
    cfg = Config("gru", 1, False, "cross_entropy", False)
    trace = build_net(cfg, dtype=np.float32).run(*make_data(cfg))
    assert trace.activations["h_l0"].dtype == np.float32


def test_two_dimensional_x_means_batch_of_one():
    """x of shape (T, I) is a batch of one: same numbers as (T, 1, I)."""
    cfg = Config("lstm", 1, True, "cross_entropy", False, B=1)
    net = build_net(cfg)
    x, targets = make_data(cfg)
    full = net.run(x, targets)
    flat = net.run(x[:, 0, :], targets)
    assert flat.B == 1
    assert flat.loss == full.loss
    for key, value in full.activations.items():
        assert np.array_equal(flat.activations[key], value), key


def test_run_does_not_modify_its_inputs_or_the_network():
    """x, targets and the weights are unchanged by run()."""
    cfg = Config("gru", 2, True, "mse", True)
    net = build_net(cfg)
    x, targets = make_data(cfg)
    x0, y0, s0 = x.copy(), targets.copy(), net.state_dict()
    net.run(x, targets, loss="mse")
    list(net.steps(x, targets, loss="mse"))
    assert np.array_equal(x, x0) and np.array_equal(targets, y0)
    assert all(np.array_equal(v, s0[k]) for k, v in net.state_dict().items())
