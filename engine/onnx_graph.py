"""Reading an ONNX file safely, and the handful of tensor-shuffling operators exporters put between layers.

A model file is parsed with the `onnx` package only (protobuf; no runtime, no pickle, no external
weight files). Its size, node count and the elements any folded constant may hold are bounded; a
node carrying a subgraph (If, Loop, Scan) is refused. `onnx` is imported inside the functions, so
the engine works without it until an ONNX model is opened.

The "glue" operators (Transpose, Reshape, Squeeze, …) are evaluated here with NumPy on two kinds of
small arrays only: constants from the file (shapes, zeros) and the importer's *probes* — integer
arrays whose entries name positions of a sequence tensor (engine.onnx_import). Nothing in the file
is ever executed.
"""
from __future__ import annotations

from collections.abc import Callable
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

ONNX_MISSING = "opening an ONNX model needs the onnx package: pip install 'unrolled[onnx]'"
MAX_BYTES = 256 * 2**20          # the largest model file read
MAX_NODES = 10_000               # nodes in the graph
MAX_ELEMENTS = 2**24             # elements of any constant the glue computes (Expand, ConstantOfShape)
STANDARD_DOMAINS = ("", "ai.onnx")


def require_onnx() -> Any:
    """The onnx module; ImportError saying exactly what to install when it is missing."""
    try:
        import onnx
    except ImportError:
        raise ImportError(ONNX_MISSING) from None
    return onnx


RECURRENT = ("RNN", "GRU", "LSTM")   # the recurrent operators Unrolled reads


def label(node: Any, index: int | None = None) -> str:
    """How errors name a node: its name (or position) and op type."""
    name = node.name or (f"#{index}" if index is not None else "(unnamed)")
    return f"node {name!r} ({node.op_type})"


def load_model(source: Any, max_bytes: int = MAX_BYTES) -> Any:
    """An onnx.ModelProto from a path, the file's bytes, or a ModelProto, checked by `check_model`.
    ValueError for a file that is missing, too large, not an ONNX model or outside the limits."""
    onnx = require_onnx()
    if isinstance(source, onnx.ModelProto):
        model = source
    else:
        if isinstance(source, (str, PathLike)):
            path = Path(source)
            if not path.is_file():
                raise ValueError(f"no such ONNX file: {path}")
            if path.stat().st_size > max_bytes:
                raise ValueError(f"{path.name} is {path.stat().st_size / 2**20:.1f} MB; the limit is "
                                 f"{max_bytes / 2**20:g} MB")
            data = path.read_bytes()
        elif isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
        else:
            raise ValueError(f"model must be a path, the bytes of an .onnx file or an onnx.ModelProto; "
                             f"got {type(source).__name__}")
        if len(data) > max_bytes:
            raise ValueError(f"the ONNX model is {len(data) / 2**20:.1f} MB; the limit is {max_bytes / 2**20:g} MB")
        model = onnx.ModelProto()
        try:
            model.ParseFromString(data)
        except Exception as exc:   # protobuf's DecodeError, or its own nesting-depth limit
            raise ValueError(f"not an ONNX model (the protobuf does not parse: {exc})") from None
        if isinstance(source, (str, PathLike)):
            inline_external_data(model, Path(source).resolve().parent, max_bytes - len(data))
    check_model(model)
    return model


def inline_external_data(model: Any, folder: Path, budget: int) -> None:
    """Read the weights a model file keeps beside it (torch.onnx.export writes `model.onnx.data`) into
    the model: only files inside `folder`, at most `budget` bytes in all; ValueError otherwise."""
    onnx = require_onnx()
    for tensor in model.graph.initializer:
        if tensor.data_location != onnx.TensorProto.EXTERNAL:
            continue
        info = {entry.key: entry.value for entry in tensor.external_data}
        path = (folder / info.get("location", "")).resolve()
        if folder not in path.parents or not path.is_file():
            raise ValueError(f"initializer {tensor.name!r}: its data file {info.get('location')!r} is not a file "
                             "beside the model")
        offset, length = int(info.get("offset", 0)), int(info.get("length", path.stat().st_size))
        budget -= length
        if budget < 0 or offset < 0 or length < 0 or offset + length > path.stat().st_size:
            raise ValueError(f"initializer {tensor.name!r}: its external data ({length} bytes at {offset}) is out of "
                             "bounds or beyond the size limit")
        with path.open("rb") as f:
            f.seek(offset)
            tensor.raw_data = f.read(length)
        del tensor.external_data[:]
        tensor.data_location = onnx.TensorProto.DEFAULT


def check_model(model: Any) -> None:
    """Refuse what this reader never opens: no graph, too many nodes, non-standard operator domains,
    subgraphs, weights kept in external files, sparse initializers."""
    onnx = require_onnx()
    graph = model.graph
    if not graph.node:
        raise ValueError("not an ONNX model with a graph (no nodes found)")
    if len(graph.node) > MAX_NODES:
        raise ValueError(f"the graph has {len(graph.node)} nodes; the limit is {MAX_NODES}")
    if graph.sparse_initializer:
        raise ValueError(f"sparse initializer {graph.sparse_initializer[0].values.name!r} is not supported")
    for tensor in graph.initializer:
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            raise ValueError(f"initializer {tensor.name!r} keeps its data in an external file; send one "
                             "self-contained file: torch.onnx.export(..., external_data=False), or "
                             "onnx.save(model, path, save_as_external_data=False)")
    for i, node in enumerate(graph.node):
        if node.domain not in STANDARD_DOMAINS:
            raise ValueError(f"{label(node, i)} is from operator domain {node.domain!r}; only standard ONNX "
                             "operators are read")
        for attr in node.attribute:
            if attr.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
                raise ValueError(f"{label(node, i)} has a subgraph (attribute {attr.name!r}); nested graphs are "
                                 "not read")


def initializers(model: Any) -> dict[str, np.ndarray]:
    """name → array of every initializer."""
    from onnx import numpy_helper
    return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}


def attributes(node: Any) -> dict[str, Any]:
    """A node's attributes as Python values (bytes decoded to str, tensors to arrays)."""
    from onnx import helper, numpy_helper
    out = {}
    for attr in node.attribute:
        value = helper.get_attribute_value(attr)
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        elif isinstance(value, list):
            value = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in value]
        elif hasattr(value, "data_type") and hasattr(value, "dims"):
            value = numpy_helper.to_array(value)
        out[attr.name] = value
    return out


def static_shape(value_info: Any) -> list[int | None]:
    """A graph input's declared dims (None for a symbolic or unknown one); ValueError without a shape."""
    tensor = value_info.type.tensor_type
    if not tensor.HasField("shape"):
        raise ValueError(f"graph input {value_info.name!r} declares no shape")
    return [d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim]


def elem_is_integer(value_info: Any) -> bool:
    """True when a graph input holds integers (token ids)."""
    from onnx import TensorProto
    return value_info.type.tensor_type.elem_type in (TensorProto.INT64, TensorProto.INT32, TensorProto.INT16,
                                                     TensorProto.INT8, TensorProto.UINT8, TensorProto.UINT16,
                                                     TensorProto.UINT32, TensorProto.UINT64)


# -- the glue operators, on constants and probes --------------------------------------------------

def _axes(args: list, attrs: dict, position: int) -> list[int] | None:
    """The axes of Squeeze/Unsqueeze: the input (opset ≥ 13) or the attribute (older opsets)."""
    if len(args) > position and args[position] is not None:
        return [int(a) for a in np.ravel(args[position])]
    return attrs.get("axes")


def _reshape(args: list, attrs: dict) -> np.ndarray:
    data, shape = args[0], [int(s) for s in np.ravel(args[1])]
    if not attrs.get("allowzero", 0):
        shape = [data.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return data.reshape(shape)


def _squeeze(args: list, attrs: dict) -> np.ndarray:
    axes = _axes(args, attrs, 1)
    return np.squeeze(args[0]) if axes is None else np.squeeze(args[0], axis=tuple(axes))


def _unsqueeze(args: list, attrs: dict) -> np.ndarray:
    out = args[0]
    axes = _axes(args, attrs, 1) or []
    for axis in sorted(a % (out.ndim + len(axes)) for a in axes):
        out = np.expand_dims(out, axis)
    return out


def _bounded(shape) -> tuple[int, ...]:
    shape = tuple(int(s) for s in np.ravel(shape))
    if any(s < 0 for s in shape) or int(np.prod(shape, dtype=np.int64)) > MAX_ELEMENTS:
        raise ValueError(f"a constant of shape {shape} is refused (more than {MAX_ELEMENTS} elements or negative)")
    return shape


def _expand(args: list, attrs: dict) -> np.ndarray:
    shape = _bounded(args[1])
    target = np.broadcast_shapes(args[0].shape, shape)
    return np.broadcast_to(args[0], _bounded(target)).copy()


def _constant_of_shape(args: list, attrs: dict) -> np.ndarray:
    value = np.asarray(attrs.get("value", np.zeros(1, dtype=np.float32))).ravel()
    return np.full(_bounded(args[0]), value[0], dtype=value.dtype)


def _shape(args: list, attrs: dict) -> np.ndarray:
    dims = np.array(args[0].shape, dtype=np.int64)
    return dims[attrs.get("start", 0):attrs.get("end", len(dims))]


def _cast(args: list, attrs: dict) -> np.ndarray:
    from onnx import helper
    return args[0].astype(helper.tensor_dtype_to_np_dtype(attrs["to"]))


def _slice(args: list, attrs: dict) -> np.ndarray:
    data, starts, ends = args[0], np.ravel(args[1]), np.ravel(args[2])
    axes = np.ravel(args[3]) if len(args) > 3 and args[3] is not None else np.arange(len(starts))
    steps = np.ravel(args[4]) if len(args) > 4 and args[4] is not None else np.ones(len(starts), dtype=np.int64)
    index = [slice(None)] * data.ndim
    for s, e, a, st in zip(starts, ends, axes, steps):
        index[int(a)] = slice(int(s), int(e), int(st))
    return data[tuple(index)]


GLUE: dict[str, Callable[[list, dict], np.ndarray]] = {
    "Identity": lambda args, attrs: args[0],
    "Transpose": lambda args, attrs: np.transpose(args[0], attrs.get("perm")),
    "Reshape": _reshape,
    "Squeeze": _squeeze,
    "Unsqueeze": _unsqueeze,
    "Concat": lambda args, attrs: np.concatenate([a for a in args if a is not None], axis=attrs["axis"]),
    "Flatten": lambda args, attrs: args[0].reshape(int(np.prod(args[0].shape[:attrs.get("axis", 1)])), -1),
    "Shape": _shape,
    "Expand": _expand,
    "ConstantOfShape": _constant_of_shape,
    "Slice": _slice,
}
"""Operators that only move, copy or describe elements: evaluated on constants and on probes."""

CONSTANT_ONLY: dict[str, Callable[[list, dict], np.ndarray]] = {
    "Cast": _cast,
    "Gather": lambda args, attrs: np.take(args[0], args[1], axis=attrs.get("axis", 0)),
}
"""Operators folded only when every input is a constant (shape arithmetic around the layers)."""


def constant_node(node: Any) -> np.ndarray:
    """The value of a Constant node (value, value_float(s), value_int(s))."""
    attrs = attributes(node)
    for key, dtype in (("value", None), ("value_float", np.float32), ("value_floats", np.float32),
                       ("value_int", np.int64), ("value_ints", np.int64)):
        if key in attrs:
            return np.asarray(attrs[key], dtype=dtype)
    raise ValueError(f"{label(node)} holds no value this reader understands ({', '.join(attrs)})")


def sequence_input(model: Any, consts: dict[str, np.ndarray]) -> Any:
    """The graph input the first recurrent node's X depends on."""
    producers = {out: node for node in model.graph.node for out in node.output}
    inputs = {vi.name: vi for vi in model.graph.input if vi.name not in consts}
    first = next((n for n in model.graph.node if n.op_type in RECURRENT), None)
    if first is None:
        raise ValueError("the graph has no RNN, GRU or LSTM node (torch.onnx.export(dynamo=True) unrolls an nn.RNN "
                         "into per-step MatMul/Tanh nodes: export that one with dynamo=False)")
    todo, seen = [first.input[0]], set()
    while todo:
        name = todo.pop()
        if name in inputs:
            return inputs[name]
        if name in seen or name not in producers:
            continue
        seen.add(name)
        todo.extend(i for i in producers[name].input if i)
    raise ValueError(f"{label(first)}: its input X does not come from a graph input")
