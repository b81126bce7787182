"""The registry of cell types by their config name."""
from __future__ import annotations

from .cell import Cell
from .gru import GRUCell
from .lstm import LSTMCell
from .rnn import ElmanCell

CELL_TYPES: tuple[str, ...] = ("rnn_tanh", "rnn_relu", "lstm", "gru")


def get_cell(name: str) -> Cell:
    """The cell object for `name`; ValueError for an unknown name."""
    if name == "rnn_tanh":
        return ElmanCell("tanh")
    if name == "rnn_relu":
        return ElmanCell("relu")
    if name == "lstm":
        return LSTMCell()
    if name == "gru":
        return GRUCell()
    raise ValueError(f"cell must be one of {', '.join(CELL_TYPES)}; got {name!r}")


def cell_spec(name: str) -> dict:
    """The description of cell `name` that the stream's `meta` carries: its state and gate names."""
    return get_cell(name).describe()
