"""The one event encoder: its fast path sends exactly the bytes of the plain `event_message`, over events
of every cell, stacked and bidirectional, float32, h-nodes, logits and loss, and NaN/Inf values."""

from __future__ import annotations

import json

import numpy as np
import pytest

from unrolled import engine
from unrolled.server.wire.events import _fast_message, encode_event, event_message
from unrolled.server.wire.serialize import dumps
from server_helpers import strict_json

CASES = [
    ("rnn_tanh", {}, 1, False, np.float64),
    ("rnn_relu", {}, 2, True, np.float64),
    ("lstm", {"forget_bias": 1.0}, 2, True, np.float64),
    ("gru", {}, 1, True, np.float32),
    ("lstm", {}, 1, False, np.float32),
]


def events_of(cell: str, options: dict, layers: int, bidirectional: bool, dtype, T: int = 5,
              recurrent_scale: float | None = None) -> list:
    """Every event (values copied) of a small cross-entropy run with a loss at some steps."""
    net = engine.Network.random(cell=cell, input_size=3, hidden_size=4, output_size=5, num_layers=layers,
                                bidirectional=bidirectional, seed=1, recurrent_scale=recurrent_scale, dtype=dtype,
                                **options)
    x = np.random.default_rng(0).normal(size=(T, 3, 3)).astype(dtype)
    targets = np.full((T, 3), -100)
    targets[1::2] = [0, 2, 4]
    with np.errstate(all="ignore"):
        return [engine.Event(e.phase, e.node, e.t, e.layer, e.direction, {k: np.array(v) for k, v in e.values.items()})
                for e in net.steps(x, targets)]


def assert_one_encoding(events: list, batch_index: int = 1) -> tuple[int, int]:
    """encode_event's text is dumps(event_message) byte for byte; (events on the fast path, on the plain one)."""
    fast = plain = 0
    for seq, event in enumerate(events):
        expected = dumps(event_message(event, seq, batch_index))
        assert encode_event(event, seq, batch_index) == expected, (event.phase, event.node, event.t)
        message = _fast_message(event, seq, batch_index)
        if message is None:
            plain += 1
        else:
            fast += 1
            assert json.dumps(message, separators=(",", ":"), allow_nan=False) == expected
        strict_json(expected)
    return fast, plain


@pytest.mark.parametrize("cell, options, layers, bidirectional, dtype", CASES)
def test_the_fast_path_is_the_plain_message(cell, options, layers, bidirectional, dtype):
    events = events_of(cell, options, layers, bidirectional, dtype)
    assert {e.node for e in events} >= {"h_l0", "logits", "loss"}
    assert bidirectional == any(e.node.endswith("_reverse") for e in events)
    fast, plain = assert_one_encoding(events)
    assert fast == len(events) and plain == 0        # every finite event takes the fast path


def test_non_finite_values_take_the_plain_path_with_the_same_message():
    events = events_of("rnn_relu", {}, 1, False, np.float64, T=400, recurrent_scale=10.0)
    norms = [e.norm for e in events]
    assert any(np.isnan(n) for n in norms) and any(np.isinf(n) for n in norms)
    fast, plain = assert_one_encoding(events, batch_index=0)
    assert fast > 0 and plain > 0
    texts = [encode_event(e, seq, 0) for seq, e in enumerate(events)]
    assert any('"NaN"' in t for t in texts) and any('"Infinity"' in t for t in texts)


def test_values_that_overflow_their_norm_keep_the_plain_message():
    """Finite values whose squares overflow: the fast path must not send an infinite batch norm."""
    big = engine.Event("forward", "h_l0", 0, 0, 0, {"h": np.full((2, 3), 1e200), "pre": np.ones((2, 3))})
    assert _fast_message(big, 0, 0) is None
    assert strict_json(encode_event(big, 0, 0))["norms"]["h"] == "Infinity"


@pytest.mark.parametrize("cell, options, layers, bidirectional, dtype", CASES)
def test_the_f32_encoding_carries_the_same_event_in_float32(cell, options, layers, bidirectional, dtype):
    """Issue 17: encoding "f32" sends each value of the batch element as base64 float32 bytes (the
    norms and every other field as the plain message has them); an event it cannot carry is plain."""
    import base64

    compact_seen = 0
    for seq, event in enumerate(events_of(cell, options, layers, bidirectional, dtype)):
        plain = json.loads(encode_event(event, seq, 1))
        sent = json.loads(encode_event(event, seq, 1, "f32"))
        if "enc" not in sent:   # not all finite or of one shape: the plain message, unchanged
            assert sent == plain
            continue
        compact_seen += 1
        assert sent["enc"] == "f32"
        assert {k: v for k, v in sent.items() if k not in ("values", "enc")} == {k: v for k, v in plain.items() if k != "values"}
        assert set(sent["values"]) == set(event.values)
        for name, text in sent["values"].items():
            decoded = np.frombuffer(base64.b64decode(text), dtype="<f4")
            value = np.asarray(event.values[name])
            element = value.reshape(1) if value.ndim == 0 else value[1]
            np.testing.assert_array_equal(decoded, element.astype(np.float32).ravel())
    assert compact_seen > 0


def test_the_f32_encoding_is_asked_for_by_the_start_message(client):
    """A socket started with encoding "f32" streams compact events; an unknown encoding is refused naming the field."""
    with client.websocket_connect("/ws/trace") as ws:
        ws.send_json({"type": "start", "config": {"preset": "vanishing-tanh", "seq_len": 4}, "encoding": "f32", "delay_ms": 0})
        kinds = []
        while (msg := ws.receive_json())["type"] != "done":
            kinds.append(msg["type"])
            if msg["type"] == "event":
                assert msg["enc"] == "f32" and all(isinstance(v, str) for v in msg["values"].values())
        assert kinds.count("event") > 0
    with client.websocket_connect("/ws/trace") as ws:
        ws.send_json({"type": "start", "config": {"preset": "vanishing-tanh"}, "encoding": "f16"})
        msg = ws.receive_json()
        assert msg["type"] == "error" and msg["field"] == "encoding"
