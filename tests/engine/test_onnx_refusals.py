"""What Network.from_onnx refuses, and how: a ValueError naming the node and attribute (or op type), the
file's problem, or exactly what to install."""
from __future__ import annotations

import sys

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from unrolled import engine
from unrolled.engine import onnx_graph

def lstm_model(extra_nodes=(), outputs=("Y",), **attrs) -> onnx.ModelProto:
    """X (T=4, B=2, I=3) → LSTM(H=5) named 'lstm' [→ extra nodes]; W, R, B initializers."""
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.normal(0, .3, shape).astype(np.float32), name)
             for name, shape in (("W", (1, 20, 3)), ("R", (1, 20, 5)), ("B", (1, 40)))]
    node = helper.make_node("LSTM", ["X", "W", "R", "B"], ["Y"], name="lstm", **{"hidden_size": 5, **attrs})
    graph = helper.make_graph([node, *extra_nodes], "g", [helper.make_tensor_value_info("X", 1, [4, 2, 3])],
                              [helper.make_tensor_value_info(o, 1, None) for o in outputs], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)])


def test_a_plain_lstm_model_reads():
    net = engine.Network.from_onnx(lstm_model())
    assert (net.cell, net.hidden_size, net.input_size, net.output_size) == ("lstm", 5, 3, 5)


def test_an_unknown_direction_is_refused_naming_node_and_attribute():
    with pytest.raises(ValueError, match=r"'lstm' \(LSTM\): attribute 'direction' = 'sideways'"):
        engine.Network.from_onnx(lstm_model(direction="sideways"))


@pytest.mark.parametrize("attrs, attribute", [
    (dict(clip=3.0), "clip"),
    (dict(activations=["Sigmoid", "Relu", "Tanh"]), "activations"),
    (dict(layout=2), "layout"),
    (dict(hidden_size=6), "hidden_size"),
])
def test_attributes_no_cell_computes_are_refused(attrs, attribute):
    model = lstm_model(**attrs)
    with pytest.raises(ValueError, match=rf"node 'lstm' \(LSTM\): attribute '{attribute}'"):
        engine.Network.from_onnx(model)


def test_an_unsupported_node_is_refused_naming_it_and_its_op_type():
    softmax = helper.make_node("Softmax", ["Y"], ["P"], name="probs")
    with pytest.raises(ValueError, match=r"node 'probs' \(Softmax\): op type Softmax is not supported"):
        engine.Network.from_onnx(lstm_model([softmax], outputs=("P",)))


def test_custom_domains_and_subgraphs_are_refused():
    custom = lstm_model([helper.make_node("Fancy", ["Y"], ["Z"], name="fancy", domain="com.example")], ("Z",))
    with pytest.raises(ValueError, match=r"node 'fancy' \(Fancy\) is from operator domain 'com.example'"):
        engine.Network.from_onnx(custom)
    branch = helper.make_graph([], "b", [], [])
    nested = lstm_model([helper.make_node("If", ["c"], ["Z"], name="if", then_branch=branch, else_branch=branch)])
    with pytest.raises(ValueError, match=r"node 'if' \(If\) has a subgraph"):
        engine.Network.from_onnx(nested)


def test_a_graph_without_recurrent_nodes_says_so():
    graph = helper.make_graph([helper.make_node("Relu", ["X"], ["Y"])], "g",
                              [helper.make_tensor_value_info("X", 1, [4, 2])], [helper.make_tensor_value_info("Y", 1, None)])
    with pytest.raises(ValueError, match="no RNN, GRU or LSTM node"):
        engine.Network.from_onnx(helper.make_model(graph))


def test_a_fixed_nonzero_initial_state_is_refused():
    model = lstm_model()
    model.graph.initializer.append(numpy_helper.from_array(np.ones((1, 2, 5), np.float32), "h0"))
    model.graph.node[0].input.extend(["", "h0"])
    with pytest.raises(ValueError, match=r"node 'lstm' \(LSTM\): input initial_h \('h0'\) must be a graph input"):
        engine.Network.from_onnx(model)


def test_malformed_and_too_large_files_are_refused(tmp_path):
    with pytest.raises(ValueError, match="not an ONNX model"):
        engine.Network.from_onnx(b"\x08\x07garbage that is no protobuf \xff\xff\xff")
    with pytest.raises(ValueError, match="not an ONNX model with a graph"):
        engine.Network.from_onnx(b"")
    data = lstm_model().SerializeToString()
    with pytest.raises(ValueError, match="the limit is"):
        engine.Network.from_onnx(data, max_bytes=len(data) - 1)
    path = tmp_path / "m.onnx"
    path.write_bytes(data)
    assert engine.Network.from_onnx(path).hidden_size == 5
    with pytest.raises(ValueError, match=r"m.onnx is .* MB; the limit is"):
        engine.Network.from_onnx(path, max_bytes=100)
    with pytest.raises(ValueError, match="no such ONNX file"):
        engine.Network.from_onnx(tmp_path / "missing.onnx")
    with pytest.raises(ValueError, match="must be a path, the bytes"):
        engine.Network.from_onnx(12)


def test_external_data_is_read_only_beside_the_model(tmp_path):
    model = lstm_model()
    onnx.save(model, tmp_path / "m.onnx", save_as_external_data=True, all_tensors_to_one_file=True,
              location="m.onnx.data", size_threshold=0)
    assert engine.Network.from_onnx(tmp_path / "m.onnx").hidden_size == 5
    with pytest.raises(ValueError, match="external file; send one self-contained file"):
        engine.Network.from_onnx((tmp_path / "m.onnx").read_bytes())
    outside = onnx.load(tmp_path / "m.onnx", load_external_data=False)
    for tensor in outside.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = "../m.onnx.data"
    (tmp_path / "sub").mkdir()
    onnx.save(outside, tmp_path / "sub" / "m.onnx")
    with pytest.raises(ValueError, match="is not a file beside the model"):
        engine.Network.from_onnx(tmp_path / "sub" / "m.onnx")


def test_too_many_nodes_are_refused(monkeypatch):
    monkeypatch.setattr(onnx_graph, "MAX_NODES", 1)
    identity = helper.make_node("Identity", ["Y"], ["Z"])
    with pytest.raises(ValueError, match="the graph has 2 nodes; the limit is 1"):
        engine.Network.from_onnx(lstm_model([identity], outputs=("Z",)))


def test_without_onnx_it_says_exactly_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError) as info:
        engine.Network.from_onnx(b"anything")
    assert str(info.value) == "opening an ONNX model needs the onnx package: pip install 'unrolled[onnx]'"


def test_layers_of_different_sizes_and_stray_outputs_are_refused():
    rng = np.random.default_rng(1)
    second = [numpy_helper.from_array(rng.normal(0, .3, s).astype(np.float32), n)
              for n, s in (("W2", (1, 24, 5)), ("R2", (1, 24, 6)))]
    nodes = [helper.make_node("Squeeze", ["Y", "one"], ["S"], name="squeeze"),
             helper.make_node("LSTM", ["S", "W2", "R2"], ["Y2"], name="lstm2", hidden_size=6)]
    model = lstm_model(nodes, outputs=("Y2",))
    model.graph.initializer.extend([*second, numpy_helper.from_array(np.array([1], np.int64), "one")])
    with pytest.raises(ValueError, match=r"same cell, hidden_size and direction; got node 'lstm' .*H=5.*H=6"):
        engine.Network.from_onnx(model)
    constant = lstm_model(outputs=("Y", "W"))
    with pytest.raises(ValueError, match="graph output 'W' is not a layer's output"):
        engine.Network.from_onnx(constant)


def test_weights_may_be_constant_nodes():
    model = lstm_model()
    W = model.graph.initializer[0]
    model.graph.initializer.remove(W)
    model.graph.node.insert(0, helper.make_node("Constant", [], ["W"], name="w", value=W))
    assert engine.Network.from_onnx(model).hidden_size == 5


def _varint(n: int) -> bytes:
    out = b""
    while True:
        out += bytes([(n & 0x7F) | (0x80 if n > 0x7F else 0)])
        n >>= 7
        if not n:
            return out


def _field(number: int, payload: bytes) -> bytes:
    """One length-delimited protobuf field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _nested_ifs(depth: int) -> bytes:
    """A ModelProto whose graph nests `depth` If nodes, each in the previous one's then_branch, written by
    hand (onnx.helper itself refuses deep nests). GraphProto.node = 1, NodeProto.op_type = 4,
    NodeProto.attribute = 5, AttributeProto.name = 1, .g = 6, .type = 20 (GRAPH = 5), ModelProto.graph = 7."""
    graph = b""
    for _ in range(depth):
        attribute = _field(1, b"then_branch") + _field(6, graph) + _varint(20 << 3) + _varint(5)
        graph = _field(1, _field(4, b"If") + _field(5, attribute))
    return _field(7, graph)


def test_nested_subgraphs_are_refused_and_a_deep_nest_stops_in_the_parser():
    with pytest.raises(ValueError, match=r"node '#0' \(If\) has a subgraph \(attribute 'then_branch'\)"):
        engine.Network.from_onnx(_nested_ifs(10))
    with pytest.raises(ValueError, match="not an ONNX model \\(the protobuf does not parse.*[Dd]epth"):
        engine.Network.from_onnx(_nested_ifs(300))
