"""ONNX's own RNN / GRU / LSTM conformance cases, each as a one-node model read by Network.from_onnx.

Every case must give ONNX's expected Y, Y_h, Y_c (float32 in the generators: to 1e-6; recomputed in
float64 by the generators' own helpers: to 1e-12), and ∂L/∂h(−1) (and ∂L/∂c(−1)) must equal central
finite differences. Cases with only a reverse direction read as reverse-only layers (node h_l0_reverse).
"""
from __future__ import annotations

import numpy as np
import pytest

from unrolled import engine
from onnx_cases import Case, conformance_cases, expected_float64, feeds, max_error, run_case, targets_for
from unrolled.engine.onnx_feeds import run_arguments

CASES = conformance_cases()
READ = CASES                 # every case is read: forward, reverse-only and bidirectional


def test_the_generators_give_all_eighteen_cases():
    names = {c.name for c in CASES}
    assert len(CASES) == 18 and len(names) == 18
    assert {"test_lstm_with_peepholes", "test_gru_batchwise", "test_simple_rnn_bidirectional"} <= names


@pytest.mark.parametrize("case", READ, ids=[c.name for c in READ])
def test_conformance_outputs(case: Case):
    net, trace, args, outputs = run_case(case)
    assert set(case.expected) <= set(outputs)
    for name, expected in case.expected.items():
        assert outputs[name].shape == expected.shape, name
    assert max_error(case, outputs) <= 1e-6
    lengths = args.get("lengths")
    if lengths is None or np.all(lengths == trace.T):
        for name, expected in expected_float64(case).items():
            np.testing.assert_allclose(outputs[name], expected, rtol=1e-12, atol=1e-14, err_msg=name)


@pytest.mark.parametrize("case", READ, ids=[c.name for c in READ])
def test_conformance_initial_state_gradient_equals_finite_differences(case: Case):
    net = engine.Network.from_onnx(case.model())
    args = run_arguments(net.onnx_signature, feeds(case))
    B = np.shape(args["x"])[0 if net.batch_first else 1]
    rng = np.random.default_rng(1)
    initial = {state + n[1:]: rng.normal(0, 0.5, (B, net.hidden_size))
               for n in net.node_names for state in net.cell_impl.states}
    args["initial_state"] = initial
    targets = targets_for(net, args["x"])
    trace = net.run(targets=targets, loss="mse", **args)
    assert set(trace.initial_state_grads) == set(initial)

    def loss_of(state):
        return net.run(targets=targets, loss="mse", contributions=False, **{**args, "initial_state": state}).loss

    # relative 1e-7, with an absolute floor at the difference quotient's rounding (≈ 1e-16·L / ε):
    # the reverse direction of a saturated LSTM gets gradients near 1e-10
    floor = 1e-10 * (1.0 + abs(trace.loss))
    for name, numeric in central_differences(initial, loss_of, eps=1e-4).items():
        np.testing.assert_allclose(trace.initial_state_grads[name], numeric, rtol=1e-7, atol=floor, err_msg=name)


def central_differences(state: dict[str, np.ndarray], loss_of, eps: float) -> dict[str, np.ndarray]:
    """∂L/∂(each entry of state) by the fourth-order central difference (state restored afterwards)."""
    out = {}
    for name, value in state.items():
        numeric = np.zeros_like(value)
        for i in np.ndindex(value.shape):
            original = value[i]
            losses = []
            for step in (2, 1, -1, -2):
                value[i] = original + step * eps
                losses.append(loss_of(state))
            value[i] = original
            numeric[i] = (8 * (losses[1] - losses[2]) - (losses[0] - losses[3])) / (12 * eps)
        out[name] = numeric
    return out
