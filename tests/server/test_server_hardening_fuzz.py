"""Fuzzing the sockets: nonsense never hangs a socket, and a valid start still works after it.

Every bad message to /ws/trace or /ws/train (arbitrary text and bytes, deeply nested or
huge JSON, wrong types, commands before a stream exists) gets exactly one ``error``
reply (or a clean 1008/1009 close); every wait is bounded; afterwards the same socket
plays a valid stream to its end and /healthz answers.
"""

from __future__ import annotations

import json

import anyio
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from unrolled.server.app import create_app
from unrolled.server.config import TraceConfig
from unrolled.server.sockets.trace import MESSAGE_TYPES as TRACE_TYPES
from unrolled.server.sockets.train import MESSAGE_TYPES as TRAIN_TYPES
from server_helpers import app_settings

TINY = {"preset": "lstm-memory", "seq_len": 3, "hidden_size": 2, "batch_size": 1}
TINY_TRAINING = {"preset": "char-lm", "seq_len": 4, "hidden_size": 2, "batch_size": 1, "epochs": 1}
STREAM_TYPES = {"meta", "event", "summary", "done", "paused", "error", "queued"}
# No shrinking: a failing example is reported as found (shrinking socket sessions takes minutes).
FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                phases=[Phase.explicit, Phase.reuse, Phase.generate],
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def fuzz_client(template_dir):
    """One app for the whole module (hypothesis runs many examples against it)."""
    with TestClient(create_app(app_settings(max_queued=0), templates_dir=template_dir)) as client:
        yield client


def next_message(ws, timeout: float = 10.0) -> dict:
    """The next ASGI message the server sent (a text frame or a close); TimeoutError if none."""

    async def get():
        with anyio.fail_after(timeout):
            return await ws._send_rx.receive()

    return ws.portal.call(get)


def expect_error_or_clean_close(ws) -> None:
    """The reply to one bad message: an ``error``, or a close with 1008/1009."""
    message = next_message(ws)
    if message["type"] == "websocket.close":
        assert message["code"] in (1008, 1009), message
        return
    reply = json.loads(message["text"])
    assert reply["type"] == "error", reply
    assert isinstance(reply["detail"], str) and reply["detail"]


def is_known_message(raw: str | bytes, types) -> bool:
    """True when ``raw`` parses to an object with a known "type" (then it is not nonsense)."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False
    return isinstance(data, dict) and isinstance(data.get("type"), str) and data["type"] in types


def send(ws, raw: str | bytes) -> None:
    """A text frame for str, a binary frame for bytes."""
    if isinstance(raw, bytes):
        ws.send_bytes(raw)
    else:
        ws.send_text(raw)


def nonsense(types) -> st.SearchStrategy:
    """Messages that are not a well-formed message of any of ``types``."""
    type_names = list(types)
    any_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                            lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                        max_size=4),
                            max_leaves=20)
    deep = st.integers(200, 30_000).flatmap(lambda d: st.sampled_from([
        "[" * d + "]" * d,
        '{"type":"start","config":' + '{"a":' * d + "1" + "}" * d + "}",
        '{"type":"start","config":{"text":' + "[" * d + "]" * d + "}}",
    ]))
    huge = st.integers(65_537, 400_000).flatmap(lambda n: st.sampled_from([
        '{"type":"start","config":{"text":"' + "x" * n + '"}}',
        ("[" + "1," * (n // 2) + "1]").encode(),
    ]))
    wrong_type_field = st.builds(
        lambda t, v: json.dumps({"type": v} if t is None else {"type": t, "zz_unknown": v}),
        st.none() | st.sampled_from(type_names),
        any_json,
    ).filter(lambda raw: not is_known_message(raw, types) or "zz_unknown" in raw)
    return st.one_of(
        st.text(max_size=300).filter(lambda raw: not is_known_message(raw, types)),
        st.binary(max_size=300).filter(lambda raw: not is_known_message(raw, types)),
        any_json.map(json.dumps).filter(lambda raw: not is_known_message(raw, types)),
        deep,
        huge,
        wrong_type_field,
    )


def bad_trace_fields() -> st.SearchStrategy:
    """Known /ws/trace message types with a field of the wrong type or out of range."""
    not_in = lambda allowed: st.text(max_size=12).filter(lambda s: s not in allowed)  # noqa: E731
    bad_delay = st.one_of(st.floats(allow_nan=True), st.text(max_size=5), st.booleans(),
                          st.integers(max_value=-1), st.integers(min_value=10_001))
    bad_config_key = st.text(min_size=1, max_size=12).filter(lambda k: k not in TraceConfig.model_fields)
    cases = st.one_of(
        st.builds(lambda v: {"type": "start", "mode": v}, not_in({"play", "step"}) | st.integers()),
        st.builds(lambda v: {"type": "start", "config": TINY, "delay_ms": v}, bad_delay),
        st.builds(lambda v: {"type": "start", "source": v}, not_in({"config", "loaded", "trained"})),
        st.builds(lambda v: {"type": "start", "config": v},
                  st.integers() | st.text(max_size=8) | st.lists(st.integers(), max_size=3) | st.booleans()),
        st.builds(lambda k, v: {"type": "start", "config": {k: v}}, bad_config_key, st.integers()),
        st.builds(lambda v: {"type": "start", "config": {**TINY, "seq_len": v}},
                  st.integers(max_value=1) | st.integers(min_value=100_000) | st.floats() | st.text(max_size=4)),
        st.builds(lambda v: {"type": "start", "source": "loaded", "config": v}, st.none()),  # nothing is loaded
        st.builds(lambda v: {"type": "play", "delay_ms": v}, bad_delay),
        st.builds(lambda v: {"type": "break", "on": v}, not_in({"nonfinite", "grad_below", "grad_above"})),
        st.builds(lambda v: {"type": "break", "on": "grad_below", "value": v},
                  st.floats(max_value=-1e-9) | st.text(max_size=4) | st.booleans()),
        st.builds(lambda v: {"type": "break", "on": "nonfinite", "enabled": v}, st.integers() | st.text(max_size=3)),
        st.sampled_from([{"type": "step"}, {"type": "pause"}, {"type": "play"}]),  # no stream yet
    )
    return cases.map(json.dumps)


def play_to_done(ws, start: dict, end_types=("done",), limit: int = 5000) -> list[dict]:
    """Send a start and read (bounded) until the stream ends; every message must be well-formed."""
    ws.send_text(json.dumps(start))
    seen = []
    for _ in range(limit):
        message = next_message(ws, timeout=20)
        assert message["type"] == "websocket.send", message
        data = json.loads(message["text"])
        seen.append(data)
        if data["type"] in end_types:
            return seen
        assert data["type"] != "error", data
    raise AssertionError(f"no end after {limit} messages")


@FUZZ
@given(messages=st.lists(st.one_of(nonsense(TRACE_TYPES), bad_trace_fields()), min_size=1, max_size=4))
def test_trace_socket_answers_nonsense_with_errors_and_still_works(fuzz_client, messages):
    with fuzz_client.websocket_connect("/ws/trace") as ws:
        for raw in messages:
            send(ws, raw)
            expect_error_or_clean_close(ws)
        assert play_to_done(ws, {"type": "start", "config": TINY})[-1] == {"type": "done"}
    assert fuzz_client.get("/healthz").json()["status"] == "ok"


@settings(FUZZ, max_examples=40)
@given(messages=st.lists(nonsense(TRAIN_TYPES), min_size=1, max_size=4))
def test_train_socket_answers_nonsense_with_errors_and_still_works(fuzz_client, messages):
    with fuzz_client.websocket_connect("/ws/train") as ws:
        for raw in messages:
            send(ws, raw)
            expect_error_or_clean_close(ws)
        seen = play_to_done(ws, {"type": "start", "config": TINY_TRAINING})
        assert seen[-1]["type"] == "done"
    assert fuzz_client.get("/healthz").json()["status"] == "ok"


COMMANDS = [
    {"type": "start", "config": TINY, "mode": "step"},
    {"type": "start", "config": TINY, "mode": "play", "delay_ms": 1},
    {"type": "step"}, {"type": "play"}, {"type": "play", "delay_ms": 0}, {"type": "pause"}, {"type": "stop"},
    {"type": "break", "on": "nonfinite"}, {"type": "break", "on": "grad_below", "value": 1e-3},
    {"type": "break", "on": "grad_above", "enabled": False},
]


@settings(FUZZ, max_examples=30)
@given(commands=st.lists(st.sampled_from(COMMANDS), min_size=1, max_size=15))
def test_valid_messages_in_any_order_never_wedge_the_socket(fuzz_client, commands):
    with fuzz_client.websocket_connect("/ws/trace") as ws:
        for command in commands:  # sent back to back, answers read later: whatever order they land in
            ws.send_text(json.dumps(command))
        ws.send_text(json.dumps({"type": "break", "on": "grad_below", "enabled": False}))
        # Drain what the commands produced, then a final start must play to its done.
        seen = None
        ws.send_text(json.dumps({"type": "start", "config": {**TINY, "seq_len": 2}, "mode": "play"}))
        for _ in range(5000):
            message = next_message(ws, timeout=20)
            assert message["type"] == "websocket.send", message
            data = json.loads(message["text"])
            assert data["type"] in STREAM_TYPES, data
            if data["type"] == "meta" and data["T"] == 2:
                seen = data
            if data["type"] == "done" and seen is not None:
                break
        else:
            raise AssertionError("the final start never finished")
