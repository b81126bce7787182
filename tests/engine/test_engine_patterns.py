"""Usage patterns: encoder–decoder BPTT across the context, Elman context units, test-time generation.
Each gradient is checked against torch autograd (float64) and central finite differences."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from unrolled import engine
from unrolled.engine.gradcheck import compare_numeric
from unrolled.engine.patterns import Seq2Seq, free_run

TORCH_CELLS = {"rnn_tanh": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


def torch_module(net: engine.Network) -> torch.nn.Module:
    """A torch.nn.RNN/LSTM/GRU with the network's recurrent weights (float64)."""
    module = TORCH_CELLS[net.cell](net.input_size, net.hidden_size, num_layers=net.num_layers, dtype=torch.float64)
    module.load_state_dict({k: torch.tensor(v) for k, v in net.state_dict().items() if not k.startswith("head.")})
    return module


def teacher_forced(targets: np.ndarray, vocab: int) -> np.ndarray:
    """Decoder inputs <go>, y_0, …, y_{T−2} as one-hot rows of width vocab + 1 (the last column is <go>)."""
    T, B = targets.shape
    x = np.zeros((T, B, vocab + 1))
    x[0, :, vocab] = 1.0
    for t in range(1, T):
        x[t, np.arange(B), targets[t - 1]] = 1.0
    return x


@pytest.mark.parametrize("cell", ["rnn_tanh", "lstm", "gru"])
@pytest.mark.parametrize("layers", [1, 2])
def test_seq2seq_matches_torch_and_finite_differences(cell, layers):
    rng = np.random.default_rng(7)
    model = Seq2Seq.random(cell, input_size=4, hidden_size=5, output_size=3, num_layers=layers, seed=3)
    x_enc, targets = rng.standard_normal((6, 2, 4)), rng.integers(0, 3, (4, 2))
    targets[1, 0] = -100
    x_dec = teacher_forced(np.where(targets < 0, 0, targets), 3)
    trace = model.run(x_enc, x_dec, targets)

    enc, dec = torch_module(model.encoder), torch_module(model.decoder)
    head_w = torch.tensor(model.decoder.state_dict()["head.weight"], requires_grad=True)
    head_b = torch.tensor(model.decoder.state_dict()["head.bias"], requires_grad=True)
    _, context = enc(torch.tensor(x_enc))
    out, _ = dec(torch.tensor(x_dec), context)
    logits = out @ head_w.T + head_b
    loss = sum(F.cross_entropy(logits[t], torch.tensor(targets[t]), ignore_index=-100) for t in range(4))
    loss.backward()
    assert trace.loss == pytest.approx(loss.item(), rel=1e-12)
    expected = {f"encoder.{k}": p.grad for k, p in enc.named_parameters()}
    expected.update({f"decoder.{k}": p.grad for k, p in dec.named_parameters()})
    expected.update({"decoder.head.weight": head_w.grad, "decoder.head.bias": head_b.grad})
    assert set(expected) == set(trace.grads)
    for name, grad in expected.items():
        np.testing.assert_allclose(trace.grads[name], grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)
    assert trace.T == 10 and [seg.name for seg in trace.chain] == ["encoder", "decoder"]
    assert np.abs(trace.gradients["h_l0"][5]).sum() > 0          # the gradient really crosses the context

    def loss_of(state):
        return Seq2Seq.from_state_dict(state, cell, layers).run(x_enc, x_dec, targets).loss
    errors = compare_numeric(model.state_dict(), trace.grads, loss_of, eps=1e-3, max_entries=6)
    assert max(errors.values()) < 1e-6, errors


def test_seq2seq_gradient_reaching_the_encoder_fades_with_input_length():
    """The lesson: the earliest encoder steps get the least gradient from the decoder's loss."""
    rng = np.random.default_rng(0)
    model = Seq2Seq.random("rnn_tanh", 4, 16, 3, seed=0, recurrent_scale=0.6)
    targets = rng.integers(0, 3, (3, 2))
    trace = model.run(rng.standard_normal((30, 2, 4)), teacher_forced(targets, 3), targets)
    norms = trace.gradient_norms["h_l0"][:30]                      # the encoder's steps
    assert norms[0] < 1e-3 * norms[-1]


@pytest.mark.parametrize("cell", ["rnn_tanh", "rnn_relu", "lstm", "gru"])
def test_elman_context_units_match_a_detached_torch_recurrence(cell):
    """recurrent_gradient=False: the state is an input, so ∂L/∂θ equals torch's with h_{t−1}.detach()."""
    rng = np.random.default_rng(1)
    net = engine.Network.random(cell=cell, input_size=3, hidden_size=4, output_size=3, seed=2)
    x, y = rng.standard_normal((5, 2, 3)), rng.integers(0, 3, (5, 2))
    trace = net.run(x, y, recurrent_gradient=False)
    kind = {"rnn_tanh": torch.nn.RNNCell, "rnn_relu": torch.nn.RNNCell, "lstm": torch.nn.LSTMCell,
            "gru": torch.nn.GRUCell}[cell]
    kwargs = {"nonlinearity": cell[4:]} if cell.startswith("rnn") else {}
    step = kind(3, 4, dtype=torch.float64, **kwargs)
    step.load_state_dict({k[:-3]: torch.tensor(v) for k, v in net.state_dict().items() if k.endswith("_l0")})
    head_w = torch.tensor(net.state_dict()["head.weight"], requires_grad=True)
    head_b = torch.tensor(net.state_dict()["head.bias"], requires_grad=True)
    h, c, loss = torch.zeros(2, 4, dtype=torch.float64), torch.zeros(2, 4, dtype=torch.float64), 0
    for t in range(5):
        if cell == "lstm":
            h, c = step(torch.tensor(x[t]), (h.detach(), c.detach()))
        else:
            h = step(torch.tensor(x[t]), h.detach())
        loss = loss + F.cross_entropy(h @ head_w.T + head_b, torch.tensor(y[t]))
    loss.backward()
    grads = {f"{k}_l0": p.grad.numpy() for k, p in step.named_parameters()}
    grads.update({"head.weight": head_w.grad.numpy(), "head.bias": head_b.grad.numpy()})
    for name, grad in grads.items():
        np.testing.assert_allclose(trace.grads[name], grad, rtol=1e-9, atol=1e-13, err_msg=name)
    full = net.run(x, y)
    assert not np.allclose(full.grads["weight_hh_l0"], trace.grads["weight_hh_l0"])   # truncation matters
    errors = compare_numeric(net.state_dict(), trace.grads, lambda s: _elman_loss(net, s, x, y), eps=1e-5)
    assert errors["head.weight"] < 1e-6   # only the head's gradient is the full derivative of L


def _elman_loss(net, state, x, y) -> float:
    return engine.Network(net.arch, state).run(x, y).loss


def test_seq2seq_free_run_decodes_from_the_context_feeding_its_own_outputs_back():
    """Test-time decoding: <go>, then each argmax output; `run` on those inputs reproduces the outputs."""
    rng = np.random.default_rng(3)
    model = Seq2Seq.random("lstm", input_size=5, hidden_size=6, output_size=4, num_layers=2, seed=1)
    x_enc = np.eye(5)[rng.integers(0, 4, (6, 2))]
    go = np.tile(np.eye(5)[4], (2, 1))
    x_dec, tokens = model.free_run(x_enc, go, steps=5)
    assert x_dec.shape == (5, 2, 5) and tokens.shape == (5, 2)
    np.testing.assert_array_equal(x_dec[0], go)
    np.testing.assert_array_equal(x_dec[1:].argmax(-1), tokens[:-1])
    trace = model.run(x_enc, x_dec, tokens)
    np.testing.assert_array_equal(trace.activations["logits"][6:].argmax(-1), tokens)
    # it really starts from the context: a different input sequence decodes differently
    fresh = model.decoder.run(x_dec, tokens)                                 # from zeros, not the context
    assert not np.allclose(fresh.activations["logits"], trace.activations["logits"][6:])


def test_free_run_feeds_each_output_back_as_the_next_input():
    net = engine.Network.random(cell="gru", input_size=6, hidden_size=8, output_size=6, num_layers=2, seed=4)
    x, tokens = free_run(net, np.eye(6)[[0, 3]], steps=7, mode="argmax")
    assert x.shape == (7, 2, 6) and tokens.shape == (7, 2)
    np.testing.assert_array_equal(x[1:].argmax(-1), tokens[:-1])           # feedback edges
    trace = net.run(x, tokens)
    np.testing.assert_array_equal(trace.activations["logits"].argmax(-1), tokens)   # same forward values
    sampled, again = free_run(net, np.eye(6)[[0]], 12, "sample", seed=5), free_run(net, np.eye(6)[[0]], 12,
                                                                                 "sample", seed=5)
    np.testing.assert_array_equal(sampled[1], again[1])                      # seeded
    with pytest.raises(ValueError, match="input_size ≥ output_size"):
        free_run(engine.Network.random("gru", 3, 4, 5), np.eye(3)[[0]], 3)
    with pytest.raises(ValueError, match="bidirectional"):
        free_run(engine.Network.random("gru", 3, 4, 3, bidirectional=True), np.eye(3)[[0]], 3)


@pytest.mark.parametrize("cell", ["rnn_tanh", "lstm", "gru"])
@pytest.mark.parametrize("k", [1, 4])
def test_truncate_in_one_trace_equals_windowed_truncated_bptt(cell, k):
    """run(truncate=k) gives TBPTT(k, k)'s gradient (weights fixed) — the windowed engine.tbptt, itself
    checked against a detached torch graph — and no gradient crosses a window's first step."""
    from unrolled.engine.tbptt import truncated_gradients
    rng = np.random.default_rng(3)
    net = engine.Network.random(cell=cell, input_size=3, hidden_size=4, output_size=5, num_layers=2, seed=1)
    x, y = rng.standard_normal((10, 2, 3)), rng.integers(0, 5, (10, 2))
    trace = net.run(x, y, truncate=k)
    reference = truncated_gradients(net, x, y, k1=k, k2=k).grads
    for name, grad in reference.items():
        np.testing.assert_allclose(trace.grads[name], grad, rtol=1e-10, atol=1e-14, err_msg=name)
    last_only = np.full((10, 2), -100)
    last_only[-1] = y[-1]
    cut = net.run(x, last_only, truncate=k)
    reached = cut.gradient_norms["h_l0"] > 0
    window_start = 10 - (10 % k or k)
    assert reached[window_start:].all() and not reached[:window_start].any()
    with pytest.raises(ValueError, match="truncate"):
        net.run(x, y, truncate=0)


def test_elman_training_steps_along_the_elman_gradient():
    """TrainOptions(recurrent_gradient=False): the first update is plain SGD along run(recurrent_gradient=False)'s grads."""
    from unrolled.engine.train import Trainer, TrainOptions
    rng = np.random.default_rng(4)
    net = engine.Network.random(cell="rnn_tanh", input_size=3, hidden_size=4, output_size=3, seed=5)
    x, y = rng.standard_normal((8, 2, 3)), rng.integers(0, 3, (8, 2))
    trainer = Trainer(net, x, y, "cross_entropy", TrainOptions(epochs=1, optimizer="sgd", lr=0.1,
                                                                recurrent_gradient=False))
    trainer.run_epoch()
    expected = net.run(x, y, recurrent_gradient=False).grads
    for name, value in net.state_dict().items():
        np.testing.assert_allclose(trainer.net.state_dict()[name], value - 0.1 * expected[name], rtol=1e-12,
                                   atol=1e-14, err_msg=name)
