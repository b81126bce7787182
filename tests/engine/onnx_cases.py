"""ONNX's own conformance cases for RNN, GRU and LSTM, as one-node models, and the engine's answers to them.

The `onnx` wheel ships the generators of its backend tests (onnx/backend/test/case/node/{rnn,gru,lstm}.py):
each `export_*` method builds a node and its inputs, computes the expected outputs with ONNX's NumPy
reference and hands all of it to the module's `expect`. Replacing that `expect` collects the cases.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import helper, numpy_helper

from unrolled import engine
from unrolled.engine.onnx_feeds import run_arguments

WEIGHTS = ("W", "R", "B", "P")          # initializers; every other input stays a graph input


@dataclass
class Case:
    """One conformance case: the node, its inputs by name, the expected outputs by name."""

    name: str
    node: onnx.NodeProto
    inputs: dict[str, np.ndarray]
    expected: dict[str, np.ndarray]

    @property
    def attrs(self) -> dict:
        return {a.name: helper.get_attribute_value(a) for a in self.node.attribute}

    @property
    def layout(self) -> int:
        return self.attrs.get("layout", 0)

    def model(self) -> onnx.ModelProto:
        """The case as a one-node model: W, R, B, P initializers; X, sequence_lens, initial states inputs."""
        inits, inputs = [], []
        for name, value in self.inputs.items():
            if name in WEIGHTS:
                inits.append(numpy_helper.from_array(value, name))
            else:
                elem = helper.np_dtype_to_tensor_dtype(value.dtype)
                inputs.append(helper.make_tensor_value_info(name, elem, list(value.shape)))
        outputs = [helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, list(value.shape))
                   for name, value in self.expected.items()]
        graph = helper.make_graph([self.node], self.name, inputs, outputs, inits)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)])


def conformance_cases() -> list[Case]:
    """Every case of onnx's RNN, GRU and LSTM generators, in their order."""
    from onnx.backend.test.case.base import Base
    from onnx.backend.test.case.node import gru, lstm, rnn

    cases: list[Case] = []

    def expect(node, inputs, outputs, name, **_):
        names = [i for i in node.input]
        got = dict(zip([n for n in names if n], inputs))
        expected = dict(zip([n for n in node.output if n], outputs))
        cases.append(Case(name, node, got, expected))

    for module in (rnn, gru, lstm):
        original = module.expect
        module.expect = expect
        try:
            for cls in (v for v in vars(module).values() if inspect.isclass(v) and issubclass(v, Base) and v is not Base):
                for attr in sorted(n for n in vars(cls) if n.startswith("export")):
                    getattr(cls, attr)()
        finally:
            module.expect = original
    return cases


def feeds(case: Case) -> dict[str, np.ndarray]:
    """The graph inputs' values of a case."""
    return {k: v for k, v in case.inputs.items() if k not in WEIGHTS}


def targets_for(net: engine.Network, x: np.ndarray, seed: int = 0) -> np.ndarray:
    """Random mse targets in the network's own layout (batch-first when it is)."""
    shape = x.shape[:2] + (net.output_size,)
    return np.random.default_rng(seed).standard_normal(shape)


def engine_outputs(case: Case, trace: engine.Trace, net: engine.Network, lengths: np.ndarray | None) -> dict:
    """Y, Y_h, Y_c in ONNX's layout from a one-layer trace (Y zero past each sequence's length)."""
    acts = trace.activations
    T, B = acts[net.node_names[0]].shape[:2]
    lengths = np.full(B, T) if lengths is None else np.asarray(lengths)
    nodes = net.node_names
    valid = (np.arange(T)[:, None] < lengths[None, :])[..., None]
    y = np.stack([np.where(valid, acts[n], 0.0) for n in nodes], axis=1)          # (T, D, B, H)
    last = {"h": [], "c": []}
    for d, n in enumerate(nodes):
        for state in ("h", "c"):
            key = state + n[1:]
            if key in acts:
                steps = np.zeros(B, dtype=int) if n.endswith("_reverse") else lengths - 1   # reverse: ends at t = 0
                last[state].append(acts[key][steps, np.arange(B)])
    out = {"Y": y, "Y_h": np.stack(last["h"])}
    if last["c"]:
        out["Y_c"] = np.stack(last["c"])
    if case.layout:
        out = {"Y": np.transpose(y, (2, 0, 1, 3)), "Y_h": np.swapaxes(out["Y_h"], 0, 1),
               **({"Y_c": np.swapaxes(out["Y_c"], 0, 1)} if "Y_c" in out else {})}
    return out


def run_case(case: Case) -> tuple[engine.Network, engine.Trace, dict, dict]:
    """(network, mse trace, run arguments, outputs in ONNX's layout) of a case, in float64."""
    net = engine.Network.from_onnx(case.model())
    args = run_arguments(net.onnx_signature, feeds(case))
    trace = net.run(targets=targets_for(net, args["x"]), loss="mse", **args)
    return net, trace, args, engine_outputs(case, trace, net, args.get("lengths"))


def max_error(case: Case, outputs: dict) -> float:
    """The largest |engine − ONNX expected| over the case's outputs."""
    return max(float(np.max(np.abs(outputs[k] - v.astype(np.float64)))) for k, v in case.expected.items())


def expected_float64(case: Case) -> dict[str, np.ndarray]:
    """ONNX's expected outputs recomputed in float64 by the generators' own NumPy helpers (they ignore
    sequence_lens: only full-length cases ask for this)."""
    from onnx.backend.test.case.node import gru, lstm, rnn

    helper_class = {"RNN": rnn.RNNHelper, "GRU": gru.GRUHelper, "LSTM": lstm.LSTMHelper}[case.node.op_type]
    params = {k: v.astype(np.float64) for k, v in case.inputs.items() if k != "sequence_lens"}
    attrs = case.attrs
    for key in ("direction", "layout", "linear_before_reset"):
        if key in attrs:
            params[key] = attrs[key].decode() if isinstance(attrs[key], bytes) else attrs[key]
    values = helper_class(**params).step()
    return {name: values[i] for i, name in enumerate(("Y", "Y_h", "Y_c")) if name in case.expected}
