"""A model is a chain of segments on one time axis (docs/DESIGN.md, section "Trace contract").

Each segment covers the steps [start, stop), runs with its own weights (a parameter-name prefix:
"" for a plain network, "encoder." / "decoder." for an encoder–decoder), hands its state on to the
next segment attached (the gradient crosses back) or detached (only the value crosses: truncated
BPTT's windows, Elman's context units) and emits outputs (a head and a loss) or not. A plain run is
one emitting segment over [0, T); an encoder–decoder is a silent encoder followed by an emitting
decoder; truncate=k is k-step segments of one part handing on detached (k = 1: Elman's context
units). The recorder, the analysis and the event schedule all read the chain; nothing else
distinguishes these topologies.

A segment's name says which part of the model it is: consecutive segments of one part (the windows
of a truncated run) form one *stage*, which the event schedule, the diagnosis and the page show as
one block (`stages`).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

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


def window_chain(T: int, window: int) -> Chain:
    """Truncated BPTT(k, k) in one run with the weights fixed (k = window; 1: Elman's context units):
    k-step windows of the one part "all", each handing its state on detached (the last one's
    hand-off marks the run as truncated even when it has a single window)."""
    return tuple(Segment("all", start, min(start + window, T), handoff="detached") for start in range(0, T, window))


def check_chain(chain: Sequence[Segment], T: int) -> Chain:
    """The chain as a tuple; ValueError unless its segments are non-empty, in order and tile [0, T),
    and the segments of one part (name) are consecutive, with the same weights and emission."""
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
    parts = stages(chain)
    if len({seg.name for seg in parts}) != len(parts):
        raise ValueError("the segments of one part (name) must be consecutive")
    for seg in chain:
        part = next(p for p in parts if p.name == seg.name)
        if (seg.weights, seg.emits) != (part.weights, part.emits):
            raise ValueError(f"the segments of part {seg.name!r} must share weights and emission")
    return chain


def stages(chain: Sequence[Segment]) -> Chain:
    """The chain with consecutive segments of one part (name) merged: what the event schedule plays
    as one block (a truncated run is one stage; an encoder–decoder two)."""
    out: list[Segment] = []
    for seg in chain:
        if out and out[-1].name == seg.name:
            out[-1] = replace(out[-1], stop=seg.stop, handoff=seg.handoff)
        else:
            out.append(seg)
    return tuple(out)


def truncation_window(chain: Sequence[Segment]) -> int | None:
    """k when the chain hands on detached (truncated BPTT's k-step windows; 1: Elman's context
    units), None when every hand-off is attached."""
    if not any(seg.handoff == "detached" for seg in chain):
        return None
    return chain[0].steps


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


def mixed_steps(chain: Sequence[Segment], reverse: bool) -> list[int]:
    """Steps whose previous processed step ran with other weights (the hand-off edges between
    different weights, e.g. the context edge into a decoder)."""
    out = []
    for before, after in zip(chain, chain[1:]):
        if before.weights != after.weights:
            out.append(before.stop - 1 if reverse else after.start)
    return out
