"""The one way engine work runs off the event loop.

* :func:`off_loop` runs one call in a worker thread and awaits its result (REST routes, samples).
* :class:`ThreadWorker` is the base of a socket's long-running work (a stream, a training): its
  own daemon thread, which hands results to the event loop as queue items, stops between two
  engine steps after ``stop()``, and always releases its engine slot and ends with ("end",).
* :func:`background` starts a socket's task (a pump, a reply writer) so that whatever it raises
  is retrieved and logged as one line, never as "Task exception was never retrieved".
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from fastapi.concurrency import run_in_threadpool

T = TypeVar("T")
POLL_S = 0.05  # how often a waiting worker checks whether it was stopped
log = logging.getLogger("unrolled.sockets")


class Stopped(Exception):
    """Raised inside a worker thread that was stopped while it waited: it ends quietly."""


def background(coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task:
    """Run ``coro`` as a task whose exception (if any) is retrieved when it ends and logged as one
    line: a client that leaves mid-stream is normal and must not fill the log with tracebacks."""
    task = asyncio.create_task(coro, name=name)
    task.add_done_callback(_report)
    return task


def _report(task: asyncio.Task) -> None:
    if task.cancelled():
        return
    exc = task.exception()  # retrieved: asyncio no longer reports it at garbage collection
    if exc is not None:
        log.warning("%s ended by %s: %s", task.get_name(), type(exc).__name__, exc)


async def off_loop(work: Callable[..., T], *args: Any) -> T:
    """``work(*args)`` in a worker thread, awaited (the event loop stays free meanwhile)."""
    return await run_in_threadpool(work, *args)


async def cancel_and_wait(task: asyncio.Task | None) -> None:
    """Cancel a socket's pump task (if still running) and wait until it has ended."""
    if task is None or task.done():
        return
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise  # the caller itself is being cancelled
    except Exception:  # already reported by the task's own done callback (background)
        pass


class ThreadWorker:
    """One socket's engine work in a daemon thread; subclasses implement ``work()``.

    Items handed over with ``emit`` (at once), ``emit_batched`` (held until ``batch`` of them are
    ready or the client's queue has run dry) or ``emit_final`` (held until the slot is free) arrive
    on ``queue`` in order, then ("end",). An exception of ``work`` becomes the items ``failure(exc)``
    returns, held like final ones. The caller takes one slot of ``slots`` before ``start``; the thread
    releases it when it ends, before the final items go out: a client told "done" can start again
    at once without finding its own slot still taken.
    """

    thread_name = "unrolled-worker"

    def __init__(self, slots: Any, batch: int = 1) -> None:
        self.queue: asyncio.Queue = asyncio.Queue()
        self.slots = slots
        self._loop = asyncio.get_running_loop()
        self._batch = batch
        self._pending: list[tuple] = []  # items computed but not yet handed to the loop
        self._stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)

    def start(self) -> None:
        """Start the thread (the caller has already taken a slot for it; the thread releases it)."""
        self.thread.start()

    def stop(self) -> None:
        """Ask the thread to finish; it exits at its next check."""
        self._stopped.set()

    @property
    def stopped(self) -> bool:
        """True once ``stop()`` was called (or nobody listens any more)."""
        return self._stopped.is_set()

    async def join(self, timeout_s: float) -> None:
        """Wait (off the loop, at most ``timeout_s``) for the thread to end, so its slot is free again."""
        if self.thread.is_alive():
            await asyncio.to_thread(self.thread.join, timeout_s)

    @contextmanager
    def computing(self, permits: threading.Semaphore) -> Iterator[None]:
        """Hold one of ``permits`` for one engine step; waiting for it ends (Stopped) once stopped,
        so a stopped worker never sits behind the other streams' steps."""
        while not permits.acquire(timeout=POLL_S):
            if self.stopped:
                raise Stopped
        try:
            yield
        finally:
            permits.release()

    def work(self) -> None:
        """The engine work, run in the thread (emit its results)."""
        raise NotImplementedError

    def failure(self, exc: Exception) -> list[tuple]:
        """The items that report an engine failure to the client (it is never raised)."""
        return [("error", f"the run failed: {type(exc).__name__}: {exc}")]

    def emit(self, *item: Any) -> None:
        """Hand one item to the event loop, after any still held back."""
        self._pending.append(item)
        self.flush()

    def emit_batched(self, *item: Any) -> None:
        """Hand an item over in a batch (one loop wake-up each) while the client is well supplied,
        and at once when its queue has run dry."""
        self._pending.append(item)
        if len(self._pending) >= self._batch or self.queue.empty():
            self.flush()

    def emit_final(self, *item: Any) -> None:
        """Hand over an item (the last message of the work) once the slot has been released."""
        self._pending.append(item)

    def flush(self) -> None:
        """Hand every held item to the event loop."""
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

    def _run(self) -> None:
        try:
            self.work()
        except Stopped:
            pass
        except Exception as exc:  # an engine failure is reported to the client, never raised
            for item in self.failure(exc):
                self.emit_final(*item)
        finally:
            try:
                self.cleanup()
            finally:
                self.slots.release()
                self.emit("end")  # hands over the final items too

    def cleanup(self) -> None:
        """Free what ``work`` opened (called in the thread, before the slot is released)."""
