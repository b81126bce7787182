"""Bring a user's own torch modules into the engine: nn.RNN / LSTM / GRU (any batch_first, num_layers,
bidirectional), the one-layer cell modules nn.RNNCell / LSTMCell / GRUCell, an optional nn.Embedding in
front and an optional nn.Linear head.

torch stays optional: it is imported only by the caller's objects, never here.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from .cells import cell_of_torch

CELL_MODULES = {"LSTMCell": "lstm", "GRUCell": "gru"}     # RNNCell: rnn_tanh / rnn_relu by its nonlinearity


@dataclass
class TorchNetwork:
    """What `Network.from_torch` needs: the engine-named state dict, the cell, sizes and input layout."""

    state: dict[str, np.ndarray]
    cell: str
    num_layers: int
    bidirectional: bool
    batch_first: bool


def _numpy(tensor: Any) -> np.ndarray:
    return tensor.detach().cpu().double().numpy()


def _recurrent(module: Any) -> tuple[str, int, bool, dict[str, np.ndarray]]:
    """(cell, num_layers, bidirectional, torch-named weights with _l{k} suffixes) of a recurrent module or cell."""
    kind = type(module).__name__
    source = {name: _numpy(t) for name, t in module.state_dict().items()}
    if kind == "RNNCell" or kind in CELL_MODULES:
        cell = f"rnn_{module.nonlinearity}" if kind == "RNNCell" else CELL_MODULES[kind]
        return cell, 1, False, {f"{name}_l0": value for name, value in source.items()}
    cell = cell_of_torch(module)
    if getattr(module, "dropout", 0) and getattr(module, "training", False) and module.num_layers > 1:
        warnings.warn(f"{kind} is in train mode with dropout={module.dropout}: torch would drop between layers "
                      "on every call; the engine computes the eval-mode network (call module.eval() to match it)",
                      stacklevel=4)
    return cell, int(module.num_layers), bool(module.bidirectional), source


def state_from_torch(module: Any, head: Any = None, embedding: Any = None) -> TorchNetwork:
    """The engine's view of a torch recurrent module with an optional Linear head and Embedding.

    Without a head the output layer is the identity on the top hidden state (o_t = h_t), so the
    logits are the module's own outputs. Biases of a module built with bias=False become zeros.
    """
    cell, layers, bidirectional, source = _recurrent(module)
    H = int(module.hidden_size)
    directions = 2 if bidirectional else 1
    state: dict[str, np.ndarray] = {}
    for k in range(layers):
        for d in range(directions):
            s = f"_l{k}{'_reverse' if d else ''}"
            state[f"weight_ih{s}"] = source[f"weight_ih{s}"]
            state[f"weight_hh{s}"] = source[f"weight_hh{s}"]
            rows = state[f"weight_hh{s}"].shape[0]
            state[f"bias_ih{s}"] = source.get(f"bias_ih{s}", np.zeros(rows))
            state[f"bias_hh{s}"] = source.get(f"bias_hh{s}", np.zeros(rows))
    if head is None:
        state["head.weight"] = np.eye(H * directions)
        state["head.bias"] = np.zeros(H * directions)
    else:
        if type(head).__name__ != "Linear":
            raise ValueError(f"head must be a torch.nn.Linear; got {type(head).__name__}")
        state["head.weight"] = _numpy(head.weight)
        bias = getattr(head, "bias", None)
        state["head.bias"] = np.zeros(state["head.weight"].shape[0]) if bias is None else _numpy(bias)
    if embedding is not None:
        state["embedding.weight"] = _embedding(embedding)
    return TorchNetwork(state, cell, layers, bidirectional, bool(getattr(module, "batch_first", False)))


def _embedding(embedding: Any) -> np.ndarray:
    """An nn.Embedding's table; ValueError for options that change the forward pass."""
    if type(embedding).__name__ != "Embedding":
        raise ValueError(f"embedding must be a torch.nn.Embedding; got {type(embedding).__name__}")
    if embedding.max_norm is not None:
        raise ValueError("embedding: max_norm renormalises rows during the forward pass; not supported")
    if embedding.padding_idx is not None or embedding.scale_grad_by_freq:
        warnings.warn("embedding: padding_idx / scale_grad_by_freq change only torch's gradient of the table; "
                      "the engine's ∂L/∂embedding.weight is the plain one", stacklevel=4)
    return _numpy(embedding.weight)
