"""The registry of cell types by their config name.

Adding a cell is one module in this package and one line in `_BUILT_IN`.
"""
from __future__ import annotations

from typing import Any

from .base import Cell
from .gru import GRUCell
from .gru_reset_before import ResetBeforeGRUCell
from .lstm import LSTMCell
from .lstm_coupled import CoupledLSTMCell
from .lstm_peephole import PeepholeLSTMCell
from .rnn import ElmanCell

_BUILT_IN: tuple[Cell, ...] = (
    ElmanCell("tanh"),
    ElmanCell("relu"),
    LSTMCell(),
    GRUCell(),
    PeepholeLSTMCell(),
    CoupledLSTMCell(),
    ResetBeforeGRUCell(),
)
_CELLS: dict[str, Cell] = {cell.name: cell for cell in _BUILT_IN}

CELL_TYPES: tuple[str, ...] = tuple(_CELLS)      # the built-in cells (the config's choices)


def get_cell(name: str) -> Cell:
    """The cell object for `name` (cells are stateless and shared); ValueError for an unknown name."""
    try:
        return _CELLS[name]
    except (KeyError, TypeError):
        raise ValueError(f"cell must be one of {', '.join(_CELLS)}; got {name!r}") from None


def cell_spec(name: str) -> dict:
    """The description of cell `name` that the stream's `meta` carries: its state and gate names."""
    return get_cell(name).describe()


def register_cell(cell: Cell) -> None:
    """Make `cell` available under `cell.name` (a new cell type defined outside this package)."""
    _CELLS[cell.name] = cell


def unregister_cell(name: str) -> None:
    """Remove a cell added by `register_cell` (the built-in ones stay)."""
    if name in CELL_TYPES:
        raise ValueError(f"{name!r} is a built-in cell")
    _CELLS.pop(name, None)


def cell_of_torch(module: Any) -> str:
    """The name of the cell whose equations a torch recurrent module computes; ValueError if none does."""
    for cell in _CELLS.values():
        if cell.reads_torch(module):
            return cell.name
    kinds = list(dict.fromkeys(c.torch_class for c in _CELLS.values() if c.torch_class))
    listed = ", ".join(kinds[:-1]) + " or " + kinds[-1] if len(kinds) > 1 else "".join(kinds)
    raise ValueError(f"expected a torch.nn.{listed}; got {type(module).__name__}")
