"""Recurrent cells: one module per cell (rnn, lstm, gru, lstm_peephole, lstm_coupled,
gru_reset_before), their common interface and the registry.

Each cell module holds the cell's lecture equations, forward and backward, in its docstring; see
docs/DESIGN.md, section "Cells".
"""
from .base import Cell, GradStep, StepRecord
from .registry import CELL_TYPES, cell_of_torch, cell_spec, get_cell, register_cell, unregister_cell

__all__ = ["CELL_TYPES", "Cell", "GradStep", "StepRecord", "cell_of_torch", "cell_spec", "get_cell",
           "register_cell", "unregister_cell"]
