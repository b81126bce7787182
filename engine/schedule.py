"""The event schedule: how many events a stream has and in which blocks they come.

A stream is a sequence of blocks, each one kind of event over one segment of the time axis:

    forward  hidden   every h-node step of the segment (layer by layer, each direction in its order)
    forward  outputs  logits and loss for every step of an emitting segment (2 events a step)
    backward outputs  logits for every step of an emitting segment, last step first
    backward hidden   every h-node step of the segment, top layer first, each direction reversed

Forward blocks come in segment order, backward blocks in the reverse order. A plain run is one
emitting segment covering [0, T); an encoder–decoder is a silent encoder segment followed by an
emitting decoder segment. The server's pacing, the page's jumps and local replay all read this
schedule (it travels in the stream's `meta` message); nothing else counts events.
"""
from __future__ import annotations

from collections.abc import Sequence

from .chain import Segment, stages


def event_schedule(num_layers: int, directions: int, segments: Sequence[Segment]) -> dict:
    """The schedule of a stream over `segments` (JSON-ready), each stage one block: consecutive
    segments of one part (a truncated run's windows) are merged (engine.chain.stages).

    Returns {"total", "forward_events", "segments": [{name, start, stop, emits}],
    "blocks": [{"phase", "kind", "segment", "start", "stop"}]} where each block's start/stop
    are event sequence numbers (stop exclusive) and blocks tile [0, total) in order.
    """
    segments = stages(segments)
    per_step = num_layers * directions
    sizes: list[tuple[str, str, str, int]] = []
    for seg in segments:
        sizes.append(("forward", "hidden", seg.name, per_step * seg.steps))
        if seg.emits:
            sizes.append(("forward", "outputs", seg.name, 2 * seg.steps))
    for seg in reversed(segments):
        if seg.emits:
            sizes.append(("backward", "outputs", seg.name, seg.steps))
        sizes.append(("backward", "hidden", seg.name, per_step * seg.steps))
    blocks, seq = [], 0
    for phase, kind, name, size in sizes:
        if size:
            blocks.append({"phase": phase, "kind": kind, "segment": name, "start": seq, "stop": seq + size})
        seq += size
    forward = sum(b["stop"] - b["start"] for b in blocks if b["phase"] == "forward")
    return {"total": seq, "forward_events": forward,
            "segments": [{"name": s.name, "start": s.start, "stop": s.stop, "emits": s.emits} for s in segments],
            "blocks": blocks}


def plain_schedule(T: int, num_layers: int, directions: int) -> dict:
    """The schedule of an ordinary run: one emitting segment over [0, T)."""
    return event_schedule(num_layers, directions, [Segment("all", 0, T)])


def event_count(T: int, num_layers: int, directions: int) -> int:
    """How many events a full stream of an ordinary run has."""
    return plain_schedule(T, num_layers, directions)["total"]
