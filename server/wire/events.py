"""The one event encoder: an engine Event as the stream's ``event`` message.

`event_message` is the definition (plain, value by value); `encode_event` is what the stream
sends: the same message as JSON text, computed by a vectorised fast path when every value is
finite and of one shape, else by `event_message`. tests/server/test_server_wire_events.py pins the two
equal over events of every cell. The message's fields are in docs/DESIGN.md, "Socket protocol".
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import numpy as np

from unrolled.engine.norms import batch_mean_norm
from unrolled.server.wire.serialize import array_to_json, dumps, float_to_json, round_significant

STREAM_DIGITS = 4  # significant digits of the streamed values (the summary keeps full precision)


def _batch_norm(value: np.ndarray, valid: np.ndarray | None = None) -> float:
    """The engine's batch-mean L2 norm of a (B, n) value, in float64 (over the real entries `valid` of a
    padded batch); |v| for a scalar."""
    if value.ndim == 0:
        return abs(float(value))
    return float(batch_mean_norm(value.astype(np.float64), valid))


def event_message(event: Any, seq: int, batch_index: int) -> dict:
    """The ``event`` message of one engine Event: batch element ``batch_index`` of each value
    (rounded to STREAM_DIGITS), each value's batch-mean norm, and the event's ``norm``."""
    values: dict[str, Any] = {}
    norms: dict[str, Any] = {}
    for name, value in event.values.items():
        value = np.asarray(value)
        element = value.reshape(1) if value.ndim == 0 else value[batch_index]
        values[name] = array_to_json(element, STREAM_DIGITS)
        norms[name] = float_to_json(_batch_norm(value, getattr(event, "valid", None)))
    message = {
        "type": "event", "seq": seq, "phase": event.phase, "node": event.node, "t": int(event.t),
        "layer": event.layer, "direction": int(event.direction), "norm": float_to_json(float(event.norm)),
        "values": values, "norms": norms,
    }
    if getattr(event, "padding", False):  # padding for every element: no breakpoint judges its norm
        message["padding"] = True
    return message


def _fast_message(event: Any, seq: int, batch_index: int, rounded: bool = True) -> dict | None:
    """`event_message`'s message when every value is finite and of one shape, with one NumPy call
    per step (stack, round, norm); None when the event needs the plain path. ``rounded=False``: the
    values as arrays of the batch element, unrounded (for `_compact_message`)."""
    arrays = [np.asarray(v) for v in event.values.values()]
    norm = float(event.norm)
    if not arrays or not math.isfinite(norm) or any(a.shape != arrays[0].shape for a in arrays):
        return None
    stacked = np.stack(arrays).astype(np.float64, copy=False)
    if not bool(np.isfinite(stacked).all()):
        return None
    if stacked.ndim == 1:  # scalars (the loss): one value each
        elements, batch_norms = stacked[:, None], np.abs(stacked)
    else:
        elements = stacked[:, batch_index]
        batch_norms = batch_mean_norm(stacked, getattr(event, "valid", None))
    if not bool(np.isfinite(batch_norms).all()):
        return None
    names = list(event.values)
    return {
        "type": "event", "seq": seq, "phase": event.phase, "node": event.node, "t": int(event.t),
        "layer": event.layer, "direction": int(event.direction), "norm": norm,
        "values": dict(zip(names, round_significant(elements, STREAM_DIGITS).tolist() if rounded else elements)),
        "norms": dict(zip(names, batch_norms.tolist())),
    }


def _compact_message(event: Any, seq: int, batch_index: int) -> dict | None:
    """The ``"encoding": "f32"`` form of `_fast_message` (issue 17): each value of the batch element
    as base64 of its little-endian float32 bytes, ``"enc": "f32"`` saying so; the norms as JSON numbers.
    Formatting every value as a JSON float was most of the stream's server time; full precision stays
    in /api/trace and the exports. None when the event needs the plain path."""
    message = _fast_message(event, seq, batch_index, rounded=False)
    if message is None:
        return None
    message["values"] = {name: base64.b64encode(np.asarray(v, dtype="<f4").tobytes()).decode("ascii")
                         for name, v in message["values"].items()}
    message["enc"] = "f32"
    return message


def encode_event(event: Any, seq: int, batch_index: int, encoding: str = "json") -> str:
    """The JSON text of ``event_message(event, seq, batch_index)``: the stream's hot path.
    ``encoding="f32"`` sends the values compactly when it can (`_compact_message`)."""
    if encoding == "f32" and (compact := _compact_message(event, seq, batch_index)) is not None:
        return json.dumps(compact, separators=(",", ":"), allow_nan=False)
    message = _fast_message(event, seq, batch_index)
    if message is not None:  # already JSON-safe: encoded without a second walk
        return json.dumps(message, separators=(",", ":"), allow_nan=False)
    return dumps(event_message(event, seq, batch_index))


def events_text(texts: list[str]) -> str:
    """Several encoded ``event`` messages (`encode_event`'s texts, in order) as one ``events``
    message (issue 17: a start with ``"batch": true``, playing at delay 0; docs/DESIGN.md, "Socket
    protocol"). Joined as text: no event is decoded or encoded again."""
    return '{"type":"events","events":[' + ",".join(texts) + "]}"
