"""Optimizers and clipping against torch.optim / clip_grad_norm_, the epoch records, determinism, sampling."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from unrolled import engine
from unrolled.engine.optim import SGD, Adam, clip_by_global_norm, global_norm
from unrolled.engine.sample import sample
from unrolled.engine.tasks import make_task
from unrolled.engine.train import Trainer, TrainOptions


def random_grads(seed: int, scale: float = 1.0) -> dict[str, np.ndarray]:
    """A parameter-shaped dict of random arrays."""
    rng = np.random.default_rng(seed)
    return {"a": rng.normal(size=(3, 4)) * scale, "b": rng.normal(size=5) * scale}


@pytest.mark.parametrize("make,torch_make", [
    (lambda: SGD(0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    (lambda: SGD(0.05, momentum=0.9), lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
    (lambda: Adam(0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
])
def test_optimizers_follow_torch_optim(make, torch_make):
    """Four steps with changing gradients leave the same parameters as torch.optim (float64)."""
    params = random_grads(0)
    tensors = {k: torch.nn.Parameter(torch.tensor(v)) for k, v in params.items()}
    opt, ref = make(), torch_make(list(tensors.values()))
    for step in range(4):
        grads = random_grads(10 + step)
        opt.step(params, grads)
        for k, t in tensors.items():
            t.grad = torch.tensor(grads[k])
        ref.step()
    for k, t in tensors.items():
        np.testing.assert_allclose(params[k], t.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_clipping_by_global_norm_matches_torch():
    """Above the threshold every gradient is scaled by clip/‖g‖ (torch: clip/(‖g‖+1e-6)); below, untouched."""
    grads = random_grads(1, scale=10.0)
    norm = math.sqrt(sum(float((g ** 2).sum()) for g in grads.values()))
    result = clip_by_global_norm(grads, 1.0)
    assert result.clipped and result.norm == pytest.approx(norm, rel=1e-12)
    assert global_norm(result.grads) == pytest.approx(1.0, rel=1e-12)
    tensors = [torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64)) for g in grads.values()]
    for t, g in zip(tensors, grads.values()):
        t.grad = torch.tensor(g)
    assert float(torch.nn.utils.clip_grad_norm_(tensors, 1.0)) == pytest.approx(norm, rel=1e-12)
    for t, g in zip(tensors, result.grads.values()):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-5)
    small = clip_by_global_norm(grads, 1e6)
    assert not small.clipped and all(np.array_equal(small.grads[k], grads[k]) for k in grads)
    assert not clip_by_global_norm(grads, None).clipped


def test_nonfinite_norm_is_reported_not_rescaled():
    """An infinite gradient cannot be clipped into a usable step: the norm says so and nothing is scaled."""
    grads = {"a": np.array([np.inf, 1.0])}
    result = clip_by_global_norm(grads, 1.0)
    assert math.isinf(result.norm) and not result.clipped


def small_char_lm(cell: str = "rnn_tanh"):
    """A short char_lm batch and a small network for it."""
    data = make_task("char_lm", 12, 2, seed=0)
    net = engine.Network.random(cell, data.input_size, 8, data.output_size, seed=0)
    return net, data


def test_epoch_record_describes_the_epoch():
    """Epoch 1's record is the untrained network's trace: its loss, ‖∂L/∂h_t‖ profile, parameter gradient
    norms, global norm and accuracy; one update per epoch without truncation."""
    net, data = small_char_lm("lstm")
    trace = net.run(data.x, data.targets, data.loss)
    record = Trainer(net, data.x, data.targets, data.loss, TrainOptions(epochs=3, lr=0.01, clip=0.1)).run_epoch()
    assert record.epoch == 1 and record.updates == 1
    assert record.loss == pytest.approx(trace.loss, rel=1e-12)
    np.testing.assert_allclose(record.loss_t, trace.loss_t, rtol=1e-12)
    np.testing.assert_allclose(record.gradient_norms["h_l0"], trace.gradient_norms["h_l0"], rtol=1e-12)
    assert record.grad_norms is record.gradient_norms      # the epoch message's wire key "grad_norms"
    for name, g in trace.grads.items():
        assert record.param_grad_norms[name] == pytest.approx(float(np.linalg.norm(g)), rel=1e-12)
    assert record.grad_norm == pytest.approx(global_norm(trace.grads), rel=1e-12)
    assert record.clipped == (record.grad_norm > 0.1)
    right = (trace.activations["logits"].argmax(-1) == data.targets)
    assert record.accuracy == pytest.approx(right.mean())


def test_tbptt_epoch_updates_after_every_window():
    """TBPTT(4, 6) over 12 steps: three updates per epoch, and a gradient profile over all 12 steps."""
    net, data = small_char_lm()
    trainer = Trainer(net, data.x, data.targets, data.loss, TrainOptions(epochs=2, lr=0.01, tbptt=(4, 6)))
    records = list(trainer.epochs())
    assert [r.updates for r in records] == [3, 3]
    assert records[0].gradient_norms["h_l0"].shape == (12,)
    assert np.all(records[0].gradient_norms["h_l0"] > 0)


def test_training_is_deterministic():
    """The same network, data and options train to bit-identical records and weights."""
    runs = []
    for _ in range(2):
        net, data = small_char_lm("gru")
        trainer = Trainer(net, data.x, data.targets, data.loss, TrainOptions(epochs=5, optimizer="sgd", lr=0.5,
                                                                             momentum=0.9, clip=1.0))
        runs.append(([r.loss for r in trainer.epochs()], trainer.net.state_dict()))
    assert runs[0][0] == runs[1][0]
    for k in runs[0][1]:
        np.testing.assert_array_equal(runs[0][1][k], runs[1][1][k])


def test_divergence_stops_training_and_keeps_finite_weights():
    """A huge step overflows the weights: the epoch says diverged, training stops, the network stays finite."""
    data = make_task("copy", 30, 4, seed=0)
    net = engine.Network.random("rnn_relu", data.input_size, 16, data.output_size, seed=0, recurrent_scale=2.0)
    trainer = Trainer(net, data.x, data.targets, data.loss, TrainOptions(epochs=50, optimizer="sgd", lr=1.0))
    records = list(trainer.epochs())
    assert records[-1].diverged and len(records) < 50
    assert all(np.isfinite(v).all() for v in trainer.net.state_dict().values())


def test_sampling_feeds_each_output_back_and_is_seeded():
    """sample() equals a by-hand loop that runs the whole generated prefix again at each step, and a seed
    fixes the result."""
    net, data = small_char_lm("lstm")
    ids = sample(net, 6, prime=[3, 1], seed=4, temperature=0.8)
    assert ids == sample(net, 6, prime=[3, 1], seed=4, temperature=0.8)
    assert len(ids) == 6 and all(0 <= i < net.output_size for i in ids)
    rng = np.random.default_rng(4)
    seq = [3, 1]
    for _ in range(6):
        x = np.eye(net.input_size)[seq][:, None, :]
        logits = net.run(x, np.full((len(seq), 1), -100), "cross_entropy").activations["logits"][-1, 0] / 0.8
        p = np.exp(logits - logits.max())
        seq.append(int(rng.choice(len(p), p=p / p.sum())))
    assert ids == seq[2:]


def test_sampling_needs_matching_inputs_and_outputs():
    """A network whose outputs are not its inputs cannot be unrolled at test time."""
    net = engine.Network.random("rnn_tanh", 3, 4, 2, seed=0)
    with pytest.raises(ValueError, match="input_size"):
        sample(net, 5)
