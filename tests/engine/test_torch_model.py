"""engine.from_torch_model: the recurrence inside a user's torch model replayed exactly (issue 21),
checked per timestep against torch autograd (float64) for heads, pooling, attention, custom losses,
an embedding in front, packed batches and a cell called in a loop."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

from engine.torch_model import from_torch_model
from tests.engine.torch_models import cases, replay_errors, torch_oracle

CASES = cases()


@pytest.mark.parametrize("name", list(CASES))
def test_replay_matches_torch_per_timestep(name):
    model, inputs, targets, loss_fn = CASES[name]
    replay = from_torch_model(model, inputs, targets, loss_fn)
    rnn = [m for m in model.modules() if isinstance(m, (nn.RNNBase, nn.RNNCellBase))][0]
    oracle = torch_oracle(model, inputs, targets, loss_fn, rnn)
    errors = replay_errors(replay, oracle, rnn)
    assert max(errors.values()) <= 1e-7, errors
    assert replay.trace.loss == pytest.approx(oracle["loss"], rel=1e-12)


def test_replay_leaves_the_models_gradients_alone():
    model, inputs, targets, loss_fn = CASES["mean pooling (bidirectional GRU)"]
    model.zero_grad(set_to_none=True)
    from_torch_model(model, inputs, targets, loss_fn)
    assert all(p.grad is None for p in model.parameters())


def test_output_grads_add_to_the_heads_gradient():
    """run(output_grads=g) equals the same run with an mse head whose ∂L/∂o is g (identity head)."""
    from engine import Network
    net = Network.random("gru", 3, 4, 4, seed=2)
    state = net.state_dict()
    state["head.weight"], state["head.bias"] = np.eye(4), np.zeros(4)
    net = Network.from_state_dict(state, cell="gru")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(5, 2, 3)), rng.normal(size=(5, 2, 4))
    ref = net.run(x, y, loss="mse")
    g = ref.gradients["logits"]
    replay = net.run(x, np.full((5, 2, 4), -100.0), loss="mse", output_grads=g)
    for name, value in ref.grads.items():
        if not name.startswith("head"):
            np.testing.assert_allclose(replay.grads[name], value, rtol=1e-12, atol=1e-15)


def test_bad_output_grads_name_the_parameter():
    from engine import Network
    net = Network.random("rnn_tanh", 3, 4, 2, seed=0)
    with pytest.raises(ValueError, match="output_grads"):
        net.run(np.zeros((5, 1, 3)), np.zeros((5, 1), dtype=int), output_grads=np.zeros((5, 1, 3)))
    with pytest.raises(ValueError, match="output_grads"):
        net.run(np.zeros((5, 1, 3)), np.zeros((5, 1), dtype=int), output_grads=np.full((5, 1, 4), np.nan))


def test_a_loop_that_changes_the_state_is_refused():
    class Zoneout(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.GRUCell(2, 3)

        def forward(self, x):
            h = torch.zeros(x.shape[1], 3, dtype=x.dtype)
            for t in range(x.shape[0]):
                h = 0.5 * self.cell(x[t], h)
            return h
    model = Zoneout().double()
    with pytest.raises(ValueError, match="not the one call"):
        from_torch_model(model, torch.randn(4, 1, 2, dtype=torch.float64), None, lambda o: o.sum())


def test_a_model_without_an_rnn_is_refused():
    with pytest.raises(ValueError, match="no torch.nn.RNN"):
        from_torch_model(nn.Linear(2, 2), torch.zeros(1, 2), None, lambda o: o.sum())
