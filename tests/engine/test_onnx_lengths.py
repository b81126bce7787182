"""An ONNX graph's sequence_lens, initial_h and initial_c stay graph inputs and become run(lengths=,
initial_state=): a padded batch through a bidirectional LSTM equals torch's pack_padded_sequence
(onnx's reference evaluator ignores sequence_lens, so torch is the reference here)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from onnx import helper, numpy_helper

from unrolled import engine
from unrolled.engine.onnx_feeds import run_arguments

T, B, I, H = 6, 3, 2, 4
TORCH_TO_ONNX = [0, 3, 1, 2]          # torch's LSTM blocks i, f, g, o → ONNX's i, o, f, c


def to_onnx_blocks(a: np.ndarray) -> np.ndarray:
    blocks = np.split(a, 4, axis=0)
    return np.concatenate([blocks[i] for i in TORCH_TO_ONNX], axis=0)


def onnx_of(lstm: torch.nn.LSTM, layout: int = 0):
    """One LSTM node with the torch module's weights; X, sequence_lens, initial_h, initial_c are inputs."""
    sd = {k: v.detach().numpy() for k, v in lstm.state_dict().items()}
    suffixes = ["_l0", "_l0_reverse"]
    W = np.stack([to_onnx_blocks(sd["weight_ih" + s]) for s in suffixes])
    R = np.stack([to_onnx_blocks(sd["weight_hh" + s]) for s in suffixes])
    Bias = np.stack([np.concatenate([to_onnx_blocks(sd["bias_ih" + s]), to_onnx_blocks(sd["bias_hh" + s])])
                     for s in suffixes])
    node = helper.make_node("LSTM", ["X", "W", "R", "B", "lens", "h0", "c0"], ["Y", "Y_h", "Y_c"], name="lstm",
                            hidden_size=H, direction="bidirectional", layout=layout)
    x_shape, s_shape = ([B, T, I], [B, 2, H]) if layout else ([T, B, I], [2, B, H])
    inputs = [helper.make_tensor_value_info("X", 11, x_shape), helper.make_tensor_value_info("lens", 6, [B]),
              helper.make_tensor_value_info("h0", 11, s_shape), helper.make_tensor_value_info("c0", 11, s_shape)]
    outputs = [helper.make_tensor_value_info(n, 11, None) for n in ("Y", "Y_h", "Y_c")]
    inits = [numpy_helper.from_array(v, k) for k, v in (("W", W), ("R", R), ("B", Bias))]
    return helper.make_model(helper.make_graph([node], "g", inputs, outputs, inits),
                             opset_imports=[helper.make_opsetid("", 22)])


@pytest.mark.parametrize("layout", [0, 1])
def test_sequence_lens_and_initial_states_equal_torch_packed(layout):
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(I, H, bidirectional=True, dtype=torch.float64)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((T, B, I))
    lengths = np.array([T, 3, 1], dtype=np.int32)
    h0, c0 = rng.normal(0, .5, (2, B, H)), rng.normal(0, .5, (2, B, H))

    net = engine.Network.from_onnx(onnx_of(lstm, layout))
    sig = net.onnx_signature
    assert (sig.lengths, set(sig.initial), net.batch_first) == ("lens", {"h0", "c0"}, bool(layout))
    swap = (lambda a: np.swapaxes(a, 0, 1)) if layout else (lambda a: a)
    args = run_arguments(sig, {"X": swap(x), "lens": lengths, "h0": swap(h0), "c0": swap(c0)})
    trace = net.run(targets=np.zeros((B, T) if layout else (T, B), dtype=int), **args)

    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), torch.tensor(lengths), enforce_sorted=False)
    out, (h_n, c_n) = lstm(packed, (torch.tensor(h0), torch.tensor(c0)))
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=T)
    out = out.detach().numpy()
    np.testing.assert_allclose(trace.activations["h_l0"], out[..., :H], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(trace.activations["h_l0_reverse"], out[..., H:], rtol=1e-12, atol=1e-14)
    last = trace.activations["h_l0"][lengths - 1, np.arange(B)]
    np.testing.assert_allclose(last, h_n[0].detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(trace.activations["h_l0_reverse"][0], h_n[1].detach().numpy(), rtol=1e-12, atol=1e-14)


def test_run_arguments_refuse_unknown_inputs():
    net = engine.Network.from_onnx(onnx_of(torch.nn.LSTM(I, H, bidirectional=True)))
    with pytest.raises(ValueError, match="unknown graph input 'h1'; the model reads X, c0, h0, lens"):
        run_arguments(net.onnx_signature, {"X": np.zeros((T, B, I)), "h1": np.zeros((2, B, H))})
    with pytest.raises(ValueError, match="the sequence input 'X' is missing"):
        run_arguments(net.onnx_signature, {"lens": np.ones(B)})
