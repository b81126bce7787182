"""Batched events (issue 17): a start with ``"batch": true`` playing at delay 0 sends the events already computed
as one ``events`` message, in order, stopping at a breakpoint's event; the flattened stream is the per-event one."""

from __future__ import annotations

import asyncio
import json

from unrolled.server.sockets.breakpoints import stops
from unrolled.server.sockets.session import StreamSession
from unrolled.server.sockets.stream_worker import EventInfo
from server_helpers import QueueWorker, SentMessages, receive_until

CONFIG = {"preset": "vanishing-tanh", "seq_len": 10, "num_layers": 2, "bidirectional": True, "hidden_size": 6}


def flatten(messages: list[dict]) -> list[dict]:
    """The messages with every ``events`` message replaced by its events."""
    out: list[dict] = []
    for m in messages:
        out.extend(m["events"] if m["type"] == "events" else [m])
    return out


def run_session(items: list[tuple], breakpoints: dict, batch: bool) -> list[dict]:
    """The messages a playing delay-0 session sends for queue items already computed (until done or paused)."""
    sent = SentMessages()

    async def scenario() -> None:
        worker = QueueWorker()
        for item in items:
            worker.queue.put_nowait(item)
        session = StreamSession(worker, sent, breakpoints, "play", 0, 60.0, batch=batch)
        pump = asyncio.create_task(session._pump())
        async with asyncio.timeout(10):   # a bound on a hang, not a wait: the loop ends on a condition
            while not pump.done() and not (sent and sent[-1]["type"] == "paused"):
                await asyncio.sleep(0)
        pump.cancel()

    asyncio.run(scenario())
    return sent


def queued(norms: list[float]) -> list[tuple]:
    """meta, one backward event per norm, then a summary."""
    items: list[tuple] = [("meta", {"type": "meta", "schedule": {"total": len(norms)}})]
    for seq, norm in enumerate(norms):
        message = {"type": "event", "seq": seq, "norm": norm}
        items.append(("event", json.dumps(message), EventInfo(seq, "backward", "h_l0", seq, norm)))
    items.append(("summary", json.dumps({"type": "summary"})))
    return items


def test_events_computed_ahead_go_out_as_one_message_then_summary_and_done():
    sent = run_session(queued([1.0] * 6), {}, batch=True)
    assert [m["type"] for m in sent] == ["meta", "events", "summary", "done"]
    assert [e["seq"] for e in sent[1]["events"]] == list(range(6))


def test_without_batch_each_event_is_its_own_message():
    sent = run_session(queued([1.0] * 6), {}, batch=False)
    assert [m["type"] for m in sent] == ["meta"] + ["event"] * 6 + ["summary", "done"]


def test_a_batch_ends_at_the_breakpoints_event_and_the_stream_pauses_there():
    sent = run_session(queued([1.0, 0.5, 1e-4, 1e-5, 1.0]), {"grad_below": 1e-3}, batch=True)
    assert [m["type"] for m in sent] == ["meta", "events", "paused"]
    assert [e["seq"] for e in sent[1]["events"]] == [0, 1, 2]
    assert sent[2]["seq"] == 2 and sent[2]["reason"] == "grad_below"


def test_a_single_event_is_sent_plain():
    sent = run_session(queued([1.0]), {}, batch=True)
    assert [m["type"] for m in sent] == ["meta", "event", "summary", "done"]


def play(client, start: dict, breakpoints: dict) -> tuple[list[dict], list[int]]:
    """Every event of a stream played to its end (resumed after each breakpoint) and the paused seqs."""
    events, paused = [], []
    with client.websocket_connect("/ws/trace") as ws:
        for on, value in breakpoints.items():
            ws.send_json({"type": "break", "on": on, "value": value})
        ws.send_json({"type": "start", "config": CONFIG, "mode": "play", "delay_ms": 0, **start})
        while True:
            messages = flatten(receive_until(ws, {"paused", "done", "error"}))
            events += [m for m in messages if m["type"] == "event"]
            last = messages[-1]
            if last["type"] != "paused":
                assert last["type"] == "done", last
                return events, paused
            assert last["seq"] == events[-1]["seq"]
            paused.append(last["seq"])
            ws.send_json({"type": "play"})


def test_the_batched_stream_is_the_per_event_stream_with_the_same_breakpoint_stops(client):
    breakpoints = {"grad_below": 0.02, "grad_above": 0.5}
    plain, plain_paused = play(client, {"encoding": "f32"}, breakpoints)
    batched, batched_paused = play(client, {"encoding": "f32", "batch": True}, breakpoints)
    assert batched == plain
    assert [e["seq"] for e in batched] == list(range(len(batched)))
    expected = stops(breakpoints, batched)
    assert len(expected) >= 3 and batched_paused == plain_paused == expected


def test_batch_must_be_a_boolean(client):
    with client.websocket_connect("/ws/trace") as ws:
        ws.send_json({"type": "start", "config": CONFIG, "batch": "lots"})
        error = receive_until(ws, {"error"})[-1]
    assert error["field"] == "batch"


def test_a_pause_while_a_batch_gathers_sends_nothing_more_until_play():
    sent = SentMessages()

    async def scenario() -> None:
        worker = QueueWorker()
        items = queued([1.0] * 10)
        for item in items[:2]:   # meta, event 0 of 10
            worker.queue.put_nowait(item)
        session = StreamSession(worker, sent, {}, "play", 0, 60.0, batch=True)
        pump = asyncio.create_task(session._pump())
        async with asyncio.timeout(10):
            while len(sent) < 2:                # meta and event 0 (the first goes out at once)
                await asyncio.sleep(0)
            worker.queue.put_nowait(items[2])   # event 1: few computed ahead, so its batch gathers
            while worker.queue.qsize():
                await asyncio.sleep(0)
            session.pause()                     # during the gathering window: event 1 must not go out
            while session._held is None:
                await asyncio.sleep(0)
            assert [m["type"] for m in sent] == ["meta", "event"] and session.last_seq == 0
            session.play(0)
            while session.last_seq < 1:
                await asyncio.sleep(0)
        pump.cancel()

    asyncio.run(scenario())
    assert [m.get("seq") for m in sent] == [None, 0, 1]
