"""A pause that arrives while an event is on its way names that event (the race behind a flaky
test_pause_then_resume under load: the reply used to carry the seq read before the event was sent)."""

from __future__ import annotations

import asyncio
import json

from unrolled.server.sockets.slots import engine_slots
from unrolled.server.sockets.trace import TraceConnection
from server_helpers import app_settings, private_store

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
                                     private_store(settings, tmp_path))
        await connection.handle(json.dumps({"type": "start", "config": CONFIG, "mode": "play", "delay_ms": 0}))
        await in_flight.wait()
        pause = asyncio.create_task(connection.handle(json.dumps({"type": "pause"})))
        while connection.session._go.is_set():   # until the pause is handled, up to its reply
            await asyncio.sleep(0)              # (a yield to the event loop, not a timed wait)
        release.set()
        await pause
        await connection.close()

    asyncio.run(scenario())
    paused = next(m for m in sent if m["type"] == "paused")
    before = sent[:sent.index(paused)]
    assert [m["seq"] for m in before if m["type"] == "event"] == [0, 1]
    assert paused["reason"] == "pause" and paused["seq"] == 1
    assert not [m for m in sent[sent.index(paused) + 1:] if m["type"] == "event"]
