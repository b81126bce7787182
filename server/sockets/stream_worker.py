"""One stream's engine work: building the source, each step, the final summary, off the event loop.

The worker serialises every event in its thread (server.wire.events.encode_event) and stays at
most ``prefetch`` events ahead of what the client has received, except while the client plays at
delay 0 (``compute_ahead``: it wants them all at once). Workers take turns per event
(the slots' ``compute`` permits) so the event loop keeps getting the GIL however many streams run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from unrolled.server.runs import StreamSource
from unrolled.server.sockets.slots import EngineSlots
from unrolled.server.sockets.worker import POLL_S, ThreadWorker
from unrolled.server.wire.events import encode_event
from unrolled.server.wire.messages import summary_message
from unrolled.server.wire.serialize import dumps

EVENT_BATCH = 16  # events handed to the event loop per wake-up while the client is ahead
AHEAD_UNBOUNDED = 1 << 30  # credits added while the client plays at delay 0 (taken back when it stops)


@dataclass(frozen=True)
class EventInfo:
    """What the pacing needs to know about an event without parsing its JSON."""

    seq: int
    phase: str
    node: str
    t: int
    norm: float
    padding: bool = False  # the step is padding for every batch element


class EngineWorker(ThreadWorker):
    """One stream in a daemon thread. Queue items: ("meta", dict), ("event", json_text, EventInfo),
    ("summary", json_text), ("error", detail), and finally ("end",)."""

    thread_name = "unrolled-stream"

    def __init__(self, make_source: Callable[[], StreamSource], slots: EngineSlots, prefetch: int,
                 encoding: str = "json") -> None:
        super().__init__(slots, batch=EVENT_BATCH)
        self._make_source = make_source
        self._encoding = encoding  # the start message's "encoding" (server.wire.events.encode_event)
        self._source: StreamSource | None = None
        self._credits = prefetch  # events the worker may compute ahead of the client
        self._credit_lock = threading.Lock()
        self._credit_returned = threading.Event()
        self._worker_waiting = False
        self._unbounded = False

    def consumed(self) -> None:
        """The client received one event: the worker may compute one more. (A plain lock
        and counter: a threading.Semaphore's release costs the event loop ~50 µs per event.)"""
        with self._credit_lock:
            self._credits += 1
            if self._worker_waiting:
                self._credit_returned.set()

    def compute_ahead(self, unbounded: bool) -> None:
        """Unbounded: compute every event without waiting for the client (it plays at delay 0 and wants
        them all; the run's size bounds what is held). Else at most ``prefetch`` ahead of it again."""
        with self._credit_lock:
            if unbounded == self._unbounded:
                return
            self._unbounded = unbounded
            self._credits += AHEAD_UNBOUNDED if unbounded else -AHEAD_UNBOUNDED
            if self._worker_waiting:
                self._credit_returned.set()

    def _take_credit(self) -> bool:
        with self._credit_lock:
            if self._credits > 0:
                self._credits -= 1
                self._worker_waiting = False
                return True
            self._worker_waiting = True
            self._credit_returned.clear()
            return False

    def _wait_for_credit(self) -> bool:
        if self._take_credit():
            return True
        self.flush()  # about to wait for the client: it must have everything computed so far
        while not self.stopped:
            self._credit_returned.wait(POLL_S)
            if self._take_credit():
                return True
        return False

    def work(self) -> None:
        """Build the source, then compute and encode one event per credit, then the summary."""
        compute = self.slots.compute
        with self.computing(compute):
            source = self._source = self._make_source()
        self.emit("meta", source.meta)
        seq = 0
        while self._wait_for_credit():
            with self.computing(compute):
                event = next(source.events, None)
                if event is None:
                    break
                text = encode_event(event, seq, source.batch_index, self._encoding)
            info = EventInfo(seq, event.phase, event.node, int(event.t), float(event.norm),
                             bool(event.padding))
            self.emit_batched("event", text, info)
            seq += 1
        self.flush()  # the last events go out now, not after the summary's Jacobians
        if not self.stopped:
            with self.computing(compute):  # the costliest step (Jacobian SVDs): within the permits too
                summary = dumps(summary_message(source.finished_trace()))
            self.emit_final("summary", summary)

    def cleanup(self) -> None:
        """Close the engine run."""
        if self._source is not None:
            self._source.close()
