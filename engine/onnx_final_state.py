"""Reading a final-state head from an ONNX graph: `head(cat(h_n[-2], h_n[-1]))` (engine.readout).

A recurrent node's Y_h is each direction's last processed state: the forward direction's at its last
real step (T − 1, or sequence_lens[b] − 1), the reverse direction's at t = 0. The importer follows it
as a *final-state probe*: integer ids, like the sequence probes (engine.onnx_import), but negative —
−(1 + the id of the Y position it equals when the batch is not padded) — so that the glue between Y_h
and the head (Concat of the layers' Y_h, Gather / Slice of h_n[-2] and h_n[-1], Concat, Flatten, …)
moves them exactly as it moves the data, and they stay distinct from Y's own positions (Y at t = T − 1
is padding, not the final state, for a shorter sequence).

At the head each row must be one batch element's cat(forward final state, reverse final state) of the
last layer, features in order: read from Y_h, or from Y sliced at the last step (forward) and the first
step (reverse) when the graph has no sequence_lens. Then the network's readout is "final_state".
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .onnx_graph import GLUE


@dataclass(frozen=True)
class FinalProbe:
    """The positions of the recurrent layers' final states (Y_h), as moved by the glue (negative ids)."""

    ids: np.ndarray


def move_final_states(op: str, args: list, attrs: dict, where: str) -> FinalProbe:
    """A glue operator applied to final-state probes (and constants): the ids moved as the data would be."""
    if op not in GLUE or op in ("Shape", "Expand", "ConstantOfShape"):
        raise ValueError(f"{where}: op type {op} on a layer's final state (Y_h) is not supported")
    return FinalProbe(GLUE[op]([a.ids if isinstance(a, FinalProbe) else a for a in args], attrs))


def state_ids(y: np.ndarray, reverse_only: bool, layout: int) -> np.ndarray:
    """A recurrent node's Y_h as a final-state probe, from its Y ids y (T, B, D, H): (D, B, H) ids
    −(1 + Y's id at each direction's final step), (B, D, H) when the node's layout is batch-first."""
    T, D = y.shape[0], y.shape[2]
    finals = [y[0 if (d == 1 or reverse_only) else T - 1, :, d, :] for d in range(D)]   # (B, H) each
    ids = -(1 + np.stack(finals))                                                       # (D, B, H)
    return np.swapaxes(ids, 0, 1) if layout else ids


def expected_rows(y: np.ndarray) -> np.ndarray:
    """(B, D·H) the ids of cat(h_n[-2], h_n[-1]) for the last layer's Y ids y (T, B, D, H), taken from
    Y itself (forward at T − 1, reverse at t = 0); negate and subtract 1 for the Y_h form."""
    T, B, D, H = y.shape
    parts = [y[T - 1, :, 0, :]] + ([y[0, :, 1, :]] if D == 2 else [])
    return np.concatenate(parts, axis=1)


def match_final_rows(ids: np.ndarray, y: np.ndarray, padded: bool, where: str) -> np.ndarray | None:
    """The batch element each row of `ids` (…, D·H) reads when every row is one element's final states
    in order (from Y_h, or from Y at the last/first step); None when the rows are something else.
    ValueError naming the node for Y sliced at the last step of a padded batch (that is padding)."""
    want = expected_rows(y)                                       # (B, F)
    B, F = want.shape
    if ids.shape[-1] != F:
        return None
    rows = ids.reshape(-1, F)
    for form, sliced in ((-(1 + want), False), (want, True)):
        index = {tuple(row): b for b, row in enumerate(form)}
        found = [index.get(tuple(row)) for row in rows]
        if all(b is not None for b in found):
            if sliced and padded:
                raise ValueError(f"{where} reads the recurrent output Y at its last step, which is padding for a "
                                 "sequence shorter than T (sequence_lens); read the final states from Y_h instead")
            return np.asarray(found, dtype=np.int64).reshape(ids.shape[:-1])
    return None


def reads_final_states(ids: np.ndarray) -> bool:
    """True when `ids` hold final-state positions (every id negative)."""
    return ids.size > 0 and bool(np.all(ids < 0))
