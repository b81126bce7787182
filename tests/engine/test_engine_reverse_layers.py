"""Layers that run only in reverse (Architecture.reverse_layers; ONNX's direction="reverse").

Such a layer reads x_{T−1} first and ends at t = 0: it is a forward layer run on the time-flipped
input, with its outputs flipped back. The torch oracle (torch_reference, every step its own tensor)
runs exactly that on flipped inputs and targets, so the engine's records must equal the oracle's
flipped, step by step; a mixed stack (forward layer 0, reverse layer 1) is checked against
nn.RNN/LSTM/GRU modules. Events, saving and loading, and the refusals of what needs a forward state.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from unrolled import engine
from unrolled.engine.params import Architecture
from engine_cases import assert_rel, assert_steps, assert_traces_equal
from torch_reference import random_state_dict, reference_run

T, B, I, H, O = 6, 3, 4, 5, 3


def reversed_names(state: dict[str, np.ndarray], layers) -> dict[str, np.ndarray]:
    """`state` with the weights of `layers` renamed _l{k} → _l{k}_reverse."""
    out = {}
    for name, value in state.items():
        k = name.rsplit("_l", 1)[-1]
        out[f"{name}_reverse" if k.isdigit() and int(k) in layers else name] = value
    return out


def data(seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(0, 1, (T, B, I)), rng.normal(0, 1, (T, B, O))


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("cell", ["rnn_tanh", "lstm", "gru"])
def test_reverse_only_layers_equal_the_torch_oracle_on_flipped_input(cell, layers):
    state = random_state_dict(cell, I, H, O, layers, False, seed=7)
    net = engine.Network.from_state_dict(reversed_names(state, range(layers)), cell=cell)
    assert net.arch.reverse_layers == tuple(range(layers)) and not net.bidirectional
    assert net.node_names == [f"h_l{k}_reverse" for k in range(layers)]
    x, y = data()
    trace = net.run(x, y, loss="mse")
    ref = reference_run(state, cell, layers, False, x[::-1].copy(), y[::-1].copy(), loss="mse",
                        with_jacobians=False, with_flow=False)
    assert_rel(trace.loss, ref.loss, "loss", tol=1e-12)
    assert_steps(trace.loss_t, ref.loss_t[::-1], "loss_t", tol=1e-12)
    for name, grad in ref.grads.items():
        assert_rel(trace.grads[reversed_names({name: 0}, range(layers)).popitem()[0]], grad, name, tol=1e-9)
    for k in range(layers):
        for kind in ("h", "c"):
            if f"{kind}_l{k}" in ref.activations:
                ours = f"{kind}_l{k}_reverse"
                assert_steps(trace.activations[ours], ref.activations[f"{kind}_l{k}"][::-1], ours, tol=1e-12)
                assert_steps(trace.gradients[ours], ref.gradients[f"{kind}_l{k}"][::-1], f"∂L/∂{ours}")
    assert_steps(trace.gradients["logits"], ref.gradients["logits"][::-1], "∂L/∂logits")


def test_a_mixed_stack_equals_torch_modules_forward_below_reverse_above():
    cell, modules = "lstm", torch.nn.LSTM
    state = random_state_dict(cell, I, H, O, 2, False, seed=11)
    net = engine.Network.from_state_dict(reversed_names(state, [1]), cell=cell)
    assert net.arch.reverse_layers == (1,) and net.node_names == ["h_l0", "h_l1_reverse"]
    x, y = data(5)
    trace = net.run(x, y, loss="mse")

    torch.manual_seed(0)
    below, above = modules(I, H).double(), modules(H, H).double()
    head = torch.nn.Linear(H, O).double()
    with torch.no_grad():
        for layer, module in ((0, below), (1, above)):
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(module, f"{name}_l0").copy_(torch.tensor(state[f"{name}_l{layer}"]))
        head.weight.copy_(torch.tensor(state["head.weight"]))
        head.bias.copy_(torch.tensor(state["head.bias"]))
    h0, _ = below(torch.tensor(x))
    h1, _ = above(torch.flip(h0, [0]))                    # the reverse layer: torch's layer on the flipped sequence
    o = head(torch.flip(h1, [0]))
    loss = ((o - torch.tensor(y)) ** 2).mean(dim=(1, 2)).sum()
    loss.backward()
    assert_rel(trace.loss, loss.item(), "loss", tol=1e-12)
    for layer, module in ((0, below), (1, above)):
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            ours = f"{name}_l{layer}{'_reverse' if layer else ''}"
            assert_rel(trace.grads[ours], getattr(module, f"{name}_l0").grad.numpy(), ours, tol=1e-9)
    assert_rel(trace.grads["head.weight"], head.weight.grad.numpy(), "head.weight", tol=1e-9)


def test_events_run_the_reverse_layer_backward_in_time_and_replay_equals_the_run(tmp_path):
    net = engine.Network.random("gru", I, H, O, num_layers=2, reverse_layers=(1,), seed=2)
    x, y = data()
    run = net.steps(x, y, loss="mse")
    live = [(e.phase, e.node, e.t, e.direction) for e in run]
    trace = run.trace
    assert len(live) == trace.event_count == trace.schedule["total"]
    forward_top = [(t, d) for phase, node, t, d in live if phase == "forward" and node == "h_l1_reverse"]
    backward_top = [t for phase, node, t, _ in live if phase == "backward" and node == "h_l1_reverse"]
    assert forward_top == [(t, 1) for t in range(T - 1, -1, -1)]       # direction 1: it runs in reverse
    assert backward_top == list(range(T))
    assert [e[:3] for e in live if e[1] == "h_l0" and e[0] == "forward"] == [("forward", "h_l0", t) for t in range(T)]
    assert live == [(e.phase, e.node, e.t, e.direction) for e in trace.events()]

    path = tmp_path / "reverse.npz"
    trace.save(path)
    loaded = engine.load_trace(path)
    assert loaded.arch == trace.arch and loaded.reverse_layers == (1,)
    assert_traces_equal(loaded, trace)
    assert [(e.node, e.t) for e in loaded.events()] == [(e[1], e[2]) for e in live]
    np.testing.assert_array_equal(loaded.jacobian_norms["h_l1_reverse"], trace.jacobian_norms["h_l1_reverse"])
    assert np.isnan(trace.jacobian_norms["h_l1_reverse"][T - 1])          # its first processed step


def test_what_needs_a_forward_state_is_refused_and_bad_reverse_layers_are_named():
    net = engine.Network.random("rnn_tanh", I, H, O, reverse_layers=(0,))
    x, y = data()
    with pytest.raises(ValueError, match="unidirectional"):
        net.run(x, y, loss="mse", truncate=2)
    with pytest.raises(ValueError, match="reverse_layers"):
        Architecture("rnn_tanh", I, H, O, 1, True, reverse_layers=(0,))
    with pytest.raises(ValueError, match="reverse_layers"):
        Architecture("rnn_tanh", I, H, O, 2, False, reverse_layers=(2,))
