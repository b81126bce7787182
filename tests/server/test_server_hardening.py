"""Hardening, in process: security headers, body caps, cross-origin sockets, the fair start queue."""

from __future__ import annotations

import asyncio
import threading

import pytest

from unrolled.server.security import CONTENT_SECURITY_POLICY
from unrolled.server.sockets.slots import EngineSlots
from server_helpers import app_settings, receive, receive_until

settings = app_settings()

LONG = {"cell": "rnn_tanh", "seq_len": 400, "hidden_size": 8, "task": "copy"}
SMALL = {"preset": "lstm-memory", "seq_len": 4, "hidden_size": 3, "batch_size": 1}


@pytest.mark.parametrize("path", ["/", "/healthz", "/api/presets", "/openapi.json", "/no-such-page"])
def test_every_response_carries_the_security_headers(client, path):
    r = client.get(path)
    assert r.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-frame-options"] == "DENY"


def test_the_policy_allows_only_the_apps_own_origin():
    directives = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"  # no inline script, no eval
    assert directives["connect-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    everything = " ".join(directives.values())
    assert "http" not in everything and "*" not in everything and "unsafe-eval" not in everything
    assert directives["style-src"] == "'self' 'unsafe-inline'"  # plotly.js (see server/security.py)


def test_a_body_over_the_cap_is_refused_before_parsing(client):
    pad = "x" * (settings.max_body_bytes + 10)
    r = client.post("/api/trace", content=f'{{"preset": "exploding", "text": "{pad}"}}',
                    headers={"content-type": "application/json"})
    assert r.status_code == 413 and "too large" in r.json()["detail"]
    assert r.headers["x-content-type-options"] == "nosniff"

    def chunks():  # no Content-Length: counted as it streams
        for _ in range(settings.max_body_bytes // 65536 + 2):
            yield b"x" * 65536

    r = client.post("/api/trace", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert client.post("/api/trace", json={"preset": "exploding", "seq_len": 4}).status_code == 200


def test_the_model_upload_has_its_own_bigger_cap():
    from unrolled.server.app import create_app

    middleware = next(m for m in create_app(settings).user_middleware if m.cls.__name__ == "SecurityMiddleware")
    caps = dict(middleware.kwargs["body_caps"])
    assert caps["/api/models"] > settings.max_body_bytes


def test_a_socket_from_another_origin_is_refused_and_same_origin_works(client):
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect("/ws/trace", headers={"origin": "http://evil.example"}) as ws:
            ws.receive_text()
    assert refused.value.code == 1008
    with client.websocket_connect("/ws/trace", headers={"origin": "http://testserver"}) as ws:
        ws.send_json({"type": "start", "config": SMALL})
        assert receive_until(ws, {"done", "error"})[-1] == {"type": "done"}


def test_starts_beyond_the_slots_wait_in_order_and_are_told_their_place(make_client):
    client = make_client(max_streams=1, max_queued=2)
    with client.websocket_connect("/ws/trace") as first, client.websocket_connect("/ws/trace") as second, \
            client.websocket_connect("/ws/trace") as third, client.websocket_connect("/ws/trace") as fourth:
        first.send_json({"type": "start", "config": LONG, "mode": "step"})
        assert receive(first)["type"] == "meta"
        second.send_json({"type": "start", "config": SMALL})
        queued = receive(second)
        assert queued["type"] == "queued" and queued["position"] == 1 and "queue" in queued["detail"]
        third.send_json({"type": "start", "config": SMALL})
        assert receive(third)["position"] == 2
        fourth.send_json({"type": "start", "config": SMALL})
        busy = receive(fourth)
        assert busy["type"] == "error" and busy["detail"].startswith("busy")
        first.send_json({"type": "stop"})
        assert receive_until(second, {"done", "error"})[-1] == {"type": "done"}  # first in, first served
        after = receive_until(third, {"done", "error"})
        assert [m["position"] for m in after if m["type"] == "queued"] in ([], [1])
        assert after[-1] == {"type": "done"}
    assert client.app.state.slots.queued == 0


def test_leaving_the_queue_frees_the_place(make_client):
    client = make_client(max_streams=1, max_queued=4)
    slots = client.app.state.slots
    with client.websocket_connect("/ws/trace") as first:
        first.send_json({"type": "start", "config": LONG, "mode": "step"})
        assert receive(first)["type"] == "meta"
        with client.websocket_connect("/ws/trace") as quitter:
            quitter.send_json({"type": "start", "config": SMALL})
            assert receive(quitter)["type"] == "queued"
            quitter.send_json({"type": "stop"})
            quitter.send_json({"type": "step"})  # answered after the stop took effect
            assert receive(quitter)["type"] == "error"
            assert slots.queued == 0
        with client.websocket_connect("/ws/trace") as vanisher:  # leaves without a word
            vanisher.send_json({"type": "start", "config": SMALL})
            assert receive(vanisher)["type"] == "queued"
        first.send_json({"type": "stop"})
        first.send_json({"type": "start", "config": SMALL})
        assert receive_until(first, {"done", "error"})[-1] == {"type": "done"}
    assert slots.queued == 0 and slots.try_acquire()
    slots.release()


def test_stream_slots_hand_over_in_order_across_threads():
    async def scenario() -> list[int]:
        slots = EngineSlots(1, max_queued=3)
        assert slots.try_acquire()
        order: list[int] = []
        positions: dict[int, list[int]] = {i: [] for i in range(3)}
        releasing: list[threading.Thread] = []

        async def wait(i: int) -> None:
            async def told(p: int) -> None:
                positions[i].append(p)

            assert await slots.acquire(told, report_every_s=0.01)
            order.append(i)
            releasing.append(threading.Thread(target=slots.release))  # workers release from their thread
            releasing[-1].start()

        tasks = []
        for i in range(3):
            tasks.append(asyncio.create_task(wait(i)))
            while slots.queued < i + 1:  # until it has joined the queue (yields, no timed wait)
                await asyncio.sleep(0)
        assert not await slots.acquire(lambda p: asyncio.sleep(0))  # the queue is full
        assert not slots.try_acquire()  # nobody jumps the queue
        threading.Thread(target=slots.release).start()
        await asyncio.wait_for(asyncio.gather(*tasks), 5)
        assert positions[0] == [1] and positions[2][0] == 3
        assert positions[2] == sorted(set(positions[2]), reverse=True)  # only moves up
        for thread in releasing:  # the last release may still be on its way
            await asyncio.to_thread(thread.join)
        assert slots.try_acquire() and not slots.try_acquire()
        return order

    assert asyncio.run(scenario()) == [0, 1, 2]


def test_a_cancelled_wait_passes_its_slot_on():
    async def scenario() -> None:
        slots = EngineSlots(1, max_queued=2)
        assert slots.try_acquire()
        quiet = lambda p: asyncio.sleep(0)  # noqa: E731
        leaving = asyncio.create_task(slots.acquire(quiet, report_every_s=0.01))
        staying = asyncio.create_task(slots.acquire(quiet, report_every_s=0.01))
        while slots.queued < 2:  # until both have joined the queue (yields, no timed wait)
            await asyncio.sleep(0)
        slots.release()  # granted to `leaving`, which is cancelled before it runs
        leaving.cancel()
        assert await asyncio.wait_for(staying, 5) is True
        assert slots.queued == 0 and not slots.try_acquire()
        slots.release()
        assert slots.try_acquire()

    asyncio.run(scenario())
