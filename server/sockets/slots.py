"""The one slot helper: how many engine runs a process does at once, and who waits for one.

Every engine run (a socket stream, a training, a REST trace, an upload, a comparison) holds one
slot of the app's :class:`EngineSlots` while it computes. REST answers 503 when none is free
(:func:`run_in_slot`); a socket start waits in a bounded first-come queue.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from unrolled.server.settings import Settings
from unrolled.server.sockets.worker import off_loop

T = TypeVar("T")


class EngineSlots:
    """The engine runs in progress (shared by sockets and REST), with a fair queue, and the
    permits of the threads computing at the same moment.

    ``try_acquire`` never waits (REST and training use it); ``acquire`` lets a
    socket stream wait its turn in a bounded first-come, first-served queue,
    told its position as it moves up. A released slot goes straight to the
    first waiter, so a newcomer's ``try_acquire`` cannot jump the queue.
    ``release`` may be called from any thread.

    ``compute`` is a semaphore of ``compute_threads`` permits: a stream worker holds one per
    engine step, so only that many run Python at once however many streams are open, and the
    event loop (sockets, /healthz) rarely waits long for the GIL. Waiting for a permit blocks in
    C without holding the GIL.
    """

    def __init__(self, size: int, max_queued: int = 0, compute_threads: int = 1) -> None:
        self.size = size
        self.max_queued = max_queued
        self.compute = threading.BoundedSemaphore(compute_threads)
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
                raise ValueError("EngineSlots released more often than acquired")
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


def engine_slots(settings: Settings) -> EngineSlots:
    """The slots an app with these settings has."""
    return EngineSlots(settings.max_streams, settings.max_queued, settings.compute_threads)


class Busy(Exception):
    """Every engine slot is taken; ``detail`` says so to the client."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


async def run_in_slot(slots: EngineSlots, work: Callable[[], T]) -> T:
    """``work()`` off the event loop while holding one slot; raises Busy at once when none is free."""
    if not slots.try_acquire():
        raise Busy(slots.busy_detail())
    try:
        return await off_loop(work)
    finally:
        slots.release()
