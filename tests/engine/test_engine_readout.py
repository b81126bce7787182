"""The final-state readout (`head(cat(h_n[-2], h_n[-1]))`) and the loss reductions equal torch float64:
the loss, every parameter gradient and the per-timestep ∂L/∂h (each step against its own scale),
uni/bidirectional, 1–2 layers, with and without `lengths`; plus central finite differences, and
torch.nn modules on pack_padded_sequence through `from_torch(..., readout="final_state")`.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from engine_cases import assert_rel, assert_steps
from torch_readout import oracle
from unrolled import engine
from unrolled.engine.gradcheck import compare_numeric

T, B, I, H, O = 6, 3, 4, 5, 3
LENGTHS = np.array([6, 2, 4])               # unequal, the longest = T
SHAPES = list(itertools.product((False, True), (1, 2), (None, "padded")))


def _data(loss: str, readout: str, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(T, B, I))
    shape = (B,) if readout == "final_state" else (T, B)
    if loss == "cross_entropy":
        y = rng.integers(0, O, size=shape)
        if readout == "per_step":
            y[rng.random(shape) < 0.3] = -100             # some steps without a target
        return x, y
    return x, rng.normal(size=shape + (O,))


def _check(net: engine.Network, trace: engine.Trace, ref) -> None:
    assert_rel(trace.loss, ref.loss, "loss")
    for name, g in ref.grads.items():
        assert_rel(trace.grads[name], g, name)
    for node, dh in ref.dh.items():
        assert_steps(trace.gradients[node], dh, f"∂L/∂{node}")


@pytest.mark.parametrize("bidirectional,layers,padded", SHAPES)
@pytest.mark.parametrize("cell,loss", [("lstm", "cross_entropy"), ("gru", "mse"), ("rnn_tanh", "cross_entropy")])
def test_final_state_head_matches_torch(cell, bidirectional, layers, padded, loss):
    net = engine.Network.random(cell, I, H, O, layers, bidirectional, seed=3, readout="final_state")
    x, y = _data(loss, "final_state")
    lengths = LENGTHS if padded else None
    trace = net.run(x, y, loss=loss, lengths=lengths)
    _check(net, trace, oracle(net.state_dict(), cell, layers, bidirectional, x, y, loss, lengths, "final_state"))
    assert np.isnan(trace.activations["logits"][:-1]).all() and trace.loss_t[-1] == trace.loss


@pytest.mark.parametrize("reduction", ["step_mean", "token_mean", "sum"])
@pytest.mark.parametrize("bidirectional,layers,padded", SHAPES)
@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_loss_reductions_match_torch(reduction, bidirectional, layers, padded, loss):
    net = engine.Network.random("lstm", I, H, O, layers, bidirectional, seed=4)
    x, y = _data(loss, "per_step", seed=2)
    lengths = LENGTHS if padded else None
    trace = net.run(x, y, loss=loss, lengths=lengths, loss_reduction=reduction)
    _check(net, trace, oracle(net.state_dict(), "lstm", layers, bidirectional, x, y, loss, lengths,
                              reduction=reduction))
    stepped = net.steps(x, y, loss=loss, lengths=lengths, loss_reduction=reduction)
    assert stepped.run_to_end().loss == trace.loss


def test_reductions_are_no_constant_multiple_with_padding():
    """With unequal lengths token_mean is not step_mean scaled: the gradients point elsewhere."""
    net = engine.Network.random("gru", I, H, O, 1, True, seed=5)
    x, y = _data("cross_entropy", "per_step", seed=6)
    a = net.run(x, y, lengths=LENGTHS, loss_reduction="step_mean").grads["weight_hh_l0"].ravel()
    b = net.run(x, y, lengths=LENGTHS, loss_reduction="token_mean").grads["weight_hh_l0"].ravel()
    assert abs(a @ b) / (np.linalg.norm(a) * np.linalg.norm(b)) < 1 - 1e-6


@pytest.mark.parametrize("readout,reduction", [("final_state", "sum"), ("final_state", "token_mean"),
                                               ("per_step", "token_mean"), ("per_step", "sum")])
def test_finite_differences(readout, reduction):
    net = engine.Network.random("lstm", 3, 4, 3, 2, True, seed=7, readout=readout)
    x, y = _data("cross_entropy", readout, seed=8)
    x = x[:, :, :3]
    run = lambda state: net.with_state(state).run(x, y, lengths=LENGTHS, loss_reduction=reduction)  # noqa: E731
    worst = compare_numeric(net.state_dict(), run(net.state_dict()).grads, lambda s: run(s).loss, 1e-3)
    assert max(worst.values()) < 1e-6, worst            # the stencil's rounding floor (test_engine_gradcheck)


@pytest.mark.parametrize("kind", ["GRU", "LSTM"])
@pytest.mark.parametrize("bidirectional,layers,padded", SHAPES)
def test_from_torch_classifier_on_h_n(kind, bidirectional, layers, padded):
    torch.manual_seed(0)
    rnn = getattr(torch.nn, kind)(I, H, layers, bidirectional=bidirectional, batch_first=True).double().eval()
    fc = torch.nn.Linear(H * (2 if bidirectional else 1), O).double()
    net = engine.Network.from_torch(rnn, fc, readout="final_state")
    x = torch.randn(B, T, I, dtype=torch.float64)
    y = torch.tensor([2, 0, 1])
    lengths = torch.tensor(LENGTHS if padded else [T] * B)
    _, h_n = rnn(torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
    h_n = h_n[0] if kind == "LSTM" else h_n
    feature = torch.cat([h_n[-2], h_n[-1]], dim=1) if bidirectional else h_n[-1]
    loss = torch.nn.functional.cross_entropy(fc(feature), y)
    loss.backward()
    trace = net.run(x.numpy(), y.numpy(), lengths=LENGTHS if padded else None)
    assert_rel(trace.loss, loss.item(), "loss")
    for name, p in rnn.named_parameters():
        assert_rel(trace.grads[name], p.grad.numpy(), name)
    assert_rel(trace.grads["head.weight"], fc.weight.grad.numpy(), "head.weight")


def test_final_state_targets_per_step_take_one_per_sequence():
    net = engine.Network.random("gru", I, H, O, 1, True, seed=9, readout="final_state")
    x, y = _data("cross_entropy", "final_state")
    per_step = np.full((T, B), -100)
    per_step[LENGTHS - 1, np.arange(B)] = y
    a, b = net.run(x, y, lengths=LENGTHS), net.run(x, per_step, lengths=LENGTHS)
    assert a.loss == b.loss and np.array_equal(a.grads["weight_hh_l0"], b.grads["weight_hh_l0"])
    per_step[0, 0] = 1
    with pytest.raises(ValueError, match=r"readout='final_state' reads one target per sequence; targets hold 2 "
                                         r"for batch element 0 \(at t = 0, 5\)"):
        net.run(x, per_step, lengths=LENGTHS)


def test_bad_readout_and_reduction_names():
    net = engine.Network.random("rnn_tanh", I, H, O, readout="final_state")
    x, y = _data("cross_entropy", "final_state")
    with pytest.raises(ValueError, match=r"readout must be one of per_step, final_state; got 'last'"):
        engine.Network.random("gru", I, H, O, readout="last")
    with pytest.raises(ValueError, match=r"loss_reduction must be one of step_mean, token_mean, sum; got 'mean'"):
        net.run(x, y, loss_reduction="mean")


def test_final_state_survives_save_and_load(tmp_path):
    net = engine.Network.random("lstm", I, H, O, 1, True, seed=2, readout="final_state")
    x, y = _data("cross_entropy", "final_state")
    trace = net.run(x, y, lengths=LENGTHS, loss_reduction="sum")
    trace.save(tmp_path / "t.npz")
    back = engine.load_trace(tmp_path / "t.npz")
    assert back.arch.readout == "final_state" and back.loss_reduction == "sum"
    assert np.array_equal(back.gradients["h_l0_reverse"], trace.gradients["h_l0_reverse"])


@pytest.mark.parametrize("reduction", ["token_mean", "sum"])
def test_trainer_trains_the_final_state_head_with_its_reduction(reduction):
    """One SGD step of the Trainer is θ − lr·∂L/∂θ with the run's own gradient (readout and reduction)."""
    net = engine.Network.random("gru", I, H, O, 1, True, seed=11, readout="final_state")
    x, y = _data("cross_entropy", "final_state", seed=12)
    options = engine.TrainOptions(epochs=1, optimizer="sgd", lr=0.1, loss_reduction=reduction)
    trainer = engine.Trainer(net, x, y, "cross_entropy", options, lengths=LENGTHS)
    record = next(trainer.epochs())
    trace = net.run(x, y, lengths=LENGTHS, loss_reduction=reduction)
    assert record.loss == pytest.approx(trace.loss, rel=1e-12)
    np.testing.assert_allclose(trainer.net.state_dict()["weight_hh_l0"],
                               net.state_dict()["weight_hh_l0"] - 0.1 * trace.grads["weight_hh_l0"], rtol=1e-12)
    with pytest.raises(ValueError, match="readout='final_state' trains on whole sequences"):
        engine.Trainer(net, x, y, "cross_entropy", engine.TrainOptions(recurrent_gradient=False))
