"""A model is a chain of segments on one time axis (docs/DESIGN.md, section "Trace contract").

Each segment covers the steps [start, stop), runs with its own weights (a parameter-name prefix:
"" for a plain network, "encoder." / "decoder." for an encoder–decoder), hands its state on to the
next segment attached (the gradient crosses back) or detached (only the value crosses: truncated
BPTT's windows, Elman's context units) and emits outputs (a head and a loss) or not. A plain run is
one emitting segment over [0, T); an encoder–decoder is a silent encoder followed by an emitting
decoder. The recorder, the analysis and the event schedule all read the chain; nothing else
distinguishes these topologies.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

HANDOFFS = ("attached", "detached")


@dataclass(frozen=True)
class Segment:
    """Steps [start, stop) of the time axis: their weights, their hand-off to the next segment and
    whether they emit outputs."""

    name: str
    start: int
    stop: int
    emits: bool = True
    weights: str = ""                   # parameter-name prefix of this segment's weights
    handoff: str = "attached"           # into the next segment: "attached" | "detached"

    @property
    def steps(self) -> int:
        """How many steps the segment covers."""
        return self.stop - self.start

    @property
    def span(self) -> slice:
        """Its steps as a slice of the time axis."""
        return slice(self.start, self.stop)

    def as_dict(self) -> dict:
        """{name, start, stop} (the encoder–decoder's `segments` wire entry)."""
        return {"name": self.name, "start": self.start, "stop": self.stop}


Chain = tuple[Segment, ...]


def plain_chain(T: int) -> Chain:
    """An ordinary run: one emitting segment over [0, T) with the network's own weights."""
    return (Segment("all", 0, T),)


def check_chain(chain: Sequence[Segment], T: int) -> Chain:
    """The chain as a tuple; ValueError unless its segments are non-empty, in order and tile [0, T)."""
    chain = tuple(chain)
    if not chain:
        raise ValueError("a chain needs at least one segment")
    edge = 0
    for seg in chain:
        if seg.start != edge or seg.stop <= seg.start:
            raise ValueError(f"segments must tile the {T} steps in order without gaps; got {seg}")
        if seg.handoff not in HANDOFFS:
            raise ValueError(f"handoff must be one of {', '.join(HANDOFFS)}; got {seg.handoff!r}")
        edge = seg.stop
    if edge != T:
        raise ValueError(f"segments must tile the {T} steps; they end at {edge}")
    return chain


def weight_layout(chain: Sequence[Segment]) -> dict[str, bool]:
    """Weight prefix → whether it has a head (some segment with those weights emits), in order."""
    out: dict[str, bool] = {}
    for seg in chain:
        out[seg.weights] = out.get(seg.weights, False) or seg.emits
    return out


def steps_where(chain: Sequence[Segment], keep: Callable[[Segment], bool]) -> slice | np.ndarray:
    """The steps of the segments `keep` selects: a slice when they are contiguous (a whole-axis
    slice for a one-segment chain), else an index array."""
    picked = [seg for seg in chain if keep(seg)]
    if not picked:
        return slice(0, 0)
    if all(a.stop == b.start for a, b in zip(picked, picked[1:])):
        return slice(picked[0].start, picked[-1].stop)
    return np.concatenate([np.arange(seg.start, seg.stop) for seg in picked])


def cut_steps(chain: Sequence[Segment], reverse: bool) -> frozenset[int]:
    """Steps after whose backward step the carried recurrent gradient stops: the first step a
    direction processes after each detached hand-off."""
    cuts = set()
    for before, after in zip(chain, chain[1:]):
        if before.handoff == "detached":
            cuts.add(before.stop - 1 if reverse else after.start)
    return frozenset(cuts)


def window_cuts(T: int, window: int | None, reverse: bool) -> frozenset[int]:
    """The cuts of windows of `window` processed steps (truncate=k; 1 is Elman's context units)."""
    if window is None:
        return frozenset()
    return frozenset((T - 1 - i) if reverse else i for i in range(0, T, window))


def mixed_steps(chain: Sequence[Segment], reverse: bool) -> list[int]:
    """Steps whose previous processed step ran with other weights (the hand-off edges between
    different weights, e.g. the context edge into a decoder)."""
    out = []
    for before, after in zip(chain, chain[1:]):
        if before.weights != after.weights:
            out.append(before.stop - 1 if reverse else after.start)
    return out
