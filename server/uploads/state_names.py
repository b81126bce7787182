"""From the arrays of a user's .npz to the engine's torch-named state dict and cell.

Accepted: the bare names of ``nn.RNN/LSTM/GRU.state_dict()`` (``weight_ih_l0`` …), or a whole
model's state dict (``rnn.weight_ih_l0``, ``fc.weight``, ``emb.weight``), by the one rule
``Network.from_state_dict`` uses too (engine.state_prefixes). With no output layer the head is the
identity (o_t = h_t, the module's own outputs), as ``engine.Network.from_torch(module)`` does without a head.
"""

from __future__ import annotations

import numpy as np

from unrolled.engine import get_cell
from unrolled.engine.state_prefixes import strip_prefixes
from unrolled.server.uploads.model_files import ModelFileError

CELL_BY_BLOCKS = {1: "rnn_tanh", 3: "gru", 4: "lstm"}


def engine_names(arrays: dict[str, np.ndarray], filename: str, field: str) -> dict[str, np.ndarray]:
    """The arrays under the engine's names by the shared rule (engine.state_prefixes), with the
    identity head when there is no output layer; ModelFileError naming the file and the cause."""
    try:
        return strip_prefixes(arrays, identity_head=True)
    except ValueError as exc:
        raise ModelFileError(f"{filename}: {exc}", field) from None


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
