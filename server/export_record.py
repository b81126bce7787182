"""A run recorded as the messages /ws/trace would send for it: ``meta``, every ``event``, ``summary``.

The exported page (server.export_page) replays these messages through the page's own dispatch
(static/js/offline.js), so everything downstream of the socket stays the same. The events are the
stream's own encoding (server.wire.events.encode_event: 4 significant digits), not a dump of the
trace's arrays: that is what keeps an exported page small.
"""

from __future__ import annotations

import json
from typing import Any

from unrolled.server.config import TraceConfig, resolve_config
from unrolled.server.runs import StreamSource, config_source, loaded_source
from unrolled.server.wire.events import encode_event
from unrolled.server.wire.messages import summary_message
from unrolled.server.wire.serialize import to_jsonable


def record_source(source: StreamSource) -> dict:
    """{"meta", "events", "summary"}: every message of the source's stream but ``done``, JSON-safe."""
    try:
        events = [json.loads(encode_event(event, seq, source.batch_index))
                  for seq, event in enumerate(source.events)]
        summary = summary_message(source.finished_trace())
    finally:
        source.close()
    return {"meta": to_jsonable(source.meta), "events": events, "summary": summary}


def record_config(request: dict[str, Any], config_model: type[TraceConfig] = TraceConfig) -> dict:
    """The recorded stream of the config ``request`` (a partial config, e.g. {"preset": "char-lm"});
    ``request`` travels with it, so the page finds the recording it asks for by the same dict.
    A bad config raises pydantic's ValidationError naming the field."""
    config = resolve_config(request, config_model)
    recording = record_source(config_source(config))
    recording["request"] = dict(request)
    return recording


def record_trace(trace: Any, name: str) -> dict:
    """The recorded replay of a saved trace (what `unrolled view trace.npz` streams); its request is
    None: the page asks for it as the "loaded" source."""
    recording = record_source(loaded_source(trace, name))
    recording["request"] = None
    return recording
