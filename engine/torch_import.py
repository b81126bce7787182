"""Bring a user's own torch.nn.RNN / LSTM / GRU (and its nn.Linear head) into the engine.

torch stays optional: it is imported only by the caller's objects, never here.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .cells import cell_of_torch


def state_from_torch(module: Any, head: Any = None) -> tuple[dict[str, np.ndarray], str, int, bool]:
    """(state dict, cell, num_layers, bidirectional) of a torch recurrent module and optional Linear head.

    Without a head the output layer is the identity on the top hidden state (o_t = h_t), so the
    logits are the module's own outputs. Biases of a module built with bias=False become zeros.
    Dropout between layers is a training-time device and is ignored (eval-mode numbers).
    """
    cell = cell_of_torch(module)
    layers, bidirectional = int(module.num_layers), bool(module.bidirectional)
    H, directions = int(module.hidden_size), 2 if bidirectional else 1
    source = {name: tensor.detach().cpu().double().numpy() for name, tensor in module.state_dict().items()}
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
        weight = head.weight.detach().cpu().double().numpy()
        state["head.weight"] = weight
        bias = getattr(head, "bias", None)
        state["head.bias"] = np.zeros(weight.shape[0]) if bias is None else bias.detach().cpu().double().numpy()
    return state, cell, layers, bidirectional
