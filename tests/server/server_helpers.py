"""Helpers of the server tests: timed socket receives and strict JSON parsing."""

from __future__ import annotations

import json

import anyio


def receive(ws, timeout: float = 20.0) -> dict:
    """The next JSON message of a TestClient socket; TimeoutError instead of hanging."""

    async def get():
        with anyio.fail_after(timeout):
            return await ws._send_rx.receive()

    message = ws.portal.call(get)
    assert message["type"] == "websocket.send", message
    return json.loads(message["text"])


def receive_until(ws, types: set[str], timeout: float = 30.0) -> list[dict]:
    """Every message up to and including the first whose type is in ``types``."""
    out = []
    while True:
        m = receive(ws, timeout)
        out.append(m)
        if m["type"] in types:
            return out


def strict_json(text: str):
    """json.loads that refuses NaN/Infinity literals (the server must never send them)."""

    def refuse(name: str):
        raise AssertionError(f"bare {name} in JSON")

    return json.loads(text, parse_constant=refuse)
