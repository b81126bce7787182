"""Bad inputs raise ValueError with a message that names the problem; arising NaN/Inf is data."""

from __future__ import annotations

import numpy as np
import pytest

from unrolled import engine
from torch_reference import random_state_dict

CELL, I, H, O = "lstm", 3, 4, 2


def _state(layers: int = 2, bidirectional: bool = True) -> dict[str, np.ndarray]:
    return random_state_dict(CELL, I, H, O, layers, bidirectional, seed=0)


def _load(state, layers: int = 2, bidirectional: bool = True):
    return engine.Network.from_state_dict(state, cell=CELL, num_layers=layers, bidirectional=bidirectional)


@pytest.mark.parametrize("name", ["weight_hh_l1_reverse", "bias_ih_l0", "head.weight", "head.bias"])
def test_missing_parameter_is_named(name):
    """A missing parameter raises ValueError naming it."""
    state = _state()
    del state[name]
    with pytest.raises(ValueError, match=name.replace(".", r"\.")):
        _load(state)


@pytest.mark.parametrize("name", ["weight_ih_l2", "weight_hh_l0_backward", "head.extra"])
def test_extra_parameter_is_named(name):
    """An unexpected parameter raises ValueError naming it."""
    state = _state()
    state[name] = np.zeros((4 * H, H))
    with pytest.raises(ValueError, match=name.replace(".", r"\.")):
        _load(state)


def test_reverse_parameters_of_a_unidirectional_net_are_extra():
    """Loading a bidirectional state into a unidirectional net names the surplus reverse weights."""
    with pytest.raises(ValueError, match="_reverse"):
        _load(_state(), bidirectional=False)


@pytest.mark.parametrize("name,shape", [
    ("weight_ih_l0", (4 * H, I + 1)),
    ("weight_hh_l1", (4 * H, H + 1)),
    ("bias_hh_l0_reverse", (3 * H,)),
    ("weight_ih_l1", (4 * H, H)),          # layer 1 of a bidirectional net reads 2H
    ("head.weight", (O, H)),               # the head reads 2H
    ("head.bias", (O, 1)),
])
def test_misshaped_parameter_is_named(name, shape):
    """A parameter of the wrong shape raises ValueError naming it."""
    state = _state()
    state[name] = np.zeros(shape)
    with pytest.raises(ValueError, match=name.replace(".", r"\.")):
        _load(state)


def test_bad_cell_name():
    """An unknown cell raises ValueError that names the cell."""
    with pytest.raises(ValueError, match="transformer"):
        engine.Network.random(cell="transformer", input_size=2, hidden_size=2, output_size=2)
    with pytest.raises(ValueError, match="transformer"):
        engine.Network.from_state_dict(_state(), cell="transformer", num_layers=2, bidirectional=True)


@pytest.fixture
def net():
    return engine.Network.random(cell="gru", input_size=3, hidden_size=4, output_size=2, seed=0)


def test_bad_loss_name(net):
    """An unknown loss raises ValueError naming it."""
    with pytest.raises(ValueError, match="hinge"):
        net.run(np.zeros((4, 1, 3)), np.zeros((4, 1), dtype=int), loss="hinge")


@pytest.mark.parametrize("shape", [(4, 1, 5), (4, 1, 3, 1), (3,), (0, 1, 3)])
def test_bad_x_shape(net, shape):
    """x of the wrong rank or width (or no timesteps) raises ValueError mentioning x."""
    targets = np.zeros((shape[0], 1), dtype=int)
    with pytest.raises(ValueError, match=r"(?i)\bx\b|input"):
        net.run(np.zeros(shape), targets)


@pytest.mark.parametrize("targets", [np.zeros((3, 1), dtype=int), np.zeros((4, 2), dtype=int),
                                     np.zeros((4, 1, 2), dtype=int)])
def test_bad_cross_entropy_targets_shape(net, targets):
    """Class-id targets must be (T, B)."""
    with pytest.raises(ValueError, match="(?i)target"):
        net.run(np.zeros((4, 1, 3)), targets)


def test_bad_mse_targets_shape(net):
    """mse targets must be (T, B, O)."""
    with pytest.raises(ValueError, match="(?i)target"):
        net.run(np.zeros((4, 1, 3)), np.zeros((4, 1, 3)), loss="mse")


def test_class_id_out_of_range(net):
    """A class id outside [0, O) (other than -100) is rejected."""
    with pytest.raises(ValueError, match="(?i)target|class"):
        net.run(np.zeros((4, 1, 3)), np.full((4, 1), 7))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_input_is_rejected(net, bad):
    """NaN/Inf in x is an input error, not data."""
    x = np.zeros((4, 1, 3))
    x[2, 0, 1] = bad
    with pytest.raises(ValueError, match="(?i)finite|nan|inf"):
        net.run(x, np.zeros((4, 1), dtype=int))


def test_nonfinite_mse_target_is_rejected(net):
    """NaN in mse targets is an input error too."""
    y = np.zeros((4, 1, 2))
    y[1, 0, 0] = np.nan
    with pytest.raises(ValueError, match="(?i)finite|nan"):
        net.run(np.zeros((4, 1, 3)), y, loss="mse")


def test_steps_validates_before_the_first_event(net):
    """steps() rejects bad input as run() does (at the latest on the first next())."""
    with pytest.raises(ValueError):
        list(net.steps(np.zeros((4, 1, 5)), np.zeros((4, 1), dtype=int)))


def _exploding_run(dtype, scale: float, T: int = 60):
    net = engine.Network.random(cell="rnn_relu", input_size=3, hidden_size=8, output_size=3, seed=1,
                                recurrent_scale=scale, dtype=dtype)
    rng = np.random.default_rng(0)
    x = np.abs(rng.normal(size=(T, 2, 3))).astype(dtype)
    return net, x, rng.integers(0, 3, size=(T, 2))


def test_exploding_relu_is_recorded_not_raised():
    """rnn_relu with recurrent_scale 3, T=60: states and gradients explode and are recorded as they are."""
    net, x, y = _exploding_run(np.float64, 3.0)
    trace = net.run(x, y)
    h = trace.activations["h_l0"]
    norms = trace.gradient_norms["h_l0"]
    assert np.abs(h[-1]).max() > 1e6 * np.abs(h[0]).max()
    assert norms[0] > 1e6 * norms[-1]           # dL/dh_t grows going back in time
    assert np.isfinite(trace.loss) and trace.loss > 1e6


@pytest.mark.parametrize("dtype,T", [(np.float32, 60), (np.float64, 300)], ids=["f32", "f64"])
def test_overflow_is_recorded_as_nonfinite(dtype, T):
    """When values overflow (scale 30) the trace and the events hold Inf/NaN; nothing raises."""
    net, x, y = _exploding_run(dtype, 30.0, T)
    trace = net.run(x, y)
    assert not np.isfinite(trace.loss)
    assert not np.isfinite(trace.activations["h_l0"]).all()
    assert not all(np.isfinite(g).all() for g in trace.grads.values())
    norms = [ev.norm for ev in net.steps(x, y)]
    assert len(norms) == 5 * T and not np.isfinite(norms).all()


@pytest.mark.parametrize("targets", [np.full((4, 1), 0.5), np.full((4, 1), -1), np.ones((4, 1), dtype=bool)],
                         ids=["fraction", "minus-one", "bool"])
def test_cross_entropy_targets_must_be_class_ids(net, targets):
    """Only integer class ids in [0, O) or -100 are targets."""
    with pytest.raises(ValueError, match="(?i)target"):
        net.run(np.zeros((4, 1, 3)), targets)


@pytest.mark.parametrize("kwargs,word", [
    (dict(hidden_size=0), "hidden_size"), (dict(num_layers=0), "num_layers"),
    (dict(recurrent_scale=-1.0), "recurrent_scale"), (dict(recurrent_scale=float("nan")), "recurrent_scale"),
    (dict(dtype=np.float16), "dtype"), (dict(dtype=np.int64), "dtype"),
])
def test_bad_random_arguments(kwargs, word):
    """Network.random rejects impossible sizes, scales and dtypes, naming the argument."""
    args = dict(cell="lstm", input_size=3, hidden_size=4, output_size=2) | kwargs
    with pytest.raises(ValueError, match=word):
        engine.Network.random(**args)


def test_nonfinite_parameter_is_named():
    """A NaN weight in a loaded state dict is an input error naming the parameter."""
    state = _state()
    state["weight_hh_l0"][0, 0] = np.nan
    with pytest.raises(ValueError, match="weight_hh_l0"):
        _load(state)


def test_unknown_node_is_named(net):
    """flow_matrix / vanishing of a node that does not exist raise ValueError naming it."""
    trace = net.run(np.zeros((4, 1, 3)), np.zeros((4, 1), dtype=int))
    with pytest.raises(ValueError, match="h_l7"):
        trace.flow_matrix("h_l7")
    with pytest.raises(ValueError, match="h_l7"):
        trace.vanishing("h_l7")
