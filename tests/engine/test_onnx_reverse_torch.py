"""ONNX's reverse-only conformance cases (test_simple_rnn_reverse, test_gru_reverse, test_lstm_reverse)
against torch autograd: a reverse-only layer is a forward layer run on the time-flipped input.

The torch side writes each cell step with its own equations (ONNX's GRU default linear_before_reset = 0
applies the reset before the product, which nn.GRU does not), keeps every h_t (and c_t) as its own tensor
and reads the total ∂L/∂h_t off its .grad; the engine's ∂L/∂h_t, ∂L/∂c_t and ∂L/∂h(−1) (here the state
h(T) the reverse layer starts from) must agree per timestep, each against its own scale.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from unrolled import engine
from unrolled.engine.onnx_feeds import run_arguments
from engine_cases import assert_rel, assert_steps
from onnx_cases import conformance_cases, feeds, targets_for

REVERSE = {c.name: c for c in conformance_cases() if c.attrs.get("direction") == b"reverse"}


def torch_step(cell: str, x, h, c, p: dict):
    """One step of `cell` in torch's gate order (the engine's): (h_t, c_t or None)."""
    a = x @ p["weight_ih"].T + p["bias_ih"]
    if cell == "rnn_tanh":
        return torch.tanh(a + h @ p["weight_hh"].T + p["bias_hh"]), None
    if cell == "lstm":
        i, f, g, o = (a + h @ p["weight_hh"].T + p["bias_hh"]).chunk(4, dim=-1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c
    assert cell == "gru_reset_before"
    ar, az, an = a.chunk(3, dim=-1)
    w_r, w_z, w_n = p["weight_hh"].chunk(3, dim=0)
    b_r, b_z, b_n = p["bias_hh"].chunk(3, dim=0)
    r = torch.sigmoid(ar + h @ w_r.T + b_r)
    z = torch.sigmoid(az + h @ w_z.T + b_z)
    n = torch.tanh(an + (r * h) @ w_n.T + b_n)                 # the reset before the product
    return (1 - z) * n + z * h, None


@pytest.mark.parametrize("name", sorted(REVERSE))
def test_reverse_conformance_gradients_equal_torch_on_the_flipped_sequence(name):
    case = REVERSE[name]
    net = engine.Network.from_onnx(case.model())
    assert net.node_names == ["h_l0_reverse"] and net.arch.reverse_layers == (0,)
    args = run_arguments(net.onnx_signature, feeds(case))
    x = np.asarray(args["x"], dtype=np.float64)
    T, B = x.shape[:2]
    rng = np.random.default_rng(4)
    states = net.cell_impl.states
    initial = {f"{s}_l0_reverse": rng.normal(0, 0.5, (B, net.hidden_size)) for s in states}
    targets = targets_for(net, x)
    trace = net.run(x, targets, loss="mse", initial_state=initial)

    p = {k[:-len("_l0_reverse")]: torch.tensor(v, requires_grad=True)
         for k, v in net.state_dict().items() if k.endswith("_l0_reverse")}
    head_w, head_b = (torch.tensor(net.state_dict()[k], requires_grad=True) for k in ("head.weight", "head.bias"))
    h0 = torch.tensor(initial["h_l0_reverse"], requires_grad=True)
    c0 = torch.tensor(initial["c_l0_reverse"], requires_grad=True) if "c" in states else None
    h, c, hs, cs = h0, c0, [None] * T, [None] * T
    for t in range(T - 1, -1, -1):                            # the flipped sequence, read forward
        h, c = torch_step(net.cell, torch.tensor(x[t]), h, c, p)
        h.retain_grad()
        hs[t] = h
        if c is not None:
            c.retain_grad()
            cs[t] = c
    loss = sum(((hs[t] @ head_w.T + head_b - torch.tensor(targets[t])) ** 2).mean() for t in range(T))
    loss.backward()

    assert_rel(trace.loss, loss.item(), "loss", tol=1e-12)
    assert_steps(trace.activations["h_l0_reverse"], np.stack([v.detach().numpy() for v in hs]), "h", tol=1e-12)
    assert_steps(trace.gradients["h_l0_reverse"], np.stack([v.grad.numpy() for v in hs]), "∂L/∂h_t")
    if c0 is not None:
        assert_steps(trace.gradients["c_l0_reverse"], np.stack([v.grad.numpy() for v in cs]), "∂L/∂c_t")
        assert_rel(trace.initial_state_grads["c_l0_reverse"], c0.grad.numpy(), "∂L/∂c(T)")
    assert_rel(trace.initial_state_grads["h_l0_reverse"], h0.grad.numpy(), "∂L/∂h(T)")
    for name, value in p.items():
        assert_rel(trace.grads[f"{name}_l0_reverse"], value.grad.numpy(), name, tol=1e-9)
