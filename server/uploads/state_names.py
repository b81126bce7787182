"""From the arrays of a user's .npz to the engine's torch-named state dict and cell.

Accepted: the bare names of ``nn.RNN/LSTM/GRU.state_dict()`` (``weight_ih_l0`` …), or a whole
model's state dict whose recurrent module sits under one prefix (``lstm.weight_ih_l0`` …). The output
layer is ``head.weight``/``head.bias`` or, failing that, the one other 2-D ``*weight`` array (with its
``*bias``, zeros if absent). With no such array the head is the identity (o_t = h_t, the module's own
outputs), as ``engine.Network.from_torch(module)`` does without a head.
"""

from __future__ import annotations

import re

import numpy as np

from unrolled.engine import get_cell
from unrolled.server.uploads.model_files import ModelFileError

# the peepholes of lstm_peephole (a cell of the lectures) travel with the recurrent weights
RECURRENT_NAME = re.compile(r"^(?P<prefix>.*?)(?P<name>((weight|bias)_(ih|hh)|weight_peephole)_l\d+(_reverse)?)$")
CELL_BY_BLOCKS = {1: "rnn_tanh", 3: "gru", 4: "lstm"}


def split_recurrent(arrays: dict[str, np.ndarray], filename: str, field: str) -> tuple[dict, dict]:
    """(recurrent arrays under their bare torch names, every other array)."""
    recurrent, rest, prefixes = {}, {}, set()
    for key, value in arrays.items():
        match = RECURRENT_NAME.match(key)
        if match:
            prefixes.add(match["prefix"])
            recurrent[match["name"]] = value
        else:
            rest[key] = value
    if len(prefixes) > 1:
        shown = ", ".join(repr(p) for p in sorted(prefixes))
        raise ModelFileError(f"{filename} holds several recurrent modules (prefixes {shown}); save one "
                             "nn.RNN / LSTM / GRU (and its Linear head)", field)
    if "weight_hh_l0" not in recurrent or "weight_ih_l0" not in recurrent:
        raise ModelFileError(f"{filename} has no 'weight_ih_l0' / 'weight_hh_l0': expected the state dict of a "
                             f"torch.nn.RNN, LSTM or GRU (np.savez(path, **{{k: v.numpy() for k, v in "
                             f"module.state_dict().items()}})); it holds {', '.join(sorted(arrays)) or 'nothing'}",
                             field)
    return recurrent, rest


def infer_cell(recurrent: dict[str, np.ndarray], cell: str | None, filename: str, field: str) -> str:
    """The cell named by the user, checked against weight_hh_l0's shape, or read off that shape."""
    w = np.asarray(recurrent["weight_hh_l0"])
    blocks = w.shape[0] // w.shape[1] if w.ndim == 2 and w.shape[1] and w.shape[0] % w.shape[1] == 0 else None
    if blocks not in CELL_BY_BLOCKS:
        raise ModelFileError(f"{filename}['weight_hh_l0'] has shape {w.shape}; expected (k·H, H) with k = 1 "
                             "(rnn), 3 (gru) or 4 (lstm)", field)
    if cell is None and blocks == 1:          # issue 21: tanh or ReLU is not in the weights; never guess it
        raise ModelFileError(f"{filename}['weight_hh_l0'] of shape {w.shape} is a plain RNN, but its weights do not "
                             "say whether it uses tanh or ReLU: name the cell (--cell rnn_tanh or --cell rnn_relu; "
                             "the upload form's cell)", "cell")
    if cell is None:
        return CELL_BY_BLOCKS[blocks]
    needed = get_cell(cell).blocks                      # every registered cell, the lectures' ones included
    if needed != blocks:
        raise ModelFileError(f"{filename}['weight_hh_l0'] has shape {w.shape}: a {cell} needs "
                             f"({needed}·H, H) = ({needed * w.shape[1]}, {w.shape[1]}); "
                             f"this looks like a {CELL_BY_BLOCKS[blocks]}", "cell")
    return cell


def head_arrays(rest: dict[str, np.ndarray], width: int, filename: str, field: str) -> dict[str, np.ndarray]:
    """head.weight / head.bias from the non-recurrent arrays (identity when there are none)."""
    if "head.weight" in rest:
        weight_key = "head.weight"
    else:
        candidates = [k for k, v in rest.items() if k.endswith("weight") and np.ndim(v) == 2]
        if len(candidates) > 1:
            raise ModelFileError(f"{filename}: cannot tell which array is the output layer ({', '.join(candidates)}); "
                                 "name it head.weight / head.bias", field)
        weight_key = candidates[0] if candidates else None
    if weight_key is None:
        if rest:
            raise ModelFileError(f"{filename}: unexpected arrays {', '.join(sorted(rest))} (expected only the "
                                 "recurrent weights and an optional Linear head)", field)
        return {"head.weight": np.eye(width), "head.bias": np.zeros(width)}
    bias_key = weight_key[: -len("weight")] + "bias"
    weight = np.asarray(rest[weight_key])
    leftover = sorted(set(rest) - {weight_key, bias_key})
    if leftover:
        raise ModelFileError(f"{filename}: unexpected arrays {', '.join(leftover)} beside the output layer "
                             f"{weight_key}", field)
    bias = rest.get(bias_key, np.zeros(weight.shape[0]))
    return {"head.weight": weight, "head.bias": bias}
