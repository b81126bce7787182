"""The lectures' cells reached from ONNX attributes beyond the conformance cases: peepholes in both
directions (→ lstm_peephole), the GRU's linear_before_reset = 0 stacked and bidirectional
(→ gru_reset_before), and input_forget = 1 (→ lstm_coupled, the runtimes' f = 1 − i)."""
from __future__ import annotations

import numpy as np
import pytest
from onnx import helper, numpy_helper
from onnx.backend.test.case.node.gru import GRUHelper
from onnx.backend.test.case.node.lstm import LSTMHelper

from unrolled import engine

T, B, I, H = 5, 3, 2, 4


def one_node(op: str, weights: dict[str, np.ndarray], layout: int = 0, **attrs):
    """A one-node model X → op → Y with the weights as initializers."""
    names = ["X", "W", "R", "B", "", "", "", "P"] if op == "LSTM" else ["X", "W", "R", "B"]
    names = [n if n in weights or n == "X" else "" for n in names]
    node = helper.make_node(op, names, ["Y"], name="layer", hidden_size=H, layout=layout, **attrs)
    shape = [B, T, I] if layout else [T, B, I]
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("X", 11, shape)],
                              [helper.make_tensor_value_info("Y", 11, None)],
                              [numpy_helper.from_array(v, k) for k, v in weights.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)])


def engine_y(net: engine.Network, x: np.ndarray) -> np.ndarray:
    """Y (T, D, B, H) of a one-layer network."""
    trace = net.run(x, np.zeros(x.shape[:2], dtype=int))
    return np.stack([trace.activations[n] for n in net.node_names], axis=1)


def weights(gates: int, D: int, rng, peepholes: bool = False) -> dict[str, np.ndarray]:
    out = {"W": rng.normal(0, .6, (D, gates * H, I)), "R": rng.normal(0, .6, (D, gates * H, H)),
           "B": rng.normal(0, .3, (D, 2 * gates * H))}
    if peepholes:
        out["P"] = rng.normal(0, .5, (D, 3 * H))
    return out


def test_bidirectional_peepholes_match_onnx_reference():
    rng = np.random.default_rng(0)
    w = weights(4, 2, rng, peepholes=True)
    x = rng.standard_normal((T, B, I))
    net = engine.Network.from_onnx(one_node("LSTM", w, direction="bidirectional"))
    assert net.cell == "lstm_peephole" and net.bidirectional
    expected = LSTMHelper(X=x, direction="bidirectional", **w).step()[0]
    np.testing.assert_allclose(engine_y(net, x), expected, rtol=1e-12, atol=1e-14)


def test_reset_before_gru_batchwise_bidirectional_matches_onnx_reference():
    rng = np.random.default_rng(1)
    w = weights(3, 2, rng)
    x_bf = rng.standard_normal((B, T, I))
    net = engine.Network.from_onnx(one_node("GRU", w, layout=1, direction="bidirectional", linear_before_reset=0))
    assert net.cell == "gru_reset_before" and net.batch_first
    expected = GRUHelper(X=x_bf, layout=1, direction="bidirectional", linear_before_reset=0, **w).step()[0]
    got = engine_y(net, x_bf)                                      # (T, D, B, H); ONNX layout 1: (B, T, D, H)
    np.testing.assert_allclose(np.transpose(got, (2, 0, 1, 3)), expected, rtol=1e-12, atol=1e-14)


def coupled_reference(x: np.ndarray, W: np.ndarray, R: np.ndarray, Bias: np.ndarray) -> np.ndarray:
    """ONNX LSTM with input_forget = 1 as onnxruntime computes it: f = 1 − i (the f rows unused)."""
    sig = lambda a: 1 / (1 + np.exp(-a))
    h, c, ys = np.zeros((B, H)), np.zeros((B, H)), []
    for x_t in x:
        a = x_t @ W[0].T + h @ R[0].T + Bias[0, :4 * H] + Bias[0, 4 * H:]
        i, o, _, g = np.split(a, 4, axis=-1)
        i = sig(i)
        c = (1 - i) * c + i * np.tanh(g)
        h = sig(o) * np.tanh(c)
        ys.append(h)
    return np.stack(ys)[:, None]


def test_input_forget_reads_as_the_coupled_lstm():
    rng = np.random.default_rng(2)
    w = weights(4, 1, rng)
    x = rng.standard_normal((T, B, I))
    net = engine.Network.from_onnx(one_node("LSTM", w, input_forget=1))
    assert net.cell == "lstm_coupled"
    np.testing.assert_allclose(engine_y(net, x), coupled_reference(x, w["W"], w["R"], w["B"]), rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match=r"attribute 'input_forget' = 1 .* together with peepholes"):
        engine.Network.from_onnx(one_node("LSTM", weights(4, 1, rng, peepholes=True), input_forget=1))


def test_zero_peepholes_read_as_the_plain_lstm():
    w = weights(4, 1, np.random.default_rng(3))
    w["P"] = np.zeros((1, 3 * H))
    assert engine.Network.from_onnx(one_node("LSTM", w)).cell == "lstm"
