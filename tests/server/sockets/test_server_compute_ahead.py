"""Issue 17's stream pacing: a client playing at delay 0 wants every event at once, so the worker computes
the whole run without waiting for the client (a T=1000 run's 5 000 events used to be paced by a 64-event
window: 2.6 s on the wire against 0.5 s of work); paused, stepping or playing with a delay it stays at most
``stream_prefetch`` ahead; and the last events go out before the summary's Jacobians are computed."""

from __future__ import annotations

import asyncio
import dataclasses
import threading

from unrolled.server.config import resolve_config
from unrolled.server.runs import config_source
from unrolled.server.sockets.session import StreamSession
from unrolled.server.sockets.slots import engine_slots
from unrolled.server.sockets.stream_worker import EngineWorker
from server_helpers import QueueWorker, app_settings

CONFIG = {"cell": "rnn_tanh", "seq_len": 60, "hidden_size": 4, "task": "copy"}   # 244 events
PREFETCH = 16


def test_the_session_paces_its_worker_by_play_and_delay():
    async def scenario() -> list[bool]:
        async def socket(text: str) -> None:
            pass

        worker = QueueWorker()
        session = StreamSession(worker, socket, {}, "play", 0, 60.0)
        session.pause()
        session.play(40)      # a delay: the client takes events one by one
        session.play(0)
        session.step()
        session.play(None)    # the delay stays 0
        stepping = StreamSession(QueueWorker(), socket, {}, "step", 0, 60.0)
        return worker.ahead + stepping.worker.ahead

    assert asyncio.run(scenario()) == [True, False, False, True, False, True, False]


def run_worker(unbounded: bool, held: list[bool] | None = None) -> tuple[int, int, list[str]]:
    """A real worker on CONFIG that nobody consumes from: (the events on its queue once it has ended, or
    once it waits for the client; the run's total; the kinds of its items in order). With ``held``, its
    summary waits until every event has reached the queue (``held`` gets whether that happened in time)."""
    settings = app_settings()
    config = resolve_config(CONFIG)
    all_events = threading.Event()

    def make_source():
        source = config_source(config)
        if held is None:
            return source

        def finished_trace():
            held.append(all_events.wait(10))
            return source.finished_trace()
        return dataclasses.replace(source, finished_trace=finished_trace)

    async def scenario() -> tuple[int, int, list[str]]:
        slots = engine_slots(settings)
        assert await slots.acquire(None)
        worker = EngineWorker(make_source, slots, PREFETCH)
        worker.compute_ahead(unbounded)
        worker.start()
        items: list[tuple] = []
        count = lambda: sum(1 for i in items if i[0] == "event")   # noqa: E731
        total = None
        async with asyncio.timeout(30):   # a bound on a hang: the loops end on conditions
            while not (items and items[-1][0] == "end") and not (not unbounded and count() == PREFETCH):
                items.append(await worker.queue.get())
                if items[-1][0] == "meta":
                    total = items[-1][1]["schedule"]["total"]
                if count() == total:
                    all_events.set()
            while not unbounded and not worker._worker_waiting:   # it waits for credits: nothing more comes
                await asyncio.sleep(0.001)
            for _ in range(3):
                await asyncio.sleep(0)   # what it handed over before waiting reaches the queue
            while not worker.queue.empty():
                items.append(worker.queue.get_nowait())
        worker.stop()
        await worker.join(5.0)
        return count(), total, [i[0] for i in items]

    return asyncio.run(scenario())


def test_unbounded_the_worker_computes_the_whole_run_unasked():
    events, total, kinds = run_worker(True)
    assert total > 4 * PREFETCH and events == total
    assert kinds[0] == "meta" and kinds[-2:] == ["summary", "end"]


def test_bounded_it_stays_within_the_prefetch():
    events, total, kinds = run_worker(False)
    assert events == PREFETCH and "summary" not in kinds


def test_the_last_events_go_out_before_the_summary_is_computed():
    held: list[bool] = []
    events, total, kinds = run_worker(True, held=held)
    assert held == [True] and events == total and kinds[-2:] == ["summary", "end"]
