"""One ONNX RNN / GRU / LSTM node as an engine layer: its cell, sizes and torch-named weights.

ONNX stacks the directions of a node on a leading axis and orders the gate blocks differently from
torch (and the engine):

    LSTM   ONNX i, o, f, c   → torch i, f, g(=c), o        peepholes P: ONNX i, o, f → weight_peephole rows i, f, o
    GRU    ONNX z, r, h      → torch r, z, n
    RNN    one block

W (D, G·H, I) → weight_ih, R (D, G·H, H) → weight_hh, B (D, 2·G·H) → bias_ih (first half), bias_hh.
The GRU's `linear_before_reset` = 1 is torch's GRU (r ⊙ (W_hn h + b_hn)); 0 applies the reset before
the product (W_hn (r ⊙ h) + b_hn), the cell `gru_reset_before`. direction = "reverse" is a layer that runs
only from the last step back (Architecture.reverse_layers): its one direction is named `_reverse`.
Every attribute is honoured or refused.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .cells import CELL_TYPES

GATE_ORDER = {"RNN": [0], "GRU": [1, 0, 2], "LSTM": [0, 2, 3, 1]}    # torch's blocks, as ONNX block indices
PEEPHOLE_ORDER = [0, 2, 1]                                            # rows i, f, o from ONNX's i, o, f
DEFAULT_ACTIVATIONS = {"GRU": ["sigmoid", "tanh"], "LSTM": ["sigmoid", "tanh", "tanh"]}
RNN_ACTIVATIONS = {"tanh": "rnn_tanh", "relu": "rnn_relu"}
KNOWN_ATTRIBUTES = {"hidden_size", "direction", "layout", "activations", "activation_alpha", "activation_beta",
                    "clip", "linear_before_reset", "input_forget"}


@dataclass
class RecurrentLayer:
    """What one recurrent node contributes: a layer of `cell` with `directions` directions."""

    label: str
    cell: str
    input_size: int
    hidden_size: int
    directions: int
    layout: int                                          # 0: (T, B, ·) tensors, 1: (B, T, ·)
    params: list[dict[str, np.ndarray]] = field(default_factory=list)   # per direction, names without _l{k}
    reverse: bool = False                                # direction = "reverse": the one direction runs backward

    def suffix(self, layer: int, direction: int) -> str:
        """_l{layer}, or _l{layer}_reverse for the reverse direction (the only one of a reverse layer)."""
        return f"_l{layer}{'_reverse' if direction or self.reverse else ''}"

    def state(self, layer: int) -> dict[str, np.ndarray]:
        """The layer's parameters under the engine's names (weight_ih_l{layer}[_reverse], …)."""
        return {f"{name}{self.suffix(layer, d)}": value
                for d, params in enumerate(self.params) for name, value in params.items()}


def _refuse(where: str, attribute: str, why: str) -> ValueError:
    return ValueError(f"{where}: attribute {attribute!r} {why}")


def _blocks(a: np.ndarray, order: list[int], axis: int = 0) -> np.ndarray:
    """`a` with its equal blocks along `axis` rearranged to `order`."""
    return np.concatenate([np.split(a, len(order), axis=axis)[i] for i in order], axis=axis)


def _cell(op: str, where: str, attrs: dict, directions: int, peepholes: bool) -> str:
    """The engine's cell for the node's activations and options; ValueError naming what no cell computes."""
    acts = [str(a).lower() for a in attrs.get("activations", [])]
    if op == "RNN":
        acts = acts or ["tanh"] * directions
        if len(set(acts)) != 1 or acts[0] not in RNN_ACTIVATIONS or len(acts) != directions:
            raise _refuse(where, "activations", f"is {attrs['activations']}; supported: Tanh or Relu "
                                                "(the same for every direction)")
        return RNN_ACTIVATIONS[acts[0]]
    default = DEFAULT_ACTIVATIONS[op]
    if acts and acts != default * directions:
        raise _refuse(where, "activations", f"is {attrs['activations']}; only the default "
                                            f"{[a.capitalize() for a in default]} is supported")
    if op == "GRU":
        return "gru" if attrs.get("linear_before_reset", 0) else "gru_reset_before"
    if attrs.get("input_forget", 0):
        if peepholes or "lstm_coupled" not in CELL_TYPES:
            raise _refuse(where, "input_forget", "= 1 (f = 1 − i) matches no cell here"
                                                 + (" together with peepholes" if peepholes else ""))
        return "lstm_coupled"
    return "lstm_peephole" if peepholes else "lstm"


def _coupled(params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """ONNX's input_forget (as the runtimes compute it) keeps i = σ(a_i) and sets f = 1 − i, ignoring
    the f rows. The lstm_coupled cell computes f = σ(a_f) and writes with 1 − f; since 1 − σ(a) = σ(−a),
    its rows f, g, o are ONNX's i rows negated, its c rows and its o rows (torch order in: i, f, g, o)."""
    out = {}
    for name, value in params.items():
        i, _, g, o = np.split(value, 4, axis=0)
        out[name] = np.concatenate([-i, g, o], axis=0)
    return out


def read_recurrent(node: Any, where: str, attrs: dict, weights: dict[str, np.ndarray | None]) -> RecurrentLayer:
    """The layer of one RNN / GRU / LSTM node from its attributes and constant inputs W, R, B, P."""
    op = node.op_type
    unknown = sorted(set(attrs) - KNOWN_ATTRIBUTES)
    if unknown:
        raise _refuse(where, unknown[0], "is not an attribute this reader knows")
    if "clip" in attrs:
        raise _refuse(where, "clip", f"= {attrs['clip']} (cell-input clipping) is not supported")
    if op != "GRU" and "linear_before_reset" in attrs:
        raise _refuse(where, "linear_before_reset", f"is not an attribute of {op}")
    if op != "LSTM" and "input_forget" in attrs:
        raise _refuse(where, "input_forget", f"is not an attribute of {op}")
    direction = attrs.get("direction", "forward")
    if direction not in ("forward", "reverse", "bidirectional"):
        raise _refuse(where, "direction", f"= {direction!r}; expected forward, reverse or bidirectional")
    layout = attrs.get("layout", 0)
    if layout not in (0, 1):
        raise _refuse(where, "layout", f"= {layout}; expected 0 or 1")
    D, G = (2 if direction == "bidirectional" else 1), len(GATE_ORDER[op])
    W, R = weights["W"], weights["R"]
    for name, value in (("W", W), ("R", R)):
        if value is None or value.ndim != 3 or value.shape[0] != D or value.shape[1] % G:
            raise ValueError(f"{where}: input {name} has shape {None if value is None else value.shape}; "
                             f"expected ({D}, {G}·hidden_size, ·)")
    H = R.shape[2]
    if attrs.get("hidden_size", H) != H or R.shape[1] != G * H or W.shape[1] != G * H:
        raise _refuse(where, "hidden_size", f"= {attrs.get('hidden_size')} does not match W {W.shape}, R {R.shape}")
    B = weights.get("B")
    B = np.zeros((D, 2 * G * H)) if B is None else B
    if B.shape != (D, 2 * G * H):
        raise ValueError(f"{where}: input B has shape {B.shape}; expected {(D, 2 * G * H)}")
    P = weights.get("P")
    if P is not None and P.shape != (D, 3 * H):
        raise ValueError(f"{where}: input P has shape {P.shape}; expected {(D, 3 * H)}")
    peepholes = P is not None and bool(np.any(P))
    cell = _cell(op, where, attrs, D, peepholes)
    order = GATE_ORDER[op]
    params = []
    for d in range(D):
        p = {"weight_ih": _blocks(W[d], order), "weight_hh": _blocks(R[d], order),
             "bias_ih": _blocks(B[d, :G * H], order), "bias_hh": _blocks(B[d, G * H:], order)}
        if peepholes:
            p["weight_peephole"] = P[d].reshape(3, H)[PEEPHOLE_ORDER]
        if cell == "lstm_coupled":
            p = _coupled(p)
        params.append({k: np.asarray(v, dtype=np.float64) for k, v in p.items()})
    return RecurrentLayer(where, cell, W.shape[2], H, D, layout, params, direction == "reverse")
