"""Truncated BPTT equals a torch float64 graph whose state is detached at each window's start.

The reference uses torch.nn.RNN / LSTM / GRU (not the engine's equations): the state before a
window comes from a step-by-step torch forward and is `.detach()`ed, the window is run from it,
and only the losses of the window's last k1 steps are back-propagated.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from unrolled import engine
from unrolled.engine.tbptt import Window, truncated_gradients, truncation_windows
from unrolled.engine.train import Trainer, TrainOptions

RTOL = 1e-9
NO_TARGET = -100


def torch_module(net: engine.Network) -> torch.nn.Module:
    """A torch.nn recurrent module carrying the network's weights (float64)."""
    kinds = {"rnn_tanh": (torch.nn.RNN, {"nonlinearity": "tanh"}), "rnn_relu": (torch.nn.RNN, {"nonlinearity": "relu"}),
             "lstm": (torch.nn.LSTM, {}), "gru": (torch.nn.GRU, {})}
    kind, extra = kinds[net.cell]
    module = kind(net.input_size, net.hidden_size, num_layers=net.num_layers, **extra).double()
    state = net.state_dict()
    module.load_state_dict({k: torch.tensor(v) for k, v in state.items() if not k.startswith("head.")})
    return module


def zero_state(net: engine.Network, B: int):
    """torch's hx of zeros: h, or (h, c) for an LSTM."""
    h = torch.zeros(net.num_layers, B, net.hidden_size, dtype=torch.float64)
    return (h, h.clone()) if net.cell == "lstm" else h


def detach(hx):
    """Cut the graph at a state."""
    return tuple(v.detach() for v in hx) if isinstance(hx, tuple) else hx.detach()


def window_loss(logits: torch.Tensor, targets: np.ndarray, loss: str, steps: range, offset: int) -> torch.Tensor:
    """Σ over `steps` of the per-step loss (batch mean over entries with a target)."""
    total = logits.sum() * 0.0
    for t in steps:
        o = logits[t - offset]
        if loss == "cross_entropy":
            y = torch.tensor(targets[t])
            valid = y != NO_TARGET
            if valid.any():
                total = total + F.cross_entropy(o[valid], y[valid])
        else:
            y = torch.tensor(targets[t])
            valid = ~torch.all(y == NO_TARGET, dim=-1)
            if valid.any():
                total = total + F.mse_loss(o[valid], y[valid])
    return total


def torch_truncated_grads(net: engine.Network, x: np.ndarray, targets: np.ndarray, loss: str, k1: int, k2: int):
    """(loss, grads) of TBPTT(k1, k2) with fixed weights, by detaching torch's state at every window start."""
    T, B, _ = x.shape
    module = torch_module(net)
    state = net.state_dict()
    head_w = torch.tensor(state["head.weight"], requires_grad=True)
    head_b = torch.tensor(state["head.bias"], requires_grad=True)
    xt = torch.tensor(x)
    before = [zero_state(net, B)]                 # before[t] = the state entering step t
    with torch.no_grad():
        hx = before[0]
        for t in range(T):
            _, hx = module(xt[t:t + 1], hx)
            before.append(hx)
    total = 0.0
    ends = list(range(k1, T, k1)) + [T]
    for prev, end in zip([0] + ends[:-1], ends):
        start = max(0, prev - (k2 - k1))
        out, _ = module(xt[start:end], detach(before[start]))
        logits = out @ head_w.T + head_b
        L = window_loss(logits, targets, loss, range(prev, end), start)
        L.backward()
        total += float(L.detach())
    grads = {k: p.grad.numpy().copy() for k, p in module.named_parameters()}
    grads["head.weight"] = head_w.grad.numpy().copy()
    grads["head.bias"] = head_b.grad.numpy().copy()
    return total, grads


def make_data(net: engine.Network, T: int, B: int, loss: str, seed: int):
    """Random inputs and a target at every step (a few missing)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(T, B, net.input_size))
    if loss == "cross_entropy":
        targets = rng.integers(0, net.output_size, size=(T, B))
        targets[rng.random((T, B)) < 0.2] = NO_TARGET
    else:
        targets = rng.normal(size=(T, B, net.output_size))
    return x, targets


def assert_close(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    """Relative error (to the largest magnitude) at most RTOL."""
    scale = max(float(np.max(np.abs(expected))), 1e-12)
    err = float(np.max(np.abs(actual - expected))) / scale
    assert err <= RTOL, f"{what}: relative error {err:.2e}"


CASES = [(cell, layers, loss, k1, k2)
         for cell in ("rnn_tanh", "rnn_relu", "lstm", "gru")
         for layers, loss, k1, k2 in ((1, "cross_entropy", 3, 3), (1, "mse", 2, 5), (2, "cross_entropy", 4, 6))]


@pytest.mark.parametrize("cell,layers,loss,k1,k2", CASES)
def test_truncated_gradients_equal_the_detached_torch_graph(cell, layers, loss, k1, k2):
    """Every parameter's TBPTT(k1, k2) gradient and the loss equal torch's detached-window reference;
    and they differ from full BPTT's, so the truncation is really there."""
    T, B = 11, 3
    net = engine.Network.random(cell, 3, 4, 3, num_layers=layers, seed=8, recurrent_scale=1.2)
    x, targets = make_data(net, T, B, loss, seed=1)
    ours = truncated_gradients(net, x, targets, loss, k1, k2)
    ref_loss, ref_grads = torch_truncated_grads(net, x, targets, loss, k1, k2)
    assert ours.loss == pytest.approx(ref_loss, rel=RTOL)
    assert set(ours.grads) == set(ref_grads)
    for name, g in ref_grads.items():
        assert_close(ours.grads[name], g, name)
    full = net.run(x, targets, loss)
    assert ours.loss == pytest.approx(full.loss, rel=1e-12)          # the forward pass is not truncated
    assert not np.allclose(ours.grads["weight_hh_l0"], full.grads["weight_hh_l0"], rtol=1e-6)


def test_windows_cover_every_loss_step_once():
    """TBPTT(k1, k2) windows: ends every k1 steps, each reaching k2 back, loss steps partitioning [0, T)."""
    assert truncation_windows(10, 4, 6) == [Window(0, 0, 4), Window(2, 4, 8), Window(6, 8, 10)]
    assert truncation_windows(6, 3) == [Window(0, 0, 3), Window(3, 3, 6)]
    assert truncation_windows(5) == [Window(0, 0, 5)]
    with pytest.raises(ValueError, match="k1 ≤ k2"):
        truncation_windows(10, 5, 3)


def test_untruncated_window_is_full_bptt():
    """k1 = k2 = T is ordinary BPTT: the same gradients and per-step ‖∂L/∂h_t‖ as net.run."""
    net = engine.Network.random("lstm", 3, 4, 3, seed=2)
    x, targets = make_data(net, 8, 2, "cross_entropy", seed=3)
    ours = truncated_gradients(net, x, targets, "cross_entropy", 8, 8)
    full = net.run(x, targets, "cross_entropy")
    for name, g in full.grads.items():
        np.testing.assert_array_equal(ours.grads[name], g)
    np.testing.assert_array_equal(ours.dh["h_l0"], full.gradients["h_l0"])


def test_truncation_refuses_a_bidirectional_network():
    """The reverse direction reads the future: there is no state to carry forward."""
    net = engine.Network.random("gru", 3, 4, 3, bidirectional=True, seed=0)
    x, targets = make_data(net, 6, 1, "cross_entropy", seed=0)
    with pytest.raises(ValueError, match="unidirectional"):
        truncated_gradients(net, x, targets, "cross_entropy", 3, 3)
    with pytest.raises(ValueError, match="unidirectional"):
        Trainer(net, x, targets, "cross_entropy", TrainOptions(tbptt=(3, 3)))


def test_tbptt_training_matches_torch_updating_after_every_chunk():
    """Two epochs of TBPTT(4, 4) with Adam and clipping: torch updates after every chunk and carries the
    chunk's last state (detached) into the next one; the engine's parameters and losses agree."""
    T, B, clip, lr = 10, 2, 0.5, 0.05
    net = engine.Network.random("gru", 3, 5, 3, seed=4, recurrent_scale=1.5)
    x, targets = make_data(net, T, B, "cross_entropy", seed=5)
    module = torch_module(net)
    state = net.state_dict()
    head_w = torch.nn.Parameter(torch.tensor(state["head.weight"]))
    head_b = torch.nn.Parameter(torch.tensor(state["head.bias"]))
    params = list(module.parameters()) + [head_w, head_b]
    opt = torch.optim.Adam(params, lr=lr)
    ref_losses, ref_clipped = [], []
    for _ in range(2):
        hx, epoch_loss, clipped = zero_state(net, B), 0.0, False
        for start in range(0, T, 4):
            end = min(T, start + 4)
            opt.zero_grad()
            out, hx = module(torch.tensor(x[start:end]), detach(hx))
            L = window_loss(out @ head_w.T + head_b, targets, "cross_entropy", range(start, end), start)
            L.backward()
            norm = float(torch.nn.utils.clip_grad_norm_(params, clip))   # torch adds 1e-6 to the norm
            clipped |= norm > clip
            opt.step()
            epoch_loss += float(L.detach())
        ref_losses.append(epoch_loss)
        ref_clipped.append(clipped)
    trainer = Trainer(net, x, targets, "cross_entropy",
                      TrainOptions(epochs=2, optimizer="adam", lr=lr, clip=clip, tbptt=(4, 4)))
    records = list(trainer.epochs())
    assert [r.updates for r in records] == [3, 3]
    assert [r.loss for r in records] == pytest.approx(ref_losses, rel=1e-9)
    assert [r.clipped for r in records] == ref_clipped
    trained = trainer.net.state_dict()
    named = dict(module.named_parameters()) | {"head.weight": head_w, "head.bias": head_b}
    for name, p in named.items():
        np.testing.assert_allclose(trained[name], p.detach().numpy(), rtol=1e-5, atol=1e-7, err_msg=name)


def test_no_gradient_reaches_further_back_than_the_window():
    """Copy (a target only at the last step) with TBPTT(5, 5): ‖∂L/∂h_t‖ is exactly 0 before the last
    window and positive inside it; full BPTT reaches t = 0."""
    from unrolled.engine.tasks import make_task

    data = make_task("copy", 20, 4, seed=0)
    net = engine.Network.random("lstm", data.input_size, 8, data.output_size, seed=0)
    options = TrainOptions(epochs=1, lr=0.01)
    truncated = Trainer(net, data.x, data.targets, data.loss, TrainOptions(epochs=1, lr=0.01, tbptt=(5, 5))).run_epoch()
    full = Trainer(net, data.x, data.targets, data.loss, options).run_epoch()
    profile = truncated.gradient_norms["h_l0"]
    assert np.all(profile[:15] == 0.0) and np.all(profile[15:] > 0)
    assert np.all(full.gradient_norms["h_l0"] > 0)
    assert truncated.updates == 4 and truncated.loss == pytest.approx(full.loss, rel=1e-12)
