"""Parameter names and shapes, torch-compatible, and validation of a state dict against them."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .cells import get_cell
from .chain import Segment, weight_layout

EMBEDDING = "embedding.weight"          # the token table's parameter name (first in a state dict)


@dataclass(frozen=True)
class Architecture:
    """The sizes that fix every parameter's shape."""

    cell: str
    input_size: int
    hidden_size: int
    output_size: int
    num_layers: int = 1
    bidirectional: bool = False
    vocab_size: int | None = None       # an embedding table (V, input_size) in front of the first layer
    readout: str = "per_step"           # or "final_state": the head reads cat(h_n[-2], h_n[-1]) (engine.readout)
    reverse_layers: tuple[int, ...] = ()    # layers of a unidirectional network that run only in reverse

    def __post_init__(self) -> None:
        layers = tuple(sorted({int(k) for k in self.reverse_layers}))
        if layers and self.bidirectional:
            raise ValueError("reverse_layers is for a unidirectional network (a bidirectional layer already "
                             "has a reverse direction)")
        if any(k < 0 or k >= self.num_layers for k in layers):
            raise ValueError(f"reverse_layers {list(layers)} must name layers 0 … {self.num_layers - 1}")
        object.__setattr__(self, "reverse_layers", layers)

    @property
    def embedded(self) -> bool:
        """True when x is token ids read through `embedding.weight`."""
        return self.vocab_size is not None

    @property
    def directions(self) -> int:
        """1, or 2 when bidirectional."""
        return 2 if self.bidirectional else 1

    @property
    def reads_future(self) -> bool:
        """True when some direction runs from the last step back (bidirectional, or a reverse-only layer):
        no state then flows forward in time (no truncation, chain of segments or generation)."""
        return self.bidirectional or bool(self.reverse_layers)

    def reversed(self, layer: int, direction: int) -> bool:
        """True when direction `direction` (0, or 1 of a bidirectional layer) of `layer` runs in reverse."""
        return bool(direction) or layer in self.reverse_layers

    def suffix(self, direction: int, layer: int | None = None) -> str:
        """"" for the forward direction, "_reverse" for the reverse one (with `layer`: a reverse-only
        layer's one direction too)."""
        return "_reverse" if direction or layer in self.reverse_layers else ""

    def tag(self, layer: int, direction: int) -> str:
        """The parameter/record suffix of a layer and direction: _l0, _l1_reverse, …"""
        return f"_l{layer}{self.suffix(direction, layer)}"

    def node(self, layer: int, direction: int) -> str:
        """The activation name of a layer/direction's hidden state, e.g. h_l1_reverse."""
        return f"h{self.tag(layer, direction)}"

    @property
    def node_names(self) -> list[str]:
        """Every hidden-state node, layer-major, forward before reverse."""
        return [self.node(k, d) for k in range(self.num_layers) for d in range(self.directions)]

    def layer_input_size(self, layer: int) -> int:
        """Width of what layer `layer` reads: the input, or the concatenated states below."""
        return self.input_size if layer == 0 else self.hidden_size * self.directions

    def shapes(self, chain: Sequence[Segment] | None = None) -> dict[str, tuple[int, ...]]:
        """Parameter name → shape, in torch's naming, plus head.weight / head.bias. With a chain of
        segments (engine.chain), every weight prefix has its own set, in the chain's order, and only
        the prefixes of emitting segments have a head."""
        cell = get_cell(self.cell)
        out: dict[str, tuple[int, ...]] = {}
        for prefix, head in (weight_layout(chain) if chain is not None else {"": True}).items():
            if self.embedded:
                out[f"{prefix}{EMBEDDING}"] = (int(self.vocab_size), self.input_size)
            for k in range(self.num_layers):
                for d in range(self.directions):
                    s = self.tag(k, d)
                    for name, shape in cell.parameter_shapes(self.layer_input_size(k), self.hidden_size).items():
                        out[f"{prefix}{name}{s}"] = shape
            if head:
                out[f"{prefix}head.weight"] = (self.output_size, self.hidden_size * self.directions)
                out[f"{prefix}head.bias"] = (self.output_size,)
        return out


class ArchitectureFacts:
    """Read-only shape facts for any object with an `arch` (a Network, a Trace)."""

    arch: Architecture
    cell = property(lambda self: self.arch.cell, doc="cell type name")
    cell_impl = property(lambda self: get_cell(self.arch.cell), doc="the Cell object (engine.cells)")
    num_layers = property(lambda self: self.arch.num_layers, doc="stacked layers")
    bidirectional = property(lambda self: self.arch.bidirectional, doc="two directions per layer")
    directions = property(lambda self: self.arch.directions, doc="1 or 2")
    reverse_layers = property(lambda self: self.arch.reverse_layers, doc="layers that run only in reverse")
    input_size = property(lambda self: self.arch.input_size, doc="I")
    hidden_size = property(lambda self: self.arch.hidden_size, doc="H")
    output_size = property(lambda self: self.arch.output_size, doc="O")
    node_names = property(lambda self: self.arch.node_names, doc="h nodes, layer-major")
    vocab_size = property(lambda self: self.arch.vocab_size, doc="V of the embedding table, or None")


def infer_architecture(state: dict, cell: str, num_layers: int | None, bidirectional: bool | None) -> Architecture:
    """Read the sizes off a state dict; ValueError naming what is missing. A layer with only
    `weight_ih_l{k}_reverse` (no forward weights) runs only in reverse (Architecture.reverse_layers)."""
    blocks = get_cell(cell).blocks
    first = "weight_ih_l0" if "weight_ih_l0" in state or "weight_ih_l0_reverse" not in state else "weight_ih_l0_reverse"
    for name in (first, "head.weight"):
        if name not in state:
            raise ValueError(f"missing parameter {name!r}")
    w_ih = np.asarray(state[first])
    head = np.asarray(state["head.weight"])
    if w_ih.ndim != 2 or w_ih.shape[0] % blocks:
        raise ValueError(f"parameter {first!r} has shape {w_ih.shape}; a {cell} needs ({blocks}·H, input_size)")
    if head.ndim != 2:
        raise ValueError(f"parameter 'head.weight' has shape {head.shape}; expected (output_size, H·directions)")
    if num_layers is None:
        num_layers = 1 + max(int(k.split("_l")[1].split("_")[0]) for k in state if k.startswith("weight_ih_l"))
    if bidirectional is None:
        bidirectional = "weight_ih_l0" in state and "weight_ih_l0_reverse" in state
    reverse = () if bidirectional else tuple(k for k in range(num_layers) if f"weight_ih_l{k}" not in state
                                             and f"weight_ih_l{k}_reverse" in state)
    vocab = None
    if EMBEDDING in state:
        table = np.asarray(state[EMBEDDING])
        if table.ndim != 2 or table.shape[0] < 1:
            raise ValueError(f"parameter {EMBEDDING!r} has shape {table.shape}; expected (vocab_size, input_size)")
        vocab = int(table.shape[0])
    return Architecture(cell, int(w_ih.shape[1]), int(w_ih.shape[0] // blocks), int(head.shape[0]),
                        int(num_layers), bool(bidirectional), vocab, reverse_layers=reverse)


def validate_state(state: dict, arch: Architecture, dtype) -> dict[str, np.ndarray]:
    """Check names, shapes and finiteness; returns C-contiguous copies in `dtype`."""
    shapes = arch.shapes()
    missing = [k for k in shapes if k not in state]
    extra = [k for k in state if k not in shapes]
    if missing:
        raise ValueError(f"missing parameter(s): {', '.join(missing)}")
    if extra:
        raise ValueError(f"unexpected parameter(s): {', '.join(map(str, extra))}")
    out = {}
    for name, shape in shapes.items():
        value = np.asarray(state[name])
        if value.shape != shape:
            raise ValueError(f"parameter {name!r} has shape {value.shape}, expected {shape}")
        if not np.issubdtype(value.dtype, np.number):
            raise ValueError(f"parameter {name!r} is not numeric (dtype {value.dtype})")
        value = np.array(value, dtype=dtype, order="C", copy=True)   # never alias the caller's arrays
        if not np.isfinite(value).all():
            raise ValueError(f"parameter {name!r} contains NaN or Inf")
        out[name] = value
    return out


def random_state(arch: Architecture, seed: int, recurrent_scale: float | None, forget_bias: float,
                 dtype) -> dict[str, np.ndarray]:
    """torch's default initialisation U(−1/√H, 1/√H); with recurrent_scale, each H×H block of every
    W_hh is a random orthogonal matrix times recurrent_scale, so its spectral radius (and σ_max) is exactly it."""
    rng = np.random.default_rng(seed)
    H = arch.hidden_size
    cell = get_cell(arch.cell)
    bound = 1.0 / np.sqrt(H)
    state: dict[str, np.ndarray] = {}
    for name, shape in arch.shapes().items():
        if name.endswith(EMBEDDING):
            # torch's nn.Embedding: N(0, 1), from its own stream so the other weights do not depend on it
            state[name] = np.random.default_rng([seed, 1]).standard_normal(shape)
        elif name.startswith("head."):
            fan_in = arch.hidden_size * arch.directions
            state[name] = rng.uniform(-1 / np.sqrt(fan_in), 1 / np.sqrt(fan_in), shape)
        else:
            state[name] = rng.uniform(-bound, bound, shape)
        if name.startswith("weight_hh") and recurrent_scale is not None:
            blocks = [_orthogonal(rng, H) * recurrent_scale for _ in range(shape[0] // H)]
            state[name] = np.concatenate(blocks, axis=0)
        if name.startswith("bias_ih") and cell.forget_gate and forget_bias:
            state[name][cell.gate_rows(cell.forget_gate, H)] += forget_bias
    return {k: v.astype(dtype) for k, v in state.items()}


def _orthogonal(rng: np.random.Generator, n: int) -> np.ndarray:
    """A Haar-random orthogonal n×n matrix (QR of a Gaussian with the sign fix)."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))
