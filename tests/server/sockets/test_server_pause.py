"""Pacing, without timing: a pause that arrives while an event is on its way names that event (the race
behind a flaky test_pause_then_resume under load: the reply used to carry the seq read before the event
was sent); a step while playing switches to stepping; a worker's last message goes out only after its
engine slot is free (a flaky "slot still taken" right after "done")."""

from __future__ import annotations

import asyncio
import json

from unrolled.server.sockets.session import StreamSession
from unrolled.server.sockets.slots import engine_slots
from unrolled.server.sockets.stream_worker import EventInfo
from unrolled.server.sockets.trace import TraceConnection
from unrolled.server.sockets.worker import ThreadWorker
from unrolled.server.training import TrainedCache
from server_helpers import QueueWorker, SentMessages, app_settings, private_store

CONFIG = {"cell": "rnn_tanh", "seq_len": 50, "hidden_size": 4, "task": "copy"}


def test_a_pause_during_a_slow_send_names_the_event_that_was_being_sent(tmp_path):
    settings = app_settings()
    sent: list[dict] = []

    async def scenario() -> None:
        in_flight, release = asyncio.Event(), asyncio.Event()

        async def slow_socket(text: str) -> None:
            message = json.loads(text)
            if message["type"] == "event" and message["seq"] == 1:  # a loaded machine: this send takes a while
                in_flight.set()
                await release.wait()
            sent.append(message)

        connection = TraceConnection(slow_socket, settings, engine_slots(settings), None,
                                     private_store(settings, tmp_path), TrainedCache())
        await connection.handle(json.dumps({"type": "start", "config": CONFIG, "mode": "play", "delay_ms": 0}))
        await in_flight.wait()
        pause = asyncio.create_task(connection.handle(json.dumps({"type": "pause"})))
        while connection.session._go.is_set():   # until the pause is handled, up to its reply
            await asyncio.sleep(0)              # (a yield to the event loop, not a timed wait)
        release.set()
        await pause
        worker = connection.session.worker
        connection.abandon()
        await worker.join(5.0)

    asyncio.run(scenario())
    paused = next(m for m in sent if m["type"] == "paused")
    before = sent[:sent.index(paused)]
    assert [m["seq"] for m in before if m["type"] == "event"] == [0, 1]
    assert paused["reason"] == "pause" and paused["seq"] == 1
    assert not [m for m in sent[sent.index(paused) + 1:] if m["type"] == "event"]


def test_a_step_while_playing_sends_one_more_event_and_stops():
    sent = SentMessages()

    async def scenario() -> None:
        worker = QueueWorker()
        session = StreamSession(worker, sent, {}, "play", 0, 60.0)

        def computed(seq: int) -> None:
            message = {"type": "event", "seq": seq}
            worker.queue.put_nowait(("event", json.dumps(message), EventInfo(seq, "forward", "h_l0", seq, 1.0)))

        async def settle() -> None:  # let the pump run until it waits (yields only)
            for _ in range(20):
                await asyncio.sleep(0)

        worker.queue.put_nowait(("meta", {"type": "meta", "schedule": {"total": 6}}))
        computed(0)
        pump = asyncio.create_task(session._pump())
        await settle()
        assert [m.get("seq") for m in sent] == [None, 0]      # playing: everything computed so far is sent
        session.step()                                         # a step while playing ...
        for seq in range(1, 5):
            computed(seq)
        await settle()
        assert [m.get("seq") for m in sent] == [None, 0, 1]   # ... sends one more event, then waits
        assert not session.playing and worker.queue.qsize() == 3
        session.step()
        await settle()
        assert [m.get("seq") for m in sent] == [None, 0, 1, 2]
        pump.cancel()

    asyncio.run(scenario())


def test_a_worker_hands_over_its_last_message_only_after_releasing_its_slot():
    log: list[str] = []

    class Slots:
        def release(self) -> None:
            log.append("release")

    class Worker(ThreadWorker):
        def work(self) -> None:
            self.emit("first")
            self.emit_final("last")

        def flush(self) -> None:
            log.extend(item[0] for item in self._pending)
            super().flush()

    async def scenario() -> list[tuple]:
        worker = Worker(Slots())
        worker.start()
        items = [await worker.queue.get() for _ in range(3)]
        await worker.join(5.0)
        return items

    assert asyncio.run(scenario()) == [("first",), ("last",), ("end",)]
    assert log == ["first", "release", "last", "end"]
