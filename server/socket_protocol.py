"""The client side of /ws/trace: message validation and what each message does.

client → {"type": "start", "config": {...}, "mode": "play"|"step", "delay_ms": n,
          "source": "config"|"loaded"|"trained"|"model", "model_id": id}
         {"type": "step"} | {"type": "play", "delay_ms": n} | {"type": "pause"} | {"type": "stop"}
         {"type": "break", "on": "nonfinite"|"grad_below"|"grad_above", "value": x, "enabled": true}

"loaded" streams the trace of `unrolled view`; "trained" steps through the network that
/ws/train trained, rebuilt from its ``trained_config``; "model" streams a model uploaded with
POST /api/models (its ``model_id``). Breakpoints belong to the socket (they survive a new ``start``); ``enabled:
false`` removes one. Every bad message gets an ``error`` reply and changes
nothing; a ``start`` replaces the stream running on the same socket.

When every engine slot is busy a ``start`` waits in a bounded first-come queue: the
client gets {"type": "queued", "position": n, "detail"} (again whenever n changes),
then the stream's meta when its turn comes; beyond the queue's length, an ``error``
whose detail begins with "busy". Every other message works while queued (``stop``
or a new ``start`` leaves the queue).
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from unrolled.server.config import first_error, resolve_config
from unrolled.server.messages import error_message, paused_message
from unrolled.server.models import model_source_factory
from unrolled.server.runs import config_source, loaded_source
from unrolled.server.settings import settings
from unrolled.server.socket_loop import MessageConnection
from unrolled.server.streaming import EngineWorker, StreamSession, StreamSlots
from unrolled.server.training import trained_source_factory

Delay = Annotated[int, Field(ge=0, le=settings.max_delay_ms)]


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class StartMessage(_Message):
    """Start a new stream (replacing the current one)."""

    type: Literal["start"]
    config: dict[str, Any] | None = None
    mode: Literal["play", "step"] = "play"
    delay_ms: Delay | None = None  # None: no delay
    source: Literal["config", "loaded", "trained", "model"] = "config"
    model_id: str | None = Field(None, max_length=64)  # source "model": the id POST /api/models returned


class StepMessage(_Message):
    """Send one more event."""

    type: Literal["step"]


class PlayMessage(_Message):
    """Stream continuously, optionally with a new delay."""

    type: Literal["play"]
    delay_ms: Delay | None = None


class PauseMessage(_Message):
    """Stop streaming until play or step."""

    type: Literal["pause"]


class StopMessage(_Message):
    """End the current stream and free its work."""

    type: Literal["stop"]


class BreakMessage(_Message):
    """Set (or with enabled=false remove) a breakpoint."""

    type: Literal["break"]
    on: Literal["nonfinite", "grad_below", "grad_above"]
    value: float | None = Field(None, ge=0.0, allow_inf_nan=False)
    enabled: bool = True


MESSAGE_TYPES: dict[str, type[_Message]] = {
    "start": StartMessage, "step": StepMessage, "play": PlayMessage,
    "pause": PauseMessage, "stop": StopMessage, "break": BreakMessage,
}


class TraceConnection(MessageConnection):
    """The state of one /ws/trace socket: its breakpoints and its current stream."""

    MESSAGE_TYPES = MESSAGE_TYPES

    def __init__(self, send_text, slots: StreamSlots, loaded: tuple[Any, str] | None,
                 idle_timeout_s: float) -> None:
        self._raw_send = send_text
        self._idle_timeout_s = idle_timeout_s
        self._send_lock = asyncio.Lock()
        self._slots = slots
        self._loaded = loaded  # (trace, file name) when the app was started by `unrolled view`
        self.breakpoints: dict[str, float | None] = {}
        self.session: StreamSession | None = None

    async def send_text(self, text: str) -> None:
        """Send one message (the pump and the replies share the socket)."""
        async with self._send_lock:
            await self._raw_send(text)

    async def send(self, message: dict) -> None:
        """Send one JSON message."""
        await self.send_text(json.dumps(message, allow_nan=False))

    async def error(self, detail: str, field: str | None = None) -> None:
        """Reply with an error; nothing else changes."""
        await self.send(error_message(detail, field))

    async def close(self) -> None:
        """The socket is gone: stop the stream's work."""
        await self._stop_stream()

    async def _stop_stream(self) -> None:
        if self.session is not None:
            await self.session.stop()
            self.session = None

    def _live_session(self) -> StreamSession | None:
        if self.session is None or self.session.finished:
            return None
        return self.session

    async def _on_start(self, message: StartMessage) -> None:
        make_source = self._source_factory(message)
        if isinstance(make_source, tuple):
            await self.error(*make_source)
            return
        await self._stop_stream()
        # the session waits its turn for a slot (queued, told its position) before the worker starts
        worker = EngineWorker(make_source, self._slots, settings.stream_prefetch)
        self.session = StreamSession(worker, self.send_text, self.breakpoints, message.mode, message.delay_ms or 0,
                                     self._idle_timeout_s)
        self.session.start()

    def _source_factory(self, message: StartMessage):
        """A callable building the stream's source in the worker, or (detail, field) if invalid."""
        if message.source == "loaded":
            if self._loaded is None:
                return "no trace is loaded (start the server with `unrolled view trace.npz`)", "source"
            trace, name = self._loaded
            return lambda: loaded_source(trace, name)
        if message.source == "model":  # a user's uploaded model (server.models keeps it per process)
            return model_source_factory(message.model_id)
        if message.source == "trained":  # the network /ws/train trained (rebuilt if not cached)
            return trained_source_factory(message.config or {})
        try:
            config = resolve_config(message.config or {})
        except ValidationError as exc:
            return first_error(exc)
        return lambda: config_source(config)

    async def _on_step(self, message: StepMessage) -> None:
        session = self._live_session()
        if session is None:
            await self.error("no stream is running: send start first", "type")
            return
        session.step()

    async def _on_play(self, message: PlayMessage) -> None:
        session = self._live_session()
        if session is None:
            await self.error("no stream is running: send start first", "type")
            return
        session.play(message.delay_ms)

    async def _on_pause(self, message: PauseMessage) -> None:
        session = self._live_session()
        if session is None:
            await self.error("no stream is running: send start first", "type")
            return
        session.pause()
        await self.send(paused_message("pause", session.last_seq, "paused by the client"))

    async def _on_stop(self, message: StopMessage) -> None:
        await self._stop_stream()

    async def _on_break(self, message: BreakMessage) -> None:
        if not message.enabled:
            self.breakpoints.pop(message.on, None)
            return
        if message.on != "nonfinite" and message.value is None:
            await self.error(f"a {message.on} breakpoint needs a value", "value")
            return
        self.breakpoints[message.on] = message.value
