"""The step-through socket /ws/trace: its client messages and what each one does
(docs/DESIGN.md, "Socket protocol").

client → {"type": "start", "config": {...}, "mode": "play"|"step", "delay_ms": n,
          "source": "config"|"loaded"|"trained"|"model", "model_id": id}
         {"type": "step"} | {"type": "play", "delay_ms": n} | {"type": "pause"} | {"type": "stop"}
         {"type": "break", "on": "nonfinite"|"grad_below"|"grad_above", "value": x, "enabled": true}

"loaded" streams the trace of `unrolled view`; "trained" steps through the network that
/ws/train trained, rebuilt from its ``trained_config``; "model" streams a model uploaded with
POST /api/models (its ``model_id``). Breakpoints belong to the socket (they survive a new ``start``); ``enabled:
false`` removes one; where they stop the stream is the rule of server.sockets.breakpoints. Every bad
message gets an ``error`` reply and changes nothing; a ``start`` replaces the stream running on the
same socket. A ``pause`` is answered {"type": "paused", "reason": "pause", "seq"} naming the last
event sent before it.

When every engine slot is busy a ``start`` waits in a bounded first-come queue: the
client gets {"type": "queued", "position": n, "detail"} (again whenever n changes),
then the stream's meta when its turn comes; beyond the queue's length, an ``error``
whose detail begins with "busy". Every other message works while queued (``stop``
or a new ``start`` leaves the queue).
"""

from __future__ import annotations

from functools import lru_cache, partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, WebSocket
from pydantic import Field, ValidationError, create_model

from unrolled.server.config import SCHEMA_SETTINGS, config_model, first_error, resolve_config
from unrolled.server.runs import config_source, loaded_source
from unrolled.server.settings import Settings
from unrolled.server.sockets.connection import ClientMessage, MessageConnection, serve_connection
from unrolled.server.sockets.process_worker import ProcessEngineWorker, can_run_in_process
from unrolled.server.sockets.session import JOIN_TIMEOUT_S, StreamSession
from unrolled.server.sockets.slots import EngineSlots
from unrolled.server.sockets.stream_worker import EngineWorker
from unrolled.server.training import TrainedCache, trained_source_factory
from unrolled.server.uploads.models import ModelStore, model_source_factory
from unrolled.server.wire.messages import paused_message

Delay = Annotated[int, Field(ge=0, le=SCHEMA_SETTINGS.max_delay_ms)]  # the default; an app's: trace_message_types

router = APIRouter()


class StartMessage(ClientMessage):
    """Start a new stream (replacing the current one)."""

    type: Literal["start"]
    config: dict[str, Any] | None = None
    mode: Literal["play", "step"] = "play"
    delay_ms: Delay | None = None  # None: no delay
    source: Literal["config", "loaded", "trained", "model"] = "config"
    model_id: str | None = Field(None, max_length=64)  # source "model": the id POST /api/models returned
    encoding: Literal["json", "f32"] = "json"  # "f32": event values as base64 float32 (issue 17; the page asks)
    batch: bool = False  # issue 17: at delay 0, events already computed travel together as one "events" message


class StepMessage(ClientMessage):
    """Send one more event."""

    type: Literal["step"]


class PlayMessage(ClientMessage):
    """Stream continuously, optionally with a new delay."""

    type: Literal["play"]
    delay_ms: Delay | None = None


class PauseMessage(ClientMessage):
    """Stop streaming until play or step."""

    type: Literal["pause"]


class StopMessage(ClientMessage):
    """End the current stream and free its work."""

    type: Literal["stop"]


class BreakMessage(ClientMessage):
    """Set (or with enabled=false remove) a breakpoint."""

    type: Literal["break"]
    on: Literal["nonfinite", "grad_below", "grad_above"]
    value: float | None = Field(None, ge=0.0, allow_inf_nan=False)
    enabled: bool = True


MESSAGE_TYPES: dict[str, type[ClientMessage]] = {
    "start": StartMessage, "step": StepMessage, "play": PlayMessage,
    "pause": PauseMessage, "stop": StopMessage, "break": BreakMessage,
}


@lru_cache(maxsize=32)
@lru_cache(maxsize=8)
def trace_message_types(max_delay_ms: int) -> dict[str, type[ClientMessage]]:
    """MESSAGE_TYPES with start's and play's ``delay_ms`` bounded by an app's ``max_delay_ms`` (built once
    per bound, not per connection)."""
    delay = (int | None, Field(None, ge=0, le=max_delay_ms))
    return {**MESSAGE_TYPES,
            "start": create_model("StartMessage", __base__=StartMessage, __module__=__name__, delay_ms=delay),
            "play": create_model("PlayMessage", __base__=PlayMessage, __module__=__name__, delay_ms=delay)}


class TraceConnection(MessageConnection):
    """The state of one /ws/trace socket: its breakpoints and its current stream."""

    MESSAGE_TYPES = MESSAGE_TYPES

    def __init__(self, send_text, settings: Settings, slots: EngineSlots, loaded: tuple[Any, str] | None,
                 models: ModelStore, trained: TrainedCache) -> None:
        super().__init__(send_text, settings.max_message_bytes)
        self.MESSAGE_TYPES = trace_message_types(settings.max_delay_ms)
        self._config_model = config_model(settings)
        self._settings = settings
        self._slots = slots
        self._loaded = loaded  # (trace, file name) when the app was started by `unrolled view`
        self._models = models
        self._trained = trained
        self.breakpoints: dict[str, float | None] = {}
        self.session: StreamSession | None = None
        self._stopped: EngineWorker | None = None  # the last stream stopped, until a start has waited for it

    def abandon(self) -> None:
        """The socket is gone: stop the stream's work."""
        if self.session is not None:
            self.session.abandon()
            self.session = None

    async def _stop_stream(self) -> None:
        """Stop the current stream (without waiting for its thread: the next start does)."""
        session, self.session = self.session, None
        if session is not None:
            self._stopped = session.worker
            await session.stop()

    async def _running(self) -> StreamSession | None:
        """The stream in progress, or None after replying that there is none. A step, play or pause
        that crossed the stream's summary and done on the wire gets no reply: done already answered
        it (a client cannot know that done is on its way; replying with an error failed its run)."""
        if self.session is not None and self.session.completed:
            return None
        if self.session is None or self.session.finished:
            await self.error("no stream is running: send start first", "type")
            return None
        return self.session

    async def _on_start(self, message: StartMessage) -> None:
        make_source = self._source_factory(message)
        if isinstance(make_source, tuple):
            await self.error(*make_source)
            return
        await self._stop_stream()
        replaced, self._stopped = self._stopped, None
        # the session waits for the replaced stream's thread, then its turn for a slot (queued,
        # told its position), before the worker starts
        worker = self._new_worker(make_source, message.encoding)
        self.session = StreamSession(worker, self.send_text, self.breakpoints, message.mode, message.delay_ms or 0,
                                     self._settings.stream_idle_s, after=replaced, batch=message.batch)
        self.session.start()

    def _new_worker(self, make_source, encoding: str = "json") -> EngineWorker:
        """The stream's worker: in a process for a config when the settings say so, else a thread."""
        prefetch = self._settings.stream_prefetch
        if (self._settings.stream_processes and isinstance(make_source, partial)
                and make_source.func is config_source and can_run_in_process(make_source.args[0])):
            return ProcessEngineWorker(make_source.args[0], self._slots, prefetch, encoding)
        return EngineWorker(make_source, self._slots, prefetch, encoding)

    def _source_factory(self, message: StartMessage):
        """A callable building the stream's source in the worker, or (detail, field) if invalid."""
        if message.source == "loaded":
            if self._loaded is None:
                return "no trace is loaded (start the server with `unrolled view trace.npz`)", "source"
            trace, name = self._loaded
            return lambda: loaded_source(trace, name)
        if message.source == "model":  # a user's uploaded model (the app's model store keeps it)
            return model_source_factory(self._models, message.model_id)
        if message.source == "trained":  # the network /ws/train trained (rebuilt if not cached)
            return trained_source_factory(self._trained, message.config or {}, self._config_model)
        try:
            config = resolve_config(message.config or {}, self._config_model)
        except ValidationError as exc:
            return first_error(exc)
        return partial(config_source, config)

    async def _on_step(self, message: StepMessage) -> None:
        if session := await self._running():
            session.step()

    async def _on_play(self, message: PlayMessage) -> None:
        if session := await self._running():
            session.play(message.delay_ms)

    async def _on_pause(self, message: PauseMessage) -> None:
        if session := await self._running():
            session.pause()
            # built once the socket is free: an event already on its way is sent first, and named here
            await self.send_latest(lambda: paused_message("pause", session.last_seq, "paused by the client"))

    async def _on_stop(self, message: StopMessage) -> None:
        await self._stop_stream()
        if self._stopped is not None:  # "stop" frees the slot before the next message is handled
            await self._stopped.join(JOIN_TIMEOUT_S)

    async def _on_break(self, message: BreakMessage) -> None:
        if not message.enabled:
            self.breakpoints.pop(message.on, None)
            return
        if message.on != "nonfinite" and message.value is None:
            await self.error(f"a {message.on} breakpoint needs a value", "value")
            return
        self.breakpoints[message.on] = message.value


@router.websocket("/ws/trace")
async def trace_socket(websocket: WebSocket) -> None:
    """Receive client messages until the client leaves; then stop the stream's work."""
    await websocket.accept()
    state = websocket.app.state
    await serve_connection(websocket, TraceConnection(websocket.send_text, state.settings, state.slots,
                                                      state.loaded_trace, state.model_store, state.trained))
