"""Driving the engine's event generator for one socket stream, off the event loop.

* :class:`StreamSlots` bounds how many engine runs a process does at once; a
  socket start beyond them waits in a bounded first-come queue (``queued``
  messages tell the client its place).
* :class:`EngineWorker` runs one stream's engine work (building the data and
  network, each step, the final summary) in its own thread, serialises every
  event there (:func:`encode_event`, vectorised), and hands the results to the
  event loop in small batches, at most ``prefetch`` events ahead of what the
  client has received. Workers take turns (``COMPUTE_PERMITS``) so the event
  loop keeps getting the GIL however many streams are open.
* :class:`StreamSession` paces those results to the client: ``play`` with a
  delay, ``step`` one event at a time, ``pause``, and breakpoints.

A breakpoint fires at the first event of each node (per stream) that meets its
condition, so resuming does not stop again at every following step of that node.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import numpy as np

from unrolled.server.messages import (DONE_MESSAGE, STREAM_DIGITS, error_message, event_message, paused_message,
                             summary_message)
from unrolled.server.runs import StreamSource
from unrolled.server.serialize import dumps, round_significant
from unrolled.server.settings import settings

BREAK_KINDS = ("nonfinite", "grad_below", "grad_above")
# Stream workers take turns per event: only this many run Python at once, however many
# streams are open, so the event loop (sockets, /healthz) rarely waits long for the GIL.
# Waiting for a permit blocks in C without holding the GIL.
COMPUTE_PERMITS = threading.BoundedSemaphore(settings.compute_threads)
_POLL_S = 0.05  # how often a waiting worker checks whether it was stopped
_EVENT_BATCH = 16  # events handed to the event loop per wake-up while the client is ahead
_JOIN_TIMEOUT_S = 5.0  # a stopped worker finishes its current engine step first


class StreamSlots:
    """The engine runs in progress (shared by sockets and REST), with a fair queue.

    ``try_acquire`` never waits (REST and training use it); ``acquire`` lets a
    socket stream wait its turn in a bounded first-come, first-served queue,
    told its position as it moves up. A released slot goes straight to the
    first waiter, so a newcomer's ``try_acquire`` cannot jump the queue.
    ``release`` may be called from any thread.
    """

    def __init__(self, size: int, max_queued: int = 0) -> None:
        self.size = size
        self.max_queued = max_queued
        self._free = size
        self._lock = threading.Lock()
        self._waiters: deque[_Waiter] = deque()

    def try_acquire(self) -> bool:
        """Take a slot if one is free and nobody is queued; never waits."""
        with self._lock:
            if self._free > 0 and not self._waiters:
                self._free -= 1
                return True
            return False

    def release(self) -> None:
        """Give a slot back: to the first waiter still waiting, else to the pool."""
        with self._lock:
            while self._waiters:
                waiter = self._waiters.popleft()
                try:
                    waiter.loop.call_soon_threadsafe(self._grant, waiter)
                    return
                except RuntimeError:  # that waiter's event loop is gone
                    continue
            if self._free >= self.size:
                raise ValueError("StreamSlots released more often than acquired")
            self._free += 1

    def _grant(self, waiter: "_Waiter") -> None:
        if waiter.future.done():  # it stopped waiting meanwhile: pass the slot on
            self.release()
        else:
            waiter.future.set_result(True)

    @property
    def queued(self) -> int:
        """How many streams are waiting for a slot."""
        with self._lock:
            return len(self._waiters)

    def _position(self, waiter: "_Waiter") -> int:
        with self._lock:
            try:
                return self._waiters.index(waiter) + 1
            except ValueError:
                return 0

    async def acquire(self, on_position: Callable[[int], Awaitable[None]], report_every_s: float = 1.0) -> bool:
        """A slot, waiting in the queue if none is free (``on_position(n)`` is awaited
        whenever the place in the queue changes, 1 = next); False when the queue is full.
        Cancelling the wait leaves the queue (and passes on a slot granted meanwhile)."""
        if self.try_acquire():
            return True
        loop = asyncio.get_running_loop()
        waiter = _Waiter(loop, loop.create_future())
        with self._lock:
            if self._free > 0 and not self._waiters:  # freed since try_acquire
                self._free -= 1
                return True
            if len(self._waiters) >= self.max_queued:
                return False
            self._waiters.append(waiter)
        try:
            reported = 0
            while True:
                position = self._position(waiter)
                if position and position != reported:
                    reported = position
                    await on_position(position)
                await asyncio.wait([waiter.future], timeout=report_every_s)
                if waiter.future.done():
                    return True
        except BaseException:
            with self._lock:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
            if waiter.future.done() and not waiter.future.cancelled():
                self.release()  # granted just as the wait was cancelled
            else:
                waiter.future.cancel()  # a grant still in flight passes the slot on
            raise

    def busy_detail(self) -> str:
        """The error text a client gets when every slot (and every queue place) is taken."""
        queue = f" and {self.max_queued} more are waiting" if self.max_queued else ""
        return (f"busy: the server is already running {self.size} traces at once{queue}; "
                f"try again in a moment")


@dataclass(eq=False)
class _Waiter:
    """One queued acquire: the event loop to wake and the future that carries the grant."""

    loop: asyncio.AbstractEventLoop
    future: asyncio.Future


@dataclass(frozen=True)
class EventInfo:
    """What the pacing needs to know about an event without parsing its JSON."""

    seq: int
    phase: str
    node: str
    t: int
    norm: float
    nonfinite: bool


class EngineWorker:
    """One stream's engine work in a daemon thread; results arrive on ``queue``.

    Queue items: ("meta", dict), ("event", json_text, EventInfo), ("summary", json_text),
    ("error", detail), and finally ("end",). The thread stops soon after ``stop()``,
    between two engine steps, and always releases its slot and closes the run.
    """

    def __init__(self, make_source: Callable[[], StreamSource], slots: StreamSlots, prefetch: int) -> None:
        self.queue: asyncio.Queue = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._make_source = make_source
        self.slots = slots
        self._credits = prefetch  # events the worker may compute ahead of the client
        self._credit_lock = threading.Lock()
        self._credit_returned = threading.Event()
        self._worker_waiting = False
        self._stopped = threading.Event()
        self._pending: list[tuple] = []  # events computed but not yet handed to the loop
        self.thread = threading.Thread(target=self._run, name="unrolled-stream", daemon=True)

    def start(self) -> None:
        """Start the thread (the caller has already taken a slot for it; the thread releases it)."""
        self.thread.start()

    def stop(self) -> None:
        """Ask the thread to finish; it exits at its next check."""
        self._stopped.set()

    def consumed(self) -> None:
        """The client received one event: the worker may compute one more. (A plain lock
        and counter: a threading.Semaphore's release costs the event loop ~50 µs per event.)"""
        with self._credit_lock:
            self._credits += 1
            if self._worker_waiting:
                self._credit_returned.set()

    def _emit(self, *item) -> None:
        """Hand one item to the event loop, after any events still held back."""
        self._pending.append(item)
        self._flush()

    def _emit_event(self, *item) -> None:
        """Events travel in small batches (one loop wake-up each) while the client is
        well supplied, and at once when its queue has run dry."""
        self._pending.append(item)
        if len(self._pending) >= _EVENT_BATCH or self.queue.empty():
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        try:
            self._loop.call_soon_threadsafe(self._put_all, batch)
        except RuntimeError:  # the event loop is gone: nobody is listening any more
            self._stopped.set()

    def _put_all(self, batch: list[tuple]) -> None:
        for item in batch:
            self.queue.put_nowait(item)

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
        self._flush()  # about to wait for the client: it must have everything computed so far
        while not self._stopped.is_set():
            self._credit_returned.wait(_POLL_S)
            if self._take_credit():
                return True
        return False

    def _run(self) -> None:
        source = None
        try:
            with COMPUTE_PERMITS:
                source = self._make_source()
            self._emit("meta", source.meta)
            seq = 0
            while self._wait_for_credit():
                with COMPUTE_PERMITS:
                    event = next(source.events, None)
                    if event is None:
                        break
                    text, nonfinite = encode_event(event, seq, source.batch_index)
                info = EventInfo(seq, event.phase, event.node, int(event.t), float(event.norm), nonfinite)
                self._emit_event("event", text, info)
                seq += 1
            if not self._stopped.is_set():
                self._emit("summary", dumps(summary_message(source.finished_trace())))
        except Exception as exc:  # an engine failure is reported to the client, never raised
            self._emit("error", f"the run failed: {type(exc).__name__}: {exc}")
        finally:
            try:
                if source is not None:
                    source.close()
            finally:
                self.slots.release()
                self._emit("end")


def encode_event(event, seq: int, batch_index: int) -> tuple[str, bool]:
    """(JSON text, nonfinite) of ``messages.event_message(event, seq, batch_index)``, fast.

    The stream's hot path: an event's values share one shape, so they are
    stacked and rounded, normed and checked in one NumPy call each, and the
    message (already JSON-safe) is encoded without a second walk. Events with
    a non-finite value, or values of different shapes, take the general path.
    """
    arrays = [np.asarray(v) for v in event.values.values()]
    norm = float(event.norm)
    if arrays and math.isfinite(norm) and all(a.shape == arrays[0].shape for a in arrays):
        stacked = np.stack(arrays).astype(np.float64, copy=False)
        if bool(np.isfinite(stacked).all()):
            if stacked.ndim == 1:  # scalars (the loss): one value each
                elements, batch_norms = stacked[:, None], np.abs(stacked)
            else:
                elements = stacked[:, batch_index]
                with np.errstate(over="ignore"):
                    batch_norms = np.sqrt((stacked ** 2).sum(axis=-1)).mean(axis=-1)
            if bool(np.isfinite(batch_norms).all()):
                names = list(event.values)
                message = {
                    "type": "event", "seq": seq, "phase": event.phase, "node": event.node, "t": int(event.t),
                    "layer": event.layer, "direction": int(event.direction), "norm": norm,
                    "values": dict(zip(names, round_significant(elements, STREAM_DIGITS).tolist())),
                    "norms": dict(zip(names, batch_norms.tolist())),
                }
                return json.dumps(message, separators=(",", ":"), allow_nan=False), False
    message, nonfinite = event_message(event, seq, batch_index)
    return dumps(message), nonfinite


def queued_message(position: int, slots: int) -> dict:
    """Every slot is busy: the stream starts when its turn comes (1 = next)."""
    return {"type": "queued", "position": position,
            "detail": f"waiting for a free slot: number {position} in the queue "
                      f"(the server runs {slots} traces at once)"}


def breakpoint_hit(info: EventInfo, breakpoints: dict[str, float | None]) -> tuple[str, str] | None:
    """(reason, detail) of the first breakpoint this event meets, else None.

    ``nonfinite`` looks at every event; the gradient breakpoints at the gradient
    norm of hidden nodes in the backward phase.
    """
    if "nonfinite" in breakpoints and info.nonfinite:
        return "nonfinite", f"non-finite values at {info.phase} {info.node} t={info.t}"
    if info.phase != "backward" or not info.node.startswith("h_") or math.isnan(info.norm):
        return None
    where = f"‖∂L/∂h‖ = {info.norm:.4g} at {info.node} t={info.t}"
    below = breakpoints.get("grad_below")
    if below is not None and info.norm < below:
        return "grad_below", f"{where} < {below:.4g}"
    above = breakpoints.get("grad_above")
    if above is not None and info.norm > above:
        return "grad_above", f"{where} > {above:.4g}"
    return None


class StreamSession:
    """Paces one worker's results to the client according to play/step/pause and breakpoints."""

    def __init__(
        self,
        worker: EngineWorker,
        send_text: Callable[[str], Awaitable[None]],
        breakpoints: dict[str, float | None],
        mode: str,
        delay_ms: int,
        idle_timeout_s: float,
    ) -> None:
        self.worker = worker
        self._idle_timeout_s = idle_timeout_s
        self._send_text = send_text
        self._breakpoints = breakpoints  # shared with the connection: edits apply at once
        self.playing = mode == "play"
        self.delay_ms = delay_ms
        self._step_credits = 0
        self._go = asyncio.Event()
        if self.playing:
            self._go.set()
        self.last_seq = -1
        self.total_events: int | None = None
        self._fired: set[tuple[str, str]] = set()
        self.task: asyncio.Task | None = None

    # -- client commands ---------------------------------------------------------------------
    def play(self, delay_ms: int | None) -> None:
        """Stream continuously (resumes after a pause or a breakpoint)."""
        if delay_ms is not None:
            self.delay_ms = delay_ms
        self.playing = True
        self._go.set()

    def step(self) -> None:
        """Send one more event (stops playing if it was)."""
        if self.playing:
            self.playing = False
            self._step_credits = 0
        self._step_credits += 1
        self._go.set()

    def pause(self) -> None:
        """Stop sending events until play or step."""
        self.playing = False
        self._step_credits = 0
        self._go.clear()

    @property
    def finished(self) -> bool:
        """True once the pump has ended (done, error or stopped)."""
        return self.task is not None and self.task.done()

    # -- the pump ------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the task that waits for a slot (telling the client its place in the
        queue), then starts the worker thread and forwards its results."""
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        try:
            granted = await self.worker.slots.acquire(self._send_position)
        except BaseException:
            self.worker.stop()
            raise
        if not granted:
            self.worker.stop()
            await self._send_text(json.dumps(error_message(self.worker.slots.busy_detail())))
            return
        try:
            self.worker.start()  # the worker thread owns the slot from here and releases it
        except BaseException:
            self.worker.slots.release()
            raise
        await self._pump()

    async def _send_position(self, position: int) -> None:
        await self._send_text(json.dumps(queued_message(position, self.worker.slots.size)))

    async def stop(self) -> None:
        """Stop the worker and the pump (used on replace, stop and disconnect), and wait
        (briefly, off the loop) for the worker thread to end so its slot is free again."""
        self.worker.stop()
        if self.task is not None and not self.task.done():
            self.task.cancel()
            try:
                await self.task
            except (asyncio.CancelledError, Exception):
                pass
        if self.worker.thread.is_alive():
            await asyncio.to_thread(self.worker.thread.join, _JOIN_TIMEOUT_S)

    def _events_pending(self) -> bool:
        return self.total_events is None or self.last_seq + 1 < self.total_events

    async def _pump(self) -> None:
        try:
            while True:
                if self.total_events is not None and self._events_pending():
                    if not await self._wait_for_go():
                        return
                item = await self.worker.queue.get()
                kind = item[0]
                if kind == "meta":
                    self.total_events = item[1]["total_events"]
                    await self._send_text(dumps(item[1]))
                elif kind == "event":
                    # a pause may have come while the event was computed
                    if not await self._wait_for_go():
                        return
                    self.worker.consumed()
                    await self._send_event(item[1], item[2])
                elif kind == "summary":
                    await self._send_text(item[1])
                    await self._send_text(json.dumps(DONE_MESSAGE))
                    return
                elif kind == "error":
                    await self._send_text(json.dumps(error_message(item[1])))
                    return
                else:  # "end" without a summary: the worker was stopped
                    return
        finally:
            self.worker.stop()

    async def _wait_for_go(self) -> bool:
        """Wait for play or step; False (after telling the client) when paused too long."""
        if self._go.is_set():
            return True
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 a wait_for cancelled from outside
            # (a replacing start) could leave its inner wait pending and this task stuck cancelling
            async with asyncio.timeout(self._idle_timeout_s):
                await self._go.wait()
            return True
        except TimeoutError:
            detail = (f"stream closed after {self._idle_timeout_s:g} s paused, to free the server; "
                      "send start again to continue")
            await self._send_text(json.dumps(error_message(detail)))
            return False

    async def _send_event(self, text: str, info: EventInfo) -> None:
        await self._send_text(text)
        self.last_seq = info.seq
        if not self.playing:
            self._step_credits -= 1
            if self._step_credits <= 0:
                self._go.clear()
        hit = breakpoint_hit(info, self._breakpoints)
        if hit is not None and (hit[0], info.node) not in self._fired:
            self._fired.add((hit[0], info.node))
            self.pause()
            await self._send_text(json.dumps(paused_message(hit[0], info.seq, hit[1])))
        elif self.playing:
            # sleep(0) still yields: a socket send rarely suspends, and a stream playing at full
            # speed must not hold the loop for a whole batch of events while /healthz or the
            # other sockets wait (each loop pass sends one event per stream)
            await asyncio.sleep(self.delay_ms / 1000)
