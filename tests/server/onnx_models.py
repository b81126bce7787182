"""Small ONNX models built with onnx.helper the way exporters write them, for the server and browser tests."""

from __future__ import annotations

import numpy as np
from onnx import helper, numpy_helper

I, H, O, T, B = 3, 4, 5, 6, 2


def gru_onnx(batch_first: bool = True, extra: dict | None = None, tail=()) -> bytes:
    """X → GRU (layout 1 when batch_first, linear_before_reset 1) → Squeeze → MatMul → Add."""
    weights = {"W": (1, 3 * H, I), "R": (1, 3 * H, H), "B": (1, 6 * H), "V": (H, O), "c": (O,)}
    rng = np.random.default_rng(1)              # the same weights on every call
    inits = [numpy_helper.from_array(rng.normal(0, .4, s).astype(np.float32), n) for n, s in weights.items()]
    inits.append(numpy_helper.from_array(np.array([2 if batch_first else 1], np.int64), "axis"))
    nodes = [helper.make_node("GRU", ["X", "W", "R", "B"], ["Y"], name="gru", hidden_size=H,
                              linear_before_reset=1, layout=int(batch_first), **(extra or {})),
             helper.make_node("Squeeze", ["Y", "axis"], ["S"], name="squeeze"),
             helper.make_node("MatMul", ["S", "V"], ["M"], name="matmul"),
             helper.make_node("Add", ["M", "c"], ["logits"], name="bias"), *tail]
    out = tail[-1].output[0] if tail else "logits"
    shape = [B, T, I] if batch_first else [T, B, I]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("X", 1, shape)],
                              [helper.make_tensor_value_info(out, 1, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)]).SerializeToString()




VOCAB = 7


def token_lstm_onnx() -> bytes:
    """Token ids X (T, B) → Gather (VOCAB × I) → LSTM (sequence_lens an input) → Squeeze → Gemm-free MatMul → Add."""
    rng = np.random.default_rng(2)
    weights = {"E": (VOCAB, I), "W": (1, 4 * H, I), "R": (1, 4 * H, H), "B": (1, 8 * H), "V": (H, O), "c": (O,)}
    inits = [numpy_helper.from_array(rng.normal(0, .4, s).astype(np.float32), n) for n, s in weights.items()]
    inits.append(numpy_helper.from_array(np.array([1], np.int64), "axis"))
    nodes = [helper.make_node("Gather", ["E", "X"], ["emb"], name="embedding"),
             helper.make_node("LSTM", ["emb", "W", "R", "B", "lens"], ["Y"], name="lstm", hidden_size=H),
             helper.make_node("Squeeze", ["Y", "axis"], ["S"], name="squeeze"),
             helper.make_node("MatMul", ["S", "V"], ["M"], name="matmul"),
             helper.make_node("Add", ["M", "c"], ["logits"], name="bias")]
    inputs = [helper.make_tensor_value_info("X", 7, [T, B]), helper.make_tensor_value_info("lens", 6, [B])]
    graph = helper.make_graph(nodes, "g", inputs, [helper.make_tensor_value_info("logits", 1, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)]).SerializeToString()
