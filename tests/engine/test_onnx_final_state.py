"""An ONNX classifier on the final states — `head(cat(h_n[-2], h_n[-1]))`, exported by torch.onnx.export
(Y_h → Concat → Gather → Concat → Gemm) or made by hand (Y sliced at the last step, sequence_lens) —
loads as readout="final_state" and equals torch float64: the loss, every parameter gradient (against
torch autograd of the exported module) and ∂L/∂h at every step against its own scale (the step-by-step
torch oracle), plus central finite differences. A head on the final states in another arrangement is a
ValueError naming the node."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from onnx import helper, numpy_helper

from engine_cases import assert_rel, assert_steps
from test_onnx_export import export
from test_onnx_lengths import onnx_of
from torch_readout import oracle
from unrolled import engine
from unrolled.engine.gradcheck import compare_numeric
from unrolled.engine.onnx_feeds import run_arguments

T, B, I, H, O = 6, 3, 3, 4, 5


class Classifier(torch.nn.Module):
    """A recurrent module read at h_n: fc(cat(h_n[-2], h_n[-1])) (bidirectional) or fc(h_n[-1])."""

    def __init__(self, kind: str, layers: int, bidirectional: bool, batch_first: bool = False) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.rnn = getattr(torch.nn, kind)(I, H, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first)
        self.fc = torch.nn.Linear(H * (2 if bidirectional else 1), O)

    def forward(self, x):
        _, h_n = self.rnn(x)
        h_n = h_n[0] if isinstance(h_n, tuple) else h_n
        return self.fc(torch.cat([h_n[-2], h_n[-1]], dim=1) if self.rnn.bidirectional else h_n[-1])


CASES = {   # name: (kind, layers, bidirectional, batch_first, dynamo)
    "gru-bi-2": ("GRU", 2, True, False, True),
    "lstm-uni-1": ("LSTM", 1, False, False, True),
    "lstm-bi-1": ("LSTM", 1, True, False, True),
    "lstm-uni-2": ("LSTM", 2, False, False, True),
    "gru-bi-batch-first": ("GRU", 1, True, True, True),
    "rnn-bi-2": ("RNN", 2, True, False, False),       # dynamo=True unrolls nn.RNN: the legacy exporter
}


@pytest.mark.parametrize("name", list(CASES))
def test_exported_classifier_on_h_n_is_final_state_and_equals_torch(name):
    kind, layers, bidirectional, batch_first, dynamo = CASES[name]
    module = Classifier(kind, layers, bidirectional, batch_first)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(B, T, I) if batch_first else (T, B, I))
    y = np.array([2, 0, 4])
    net = engine.Network.from_onnx(export(module, torch.tensor(x, dtype=torch.float32), dynamo))
    assert net.arch.readout == "final_state"
    assert (net.num_layers, net.bidirectional, net.batch_first) == (layers, bidirectional, batch_first)
    trace = net.run(x, y)

    reference = module.double()                       # the exported float32 weights, exactly
    logits = reference(torch.tensor(x))
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor(y))
    loss.backward()
    assert_rel(trace.loss, loss.item(), "loss")
    assert_rel(trace.activations["logits"][-1], logits.detach().numpy(), "logits")
    for pname, p in reference.named_parameters():
        key = pname.replace("rnn.", "").replace("fc.", "head.")
        assert_rel(trace.grads[key], p.grad.numpy(), key)

    time_first = np.swapaxes(x, 0, 1) if batch_first else x
    ref = oracle(net.state_dict(), net.cell, layers, bidirectional, time_first, y, "cross_entropy",
                 readout="final_state")
    for node, dh in ref.dh.items():
        assert_steps(trace.gradients[node], dh, f"∂L/∂{node}")


def _with_head(model, nodes: list, inits: dict[str, np.ndarray]):
    """`model` with `nodes` appended (their last output is the graph's one output) and `inits` added."""
    model.graph.node.extend(nodes)
    model.graph.initializer.extend(numpy_helper.from_array(v, k) for k, v in inits.items())
    del model.graph.output[:]
    model.graph.output.append(helper.make_tensor_value_info(nodes[-1].output[0], 11, None))
    return model


def _fc(rng) -> dict[str, np.ndarray]:
    return {"fc_w": rng.normal(size=(O, 2 * H)), "fc_b": rng.normal(size=O), "i0": np.array(0), "i1": np.array(1)}


def _padded_lstm_with_h_n_head(rng):
    """A bidirectional LSTM node with sequence_lens, read at Y_h: Gemm(cat(Y_h[0], Y_h[1]))."""
    torch.manual_seed(3)
    lstm = torch.nn.LSTM(2, H, bidirectional=True, dtype=torch.float64)
    nodes = [helper.make_node("Gather", ["Y_h", "i0"], ["fwd"], name="h_n_fwd", axis=0),
             helper.make_node("Gather", ["Y_h", "i1"], ["rev"], name="h_n_rev", axis=0),
             helper.make_node("Concat", ["fwd", "rev"], ["cat"], name="cat", axis=1),
             helper.make_node("Gemm", ["cat", "fc_w", "fc_b"], ["logits"], name="fc", transB=1)]
    return lstm, _with_head(onnx_of(lstm), nodes, _fc(rng))


def test_padded_graph_reads_y_h_at_each_sequences_last_real_step():
    rng = np.random.default_rng(2)
    lstm, model = _padded_lstm_with_h_n_head(rng)
    net = engine.Network.from_onnx(model)
    assert net.arch.readout == "final_state" and net.onnx_signature.lengths == "lens"
    x, lengths, y = rng.normal(size=(T, B, 2)), np.array([T, 2, 4], dtype=np.int64), np.array([1, 3, 0])
    zeros = np.zeros((2, B, H))
    trace = net.run(targets=y, **run_arguments(net.onnx_signature, {"X": x, "lens": lengths, "h0": zeros, "c0": zeros}))

    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), torch.tensor(lengths), enforce_sorted=False)
    _, (h_n, _) = lstm(packed)
    fc_w = torch.tensor(net.state_dict()["head.weight"], requires_grad=True)
    logits = torch.cat([h_n[0], h_n[1]], dim=1) @ fc_w.T + torch.tensor(net.state_dict()["head.bias"])
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor(y))
    loss.backward()
    assert_rel(trace.loss, loss.item(), "loss")
    assert_rel(trace.grads["head.weight"], fc_w.grad.numpy(), "head.weight")
    for pname, p in lstm.named_parameters():
        assert_rel(trace.grads[pname], p.grad.numpy(), pname)
    ref = oracle(net.state_dict(), "lstm", 1, True, x, y, "cross_entropy", lengths, "final_state")
    for node, dh in ref.dh.items():
        assert_steps(trace.gradients[node], dh, f"∂L/∂{node}")

    run = lambda state: net.with_state(state).run(x, y, lengths=lengths)       # noqa: E731
    worst = compare_numeric(net.state_dict(), run(net.state_dict()).grads, lambda s: run(s).loss, 1e-3)
    assert max(worst.values()) < 1e-6, worst


def test_final_states_in_another_order_are_refused_naming_the_node():
    rng = np.random.default_rng(4)
    _, model = _padded_lstm_with_h_n_head(rng)
    model.graph.node[-2].input[:] = ["rev", "fwd"]               # cat(h_n[-1], h_n[-2]): reverse first
    with pytest.raises(ValueError, match=r"node 'fc' \(Gemm\): the head reads the layers' final states \(Y_h\) as "
                                         r"something other than the last layer's cat\(h_n\[-2\], h_n\[-1\]\)"):
        engine.Network.from_onnx(model)


def test_y_at_the_last_step_of_a_padded_batch_is_refused_naming_the_node():
    """Y[T − 1] is padding for a shorter sequence: with sequence_lens the reader asks for Y_h."""
    torch.manual_seed(5)
    model = onnx_of(torch.nn.LSTM(2, H, bidirectional=True, dtype=torch.float64))
    rng = np.random.default_rng(6)
    inits = {**_fc(rng), "last": np.array(T - 1), "perm_bh": np.array([0, 2, 1, 3]), "shape": np.array([T, B, 2 * H])}
    nodes = [helper.make_node("Transpose", ["Y"], ["ybt"], name="to_tbdh", perm=[0, 2, 1, 3]),
             helper.make_node("Reshape", ["ybt", "shape"], ["out"], name="out"),
             helper.make_node("Gather", ["out", "last"], ["out_last"], name="out_last", axis=0),
             helper.make_node("Gather", ["out", "i0"], ["out_first"], name="out_first", axis=0),
             helper.make_node("Slice", ["out_last", "s0", "sH", "ax1"], ["fwd"], name="fwd_half"),
             helper.make_node("Slice", ["out_first", "sH", "s2H", "ax1"], ["rev"], name="rev_half"),
             helper.make_node("Concat", ["fwd", "rev"], ["cat"], name="cat", axis=1),
             helper.make_node("Gemm", ["cat", "fc_w", "fc_b"], ["logits"], name="fc", transB=1)]
    inits.update({"s0": np.array([0]), "sH": np.array([H]), "s2H": np.array([2 * H]), "ax1": np.array([1])})
    with pytest.raises(ValueError, match=r"node 'fc' \(Gemm\) reads the recurrent output Y at its last step, which "
                                         r"is padding .*read the final states from Y_h"):
        engine.Network.from_onnx(_with_head(model, nodes, inits))
    del model.graph.input[1]                                           # no sequence_lens: Y's ends are the final states
    model.graph.node[0].input[4] = ""
    net = engine.Network.from_onnx(model)
    assert net.arch.readout == "final_state"
