"""Pacing one stream to its client: ``play`` with a delay, ``step`` one event at a time, ``pause``,
and breakpoints (server.sockets.breakpoints). How many events are coming is the meta message's
``schedule["total"]`` (docs/DESIGN.md, "Event schedule"); nothing here counts events itself.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from unrolled.server.sockets.breakpoints import BreakpointRule
from unrolled.server.sockets.connection import ClientGone
from unrolled.server.sockets.stream_worker import EngineWorker, EventInfo
from unrolled.server.sockets.worker import background, cancel_and_wait
from unrolled.server.wire.events import events_text
from unrolled.server.wire.messages import DONE_MESSAGE, error_message, paused_message, queued_message
from unrolled.server.wire.serialize import dumps

JOIN_TIMEOUT_S = 5.0  # a stopped worker finishes its current engine step first
BATCH_MAX = 256  # events in one "events" message at most (issue 17; in practice the worker's prefetch bounds it)
BATCH_MIN = 32  # fewer computed ahead: the batch waits up to BATCH_WINDOW_S for more (a page applies them per frame)
BATCH_WINDOW_S = 0.016


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
        after: EngineWorker | None = None,
        batch: bool = False,
    ) -> None:
        self.worker = worker
        self._after = after  # the stream this one replaces: its thread ends before this one queues
        self._idle_timeout_s = idle_timeout_s
        self._send_text = send_text
        self._breakpoints = BreakpointRule(breakpoints)  # shared with the connection: edits apply at once
        self.playing = mode == "play"
        self.delay_ms = delay_ms
        self._step_credits = 0
        self._go = asyncio.Event()
        if self.playing:
            self._go.set()
        self.last_seq = -1  # the last event sent (set before any other message can follow it)
        self.total_events: int | None = None  # the meta's schedule["total"], once it has arrived
        self.task: asyncio.Task | None = None
        self._batch = batch  # the start's "batch": events computed ahead go out together at delay 0
        self._held: tuple | None = None  # an item taken from the queue while batching, not yet handled
        self.completed = False  # set before the stream's summary and done go out
        self._pace_worker()

    def _pace_worker(self) -> None:
        """Playing at delay 0 the client wants every event at once: the worker computes without waiting
        for it (issue 17: a T=1000 run's 5 000 events were paced by a 64-event window); else at most
        ``prefetch`` ahead."""
        self.worker.compute_ahead(self.playing and self.delay_ms == 0)

    # -- client commands ---------------------------------------------------------------------
    def play(self, delay_ms: int | None) -> None:
        """Stream continuously (resumes after a pause or a breakpoint)."""
        if delay_ms is not None:
            self.delay_ms = delay_ms
        self.playing = True
        self._pace_worker()
        self._go.set()

    def step(self) -> None:
        """Send one more event (stops playing if it was)."""
        if self.playing:
            self.playing = False
            self._step_credits = 0
            self._pace_worker()
        self._step_credits += 1
        self._go.set()

    def pause(self) -> None:
        """Stop sending events until play or step."""
        self.playing = False
        self._step_credits = 0
        self._pace_worker()
        self._go.clear()

    @property
    def finished(self) -> bool:
        """True once the pump has ended (done, error or stopped)."""
        return self.task is not None and self.task.done()

    # -- the pump ------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the task that waits for a slot (telling the client its place in the
        queue), then starts the worker thread and forwards its results."""
        self.task = background(self._run(), "stream pump")

    async def _run(self) -> None:
        try:
            await self._queue_and_pump()
        except ClientGone:  # the client left mid-stream: nothing to report
            self.worker.stop()

    async def _queue_and_pump(self) -> None:
        if self._after is not None:  # a replaced stream frees its slot within one engine step
            await self._after.join(JOIN_TIMEOUT_S)
            self._after = None
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
        """Stop the worker and the pump (used on replace, stop and disconnect). The worker thread
        is not waited for here (that would hold up the socket's messages): it frees its slot when it
        ends, within one engine step, and a replacing stream waits for that itself."""
        self.worker.stop()
        await cancel_and_wait(self.task)

    def abandon(self) -> None:
        """Stop the worker and the pump without waiting for either (the client is gone)."""
        self.worker.stop()
        if self.task is not None:
            self.task.cancel()

    def _events_pending(self) -> bool:
        """True when the schedule (known once meta has arrived) has events the client has not had."""
        return self.total_events is not None and self.last_seq + 1 < self.total_events

    async def _pump(self) -> None:
        try:
            while True:
                if self._events_pending() and not await self._wait_for_go():
                    return
                item, self._held = self._held, None
                if item is None:
                    item = await self.worker.queue.get()
                kind = item[0]
                if kind == "meta":
                    self.total_events = item[1]["schedule"]["total"]
                    await self._send_text(dumps(item[1]))
                elif kind == "event":
                    # a pause may have come while the event was computed
                    if not await self._wait_for_go():
                        return
                    if self._batch and self.playing and self.delay_ms == 0:
                        if not await self._gather(item):
                            self._held = item  # paused or stepping meanwhile: nothing was sent
                            continue
                        await self._send_batch(item)
                        continue
                    self.worker.consumed()
                    await self._send_event(item[1], item[2])
                elif kind == "summary":
                    self.completed = True
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

    async def _gather(self, item: tuple) -> bool:
        """Before a batch after the first event: when few events are computed ahead and more are due, give the
        worker one window to compute more (a few big messages cost the page far less than many small ones).
        False when the stream is no longer playing at delay 0 afterwards (the batch is not sent)."""
        more_due = self.total_events is not None and item[2].seq + 1 + self.worker.queue.qsize() < self.total_events
        if self.last_seq < 0 or not more_due or self.worker.queue.qsize() >= BATCH_MIN:
            return True
        await asyncio.sleep(BATCH_WINDOW_S)
        return self.playing and self.delay_ms == 0 and self._go.is_set()

    async def _send_batch(self, item: tuple) -> None:
        """Send this event and the ones already computed behind it as one ``events`` message (a
        single event as a plain ``event``), stopping at a breakpoint's event (issue 17)."""
        texts: list[str] = []
        while True:
            self.worker.consumed()
            texts.append(item[1])
            info: EventInfo = item[2]
            hit = self._breakpoints.check(info.phase, info.node, info.t, info.norm, info.padding)
            if hit is not None or len(texts) >= BATCH_MAX or self.worker.queue.empty():
                break
            item = self.worker.queue.get_nowait()
            if item[0] != "event":
                self._held = item  # meta/summary/error/end: handled by the pump after this batch
                break
        await self._send_text(texts[0] if len(texts) == 1 else events_text(texts))
        self.last_seq = info.seq  # no await since the send, as in _send_event
        if hit is not None:
            self.pause()
            await self._send_text(json.dumps(paused_message(hit[0], info.seq, hit[1])))
        else:
            await asyncio.sleep(0)  # let /healthz and the other sockets in between two batches

    async def _send_event(self, text: str, info: EventInfo) -> None:
        await self._send_text(text)
        self.last_seq = info.seq  # no await since the send: a reply built after it sees this seq
        if not self.playing:
            self._step_credits -= 1
            if self._step_credits <= 0:
                self._go.clear()
        hit = self._breakpoints.check(info.phase, info.node, info.t, info.norm, info.padding)
        if hit is not None:
            self.pause()
            await self._send_text(json.dumps(paused_message(hit[0], info.seq, hit[1])))
        elif self.playing:
            # sleep(0) still yields: a socket send rarely suspends, and a stream playing at full
            # speed must not hold the loop for a whole batch of events while /healthz or the
            # other sockets wait (each loop pass sends one event per stream)
            await asyncio.sleep(self.delay_ms / 1000)
