"""From an ONNX graph to the engine's network: which nodes are layers, embedding and head, and in what layout.

The graph is read, never run. Its sequence input is replaced by a *probe*: an integer array of the
input's shape whose entries number the positions of the sequence (t, b, feature). The glue
operators (engine.onnx_graph.GLUE) move those numbers exactly as they would move the data, so at each
recurrent node the reader checks that its X is the previous layer's output (t, b, features)
rearranged only as the node's `layout` says — whatever Transpose / Reshape / Squeeze / Concat the
exporter used — and at the head that every row is one (t, b) position's features in order. Each
recurrent node's Y becomes a new probe (its layer's (T, B, D·H) output), so the chain is followed
layer by layer. The input's layout (time-first or batch-first) is the one hypothesis under which
the probes line up.

Accepted: an optional `Gather` embedding on integer token ids, one or more RNN / GRU / LSTM nodes
(engine.onnx_recurrent), an optional head (`MatMul` [+ `Add`] or `Gemm`), the glue, `Constant`s and
the shape arithmetic exporters emit for zero initial states. Anything else is refused with the
node's name and op type.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .onnx_graph import (CONSTANT_ONLY, GLUE, MAX_BYTES, RECURRENT, attributes, constant_node, elem_is_integer,
                         initializers, label, load_model, sequence_input, static_shape)
from .onnx_recurrent import RecurrentLayer, read_recurrent
from .onnx_final_state import FinalProbe, match_final_rows, move_final_states, state_ids   # issue 19

PROBE_SIZES = (5, 3)          # (T, B) for probes when the graph leaves them symbolic


class LayoutMismatch(ValueError):
    """The probes do not line up under one layout hypothesis."""


@dataclass(frozen=True)
class Probe:
    """Positions of source `source`'s canonical (T, B, F) tensor (or (T, B) token ids), as moved by the glue."""

    source: int
    ids: np.ndarray


@dataclass(frozen=True)
class GraphInput:
    """A graph input that is not the sequence: sequence_lens or an initial state."""

    name: str


@dataclass(frozen=True)
class StateOutput:
    """A recurrent node's Y_h / Y_c: a graph output only."""

    layer: int
    state: str


@dataclass
class OnnxSignature:
    """How the graph's inputs map to `Network.run`: the sequence (and its layout), lengths, initial states."""

    sequence: str
    batch_first: bool
    tokens: bool
    lengths: str | None = None
    initial: dict[str, tuple[str, int, int, bool]] = field(default_factory=dict)  # input → (state, layer, layout, reverse)


@dataclass
class OnnxNetwork:
    """Everything `Network.from_onnx` needs."""

    state: dict[str, np.ndarray]
    cell: str
    num_layers: int
    bidirectional: bool
    signature: OnnxSignature
    readout: str = "per_step"     # or "final_state": the head reads cat(h_n[-2], h_n[-1]) (engine.onnx_final_state)


class _Walk:
    """One pass over the graph under one layout hypothesis."""

    def __init__(self, model: Any, consts: dict[str, np.ndarray], sequence: Any, batch_first: bool) -> None:
        self.graph = model.graph
        self.values: dict[str, Any] = dict(consts)
        self.layers: list[RecurrentLayer] = []
        self.state: dict[str, np.ndarray] = {}
        self.sources: list[tuple[int, ...]] = []          # canonical shape of each probe source
        self.head_source: int | None = None
        self.bias_done = False
        self.readout = "per_step"
        self.top_y: np.ndarray | None = None              # the last layer's Y ids (T, B, D, H)
        self.tokens = elem_is_integer(sequence)
        dims = static_shape(sequence)
        if len(dims) != (2 if self.tokens else 3):
            raise ValueError(f"graph input {sequence.name!r} has shape {dims}; expected (T, B, features) or "
                             "(T, B) token ids (or batch-first)")
        d0, d1 = dims[0] or PROBE_SIZES[0], dims[1] or (PROBE_SIZES[1] if PROBE_SIZES[1] != dims[0] else 2)
        T, B = (d1, d0) if batch_first else (d0, d1)
        ids = self._source((T, B) + tuple(dims[2:]))
        self.values[sequence.name] = Probe(0, np.swapaxes(ids, 0, 1) if batch_first else ids)
        self.T, self.B = T, B
        self.signature = OnnxSignature(sequence.name, batch_first, self.tokens)
        for vi in self.graph.input:
            if vi.name not in self.values:
                self.values[vi.name] = GraphInput(vi.name)

    def _source(self, shape: tuple[int, ...]) -> np.ndarray:
        """A new probe source: its canonical ids, unique across sources."""
        offset = sum(int(np.prod(s)) for s in self.sources)
        self.sources.append(shape)
        return offset + np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)

    def canonical(self, source: int) -> np.ndarray:
        """Source `source`'s ids in their canonical (T, B, F) arrangement."""
        offset = sum(int(np.prod(s)) for s in self.sources[:source])
        shape = self.sources[source]
        return offset + np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)

    def arg(self, node: Any, i: int, where: str) -> Any:
        """The value of input i of `node` (None when absent); ValueError for a name nothing made."""
        name = node.input[i] if i < len(node.input) else ""
        if not name:
            return None
        if name not in self.values:
            raise ValueError(f"{where} reads {name!r}, which no earlier node, initializer or graph input makes")
        return self.values[name]

    def const(self, node: Any, i: int, where: str, what: str) -> np.ndarray | None:
        """Input i as a constant (an initializer or a folded value), or None when absent."""
        value = self.arg(node, i, where)
        if value is not None and not isinstance(value, np.ndarray):
            raise ValueError(f"{where}: input {what} ({node.input[i]!r}) must be a constant (an initializer)")
        return value

    # -- nodes ------------------------------------------------------------------------------
    def run(self) -> None:
        """Walk the nodes in order (ONNX keeps them topologically sorted), giving each output its value."""
        for index, node in enumerate(self.graph.node):
            where = label(node, index)
            op = node.op_type
            if op == "Constant":
                out = constant_node(node)
            elif op in RECURRENT:
                self.recurrent(node, where)
                continue
            elif op == "Gather" and isinstance(self.arg(node, 1, where), Probe):
                out = self.embedding(node, where)
            elif op == "Gather" and isinstance(self.arg(node, 0, where), (Probe, FinalProbe)):
                out = self.gather(node, where)        # h_n[-1], out[-1]: a step or a state picked by a constant
            elif op in ("MatMul", "Gemm") and isinstance(self.arg(node, 0, where), (Probe, FinalProbe)):
                out = self.head(node, where)
            elif op == "Add" and any(isinstance(self.arg(node, i, where), Probe) for i in (0, 1)):
                out = self.bias(node, where)
            elif op in GLUE or op in CONSTANT_ONLY:
                out = self.glue(node, where)
            else:
                raise ValueError(f"{where}: op type {op} is not supported (the reader accepts Gather, RNN, GRU, "
                                 "LSTM, MatMul, Add, Gemm and the glue between them)")
            self.values[node.output[0]] = out

    def glue(self, node: Any, where: str) -> Any:
        """A glue operator on constants (folded) or on the sequence's probe (moved like the data)."""
        args = [self.arg(node, i, where) for i in range(len(node.input))]
        if any(isinstance(a, FinalProbe) for a in args):
            return self.final_glue(node, where, args)
        probes = [a for a in args if isinstance(a, Probe)]
        if any(isinstance(a, (GraphInput, StateOutput)) for a in args):
            raise ValueError(f"{where}: reads a graph input or a layer's final state; only the sequence "
                             "flows through reshaping nodes here")
        if node.op_type == "Shape" and probes:
            return GLUE["Shape"]([args[0].ids], attributes(node))     # the sequence's shape is a constant
        if not probes:
            fn = GLUE.get(node.op_type) or CONSTANT_ONLY[node.op_type]
            return fn(args, attributes(node))
        if node.op_type not in GLUE or any(isinstance(a, Probe) for a in args[1:]) and node.op_type != "Concat":
            raise ValueError(f"{where}: op type {node.op_type} on the sequence is not supported")
        if len({p.source for p in probes}) > 1:
            raise LayoutMismatch(f"{where}: mixes the outputs of different layers")
        plain = [a.ids if isinstance(a, Probe) else a for a in args]
        try:
            return Probe(probes[0].source, GLUE[node.op_type](plain, attributes(node)))
        except ValueError as exc:
            raise LayoutMismatch(f"{where}: {exc}") from None

    def recurrent(self, node: Any, where: str) -> None:
        """A recurrent node: check that X is the previous output in the node's layout, take its layer
        and weights, and make its Y the next probe source."""
        k = len(self.layers)
        x = self.arg(node, 0, where)
        weights = {name: self.const(node, i, where, name) for i, name in ((1, "W"), (2, "R"), (3, "B"), (7, "P"))}
        layer = read_recurrent(node, where, attributes(node), weights)
        previous = len(self.sources) - 1
        expected = self.canonical(previous)
        if self.tokens and previous == 0:
            raise ValueError(f"{where} reads the token ids directly: an embedding (Gather) must come first")
        if layer.layout:
            expected = np.swapaxes(expected, 0, 1)
        if not isinstance(x, Probe) or x.source != previous or not np.array_equal(x.ids, expected):
            raise LayoutMismatch(f"{where}: its input X is not the {'input' if k == 0 else f'layer {k - 1} output'} "
                                 f"sequence in the node's layout ({layer.layout})")
        if self.head_source is not None:
            raise ValueError(f"{where} comes after the head; a recurrent layer must come before it")
        for i, what in ((4, "sequence_lens"), (5, "initial_h"), (6, "initial_c")):
            self.side_input(node, i, what, k, layer, where)
        self.layers.append(layer)
        self.state.update(layer.state(k))
        D, H = layer.directions, layer.hidden_size
        ids = self._source((self.T, self.B, D * H)).reshape(self.T, self.B, D, H)
        y = np.transpose(ids, (1, 0, 2, 3) if layer.layout else (0, 2, 1, 3))
        self.top_y = ids
        outputs = [Probe(len(self.sources) - 1, y), FinalProbe(state_ids(ids, layer.reverse, layer.layout)),
                   StateOutput(k, "c")]
        for name, value in zip(node.output, outputs):
            if name:
                self.values[name] = value

    def side_input(self, node: Any, i: int, what: str, k: int, layer: RecurrentLayer, where: str) -> None:
        """sequence_lens / initial_h / initial_c: a graph input (recorded in the signature), or the defaults."""
        value = self.arg(node, i, where)
        if value is None:
            return
        if isinstance(value, GraphInput):
            if what == "sequence_lens":
                if self.signature.lengths not in (None, value.name):
                    raise ValueError(f"{where}: its sequence_lens {value.name!r} differs from an earlier layer's")
                self.signature.lengths = value.name
            else:
                self.signature.initial[value.name] = (what[-1], k, layer.layout, layer.reverse)
            return
        if isinstance(value, np.ndarray):
            full = what == "sequence_lens" and np.all(value == self.T)
            if full or (what != "sequence_lens" and not np.any(value)):
                return                              # all-full lengths, zero initial states: the defaults
        raise ValueError(f"{where}: input {what} ({node.input[i]!r}) must be a graph input (or absent / zeros); "
                         "pass its values to run()")

    def embedding(self, node: Any, where: str) -> Probe:
        """A Gather of the token ids from a constant table: embedding.weight, and a probe of (T, B, E)."""
        table, ids = self.arg(node, 0, where), self.arg(node, 1, where)
        if not self.tokens or ids.source != 0 or self.sources.__len__() != 1:
            raise ValueError(f"{where}: a Gather is read only as the embedding of the token ids")
        if not isinstance(table, np.ndarray) or table.ndim != 2 or attributes(node).get("axis", 0) != 0:
            raise ValueError(f"{where}: the embedding table must be a constant (V, E) matrix gathered on axis 0")
        self.state["embedding.weight"] = np.asarray(table, dtype=np.float64)
        E = table.shape[1]
        canonical = self.canonical(0)
        base = self._source((self.T, self.B, E))
        # the embedding's probe is arranged like the token ids it gathered, with E features each
        local = ids.ids - canonical.min()
        return Probe(len(self.sources) - 1, base.reshape(-1, E)[local])

    def rows(self, probe: Probe, where: str) -> tuple[np.ndarray, int]:
        """(index of each row's (t, b) position, feature count) when every row of `probe` is one
        position's features in order; LayoutMismatch otherwise."""
        F = self.sources[probe.source][-1]
        local = probe.ids - self.canonical(probe.source).min()
        if probe.ids.shape[-1] != F or not np.array_equal(local % F, np.broadcast_to(np.arange(F), local.shape)):
            raise LayoutMismatch(f"{where}: its input rows are not the sequence's features in order")
        base = local[..., 0] // F
        if not np.array_equal(local, base[..., None] * F + np.arange(F)):
            raise LayoutMismatch(f"{where}: its input rows are not the sequence's features in order")
        return base, F

    def head(self, node: Any, where: str) -> Probe:
        """MatMul / Gemm of the last layer's outputs by a constant: head.weight (and Gemm's C: head.bias)."""
        a = self.arg(node, 0, where)
        final = self.final_rows(a, where)
        if final is not None:
            base, F = final
        elif not self.layers or a.source != len(self.sources) - 1 or self.head_source is not None:
            raise ValueError(f"{where}: a head must read the last recurrent layer's outputs, once")
        else:
            base, F = self.rows(a, where)
        w = self.const(node, 1, where, "B")
        attrs = attributes(node)
        if node.op_type == "Gemm":
            if attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0:
                raise ValueError(f"{where}: attributes transA / alpha / beta must keep their defaults")
            w = w.T if attrs.get("transB", 0) else w
        if w is None or w.ndim != 2 or w.shape[0] != F:
            raise ValueError(f"{where}: the head's weight has shape {None if w is None else w.shape}; "
                             f"expected ({F}, output_size)")
        self.state["head.weight"] = np.asarray(w.T, dtype=np.float64)
        O = w.shape[1]
        out = self._source((self.T if final is None else 1, self.B, O)).reshape(-1, O)[base]
        self.head_source = len(self.sources) - 1
        if node.op_type == "Gemm" and len(node.input) > 2 and node.input[2]:
            self.add_bias(self.const(node, 2, where, "C"), O, where)
        return Probe(self.head_source, out)

    def bias(self, node: Any, where: str) -> Probe:
        """Add of a constant to the head's output: head.bias."""
        a, b = self.arg(node, 0, where), self.arg(node, 1, where)
        probe, c = (a, b) if isinstance(a, Probe) else (b, a)
        if probe.source != self.head_source or not isinstance(c, np.ndarray):
            raise ValueError(f"{where}: Add is read only as the head's bias (a constant added to the head's output)")
        self.add_bias(c, self.sources[probe.source][-1], where)
        return probe

    def add_bias(self, c: np.ndarray, O: int, where: str) -> None:
        """Record head.bias once, checking its shape."""
        if self.bias_done or c.size != O or c.shape[-1] != O:
            raise ValueError(f"{where}: the head's bias has shape {c.shape}; expected ({O},), added once")
        self.state["head.bias"] = np.asarray(c.reshape(O), dtype=np.float64)
        self.bias_done = True

    # -- issue 19: the final-state head (engine.onnx_final_state) ----------------------------------
    def gather(self, node: Any, where: str) -> Probe | FinalProbe:
        """Gather of a probe's positions by constant indices (h_n[-1], out[-1]): moved like the data."""
        data, indices = self.arg(node, 0, where), self.const(node, 1, where, "indices")
        picked = np.take(data.ids, indices, axis=attributes(node).get("axis", 0))
        return FinalProbe(picked) if isinstance(data, FinalProbe) else Probe(data.source, picked)

    def final_glue(self, node: Any, where: str, args: list) -> FinalProbe:
        """A glue operator on final-state probes (Y_h), never mixed with the sequence or the graph's inputs."""
        if any(isinstance(a, (Probe, GraphInput, StateOutput)) for a in args):
            raise ValueError(f"{where}: mixes a layer's final state (Y_h) with other tensors")
        return move_final_states(node.op_type, args, attributes(node), where)

    def final_rows(self, a: Probe | FinalProbe, where: str) -> tuple[np.ndarray, int] | None:
        """(batch element of each row, features) when the head reads the last layer's final states,
        cat(h_n[-2], h_n[-1]) (readout "final_state"); None for a per-step head; ValueError naming the
        node for final states read in another arrangement."""
        if not self.layers or self.head_source is not None:
            raise ValueError(f"{where}: a head must read the last recurrent layer's outputs, once")
        if isinstance(a, Probe) and a.source != len(self.sources) - 1:
            return None
        top = self.layers[-1]
        padded = self.signature.lengths is not None
        base = None if top.reverse else match_final_rows(a.ids, self.top_y, padded, where)
        if base is None:
            if isinstance(a, FinalProbe):
                raise ValueError(f"{where}: the head reads the layers' final states (Y_h) as something other than "
                                 "the last layer's cat(h_n[-2], h_n[-1]) (forward, then reverse), one row per "
                                 "sequence; that arrangement is not read")
            return None
        self.readout = "final_state"
        return base, a.ids.shape[-1]
    # -- end of the final-state head ------------------------------------------------------------

    def finish(self) -> OnnxNetwork:
        """The network once every node is read: one cell and size for all layers, the outputs checked."""
        if not self.layers:
            raise ValueError("the graph has no RNN, GRU or LSTM node")
        cells = {layer.cell for layer in self.layers}
        sizes = {(layer.hidden_size, layer.directions) for layer in self.layers}
        if len(cells) > 1 or len(sizes) > 1:
            raise ValueError("every recurrent layer must have the same cell, hidden_size and direction; got "
                             + ", ".join(f"{l.label}: {l.cell}, H={l.hidden_size}, D={l.directions}" for l in self.layers))
        final = self.head_source if self.head_source is not None else len(self.sources) - 1
        outputs = [self.values.get(o.name) for o in self.graph.output]
        for out, value in zip(self.graph.output, outputs):
            if not isinstance(value, (Probe, StateOutput, FinalProbe)):
                raise ValueError(f"graph output {out.name!r} is not a layer's output, the head's or a final state")
        if not any(isinstance(v, Probe) and v.source == final or isinstance(v, (StateOutput, FinalProbe)) for v in outputs):
            raise ValueError("no graph output reads the model's final outputs")
        layer = self.layers[0]
        width = layer.hidden_size * layer.directions
        if self.head_source is None:
            self.state["head.weight"], self.state["head.bias"] = np.eye(width), np.zeros(width)
        elif not self.bias_done:
            self.state["head.bias"] = np.zeros(self.state["head.weight"].shape[0])
        return OnnxNetwork(self.state, layer.cell, len(self.layers), layer.directions == 2, self.signature,
                           readout=self.readout)


def read_onnx(source: Any, max_bytes: int = MAX_BYTES) -> OnnxNetwork:
    """The engine's state dict, cell, sizes and input signature of an ONNX model (path, bytes or
    onnx.ModelProto). ValueError naming the node and attribute (or op type) of anything not read."""
    model = load_model(source, max_bytes)
    consts = initializers(model)
    sequence = sequence_input(model, consts)
    mismatch: LayoutMismatch | None = None
    for batch_first in (False, True):
        walk = _Walk(model, consts, sequence, batch_first)
        try:
            walk.run()
            return walk.finish()
        except LayoutMismatch as exc:
            mismatch = mismatch or exc
    raise ValueError(str(mismatch))
