"""The one connection base of the WebSocket routes: the receive loop, the validation of a client
message, and the socket's send lock (the worker's pump and the replies share the socket).

The receive loop never waits for anything but the next frame. uvicorn reads a socket's next frame
(its close frame included) only once the app has taken the previous message, so a receive loop that
waits for a send (blocked by a client that reads slowly) or for a stopping worker thread leaves the
client's close frame unread and its close handshake unanswered. Messages are therefore handled by a
task of their own, fed by the loop through a bounded queue (docs/DESIGN.md, "Socket protocol").
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from fastapi import WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ConfigDict, ValidationError

from unrolled.server.config import first_error
from unrolled.server.sockets.worker import background, log
from unrolled.server.wire.messages import error_message

MAX_UNHANDLED = 32  # client messages waiting for the handler; a client that sends more without reading is dropped


class ClientGone(Exception):
    """A send failed because the client has left (the pumps end quietly on it)."""


class ClientMessage(BaseModel):
    """Base of every client → server socket message: strict, no unknown fields."""

    model_config = ConfigDict(extra="forbid", strict=True)


class MessageConnection:
    """Per-client socket state: validates each message against ``MESSAGE_TYPES`` and calls
    ``_on_<type>(message)``; every bad message gets an ``error`` reply and changes nothing."""

    MESSAGE_TYPES: dict[str, type[BaseModel]] = {}

    def __init__(self, send_text: Callable[[str], Awaitable[None]], max_message_bytes: int) -> None:
        self._raw_send = send_text
        self._send_lock = asyncio.Lock()
        self._max_message_bytes = max_message_bytes

    async def send_text(self, text: str) -> None:
        """Send one message (the pump and the replies share the socket); ClientGone if the client left."""
        async with self._send_lock:
            await self._send_now(text)

    async def _send_now(self, text: str) -> None:
        try:
            await self._raw_send(text)
        except (WebSocketDisconnect, OSError, RuntimeError) as exc:  # Starlette/uvicorn: the socket is closed
            raise ClientGone(str(exc)) from None

    async def send(self, message: dict) -> None:
        """Send one JSON message."""
        await self.send_text(json.dumps(message, allow_nan=False))

    async def send_latest(self, build: Callable[[], dict]) -> None:
        """Send the message ``build()`` returns, built once the socket is free: it reflects every
        message sent before it (a ``paused`` reply names the last event actually sent)."""
        async with self._send_lock:
            await self._send_now(json.dumps(build(), allow_nan=False))

    async def error(self, detail: str, field: str | None = None) -> None:
        """Reply with an error; nothing else changes."""
        await self.send(error_message(detail, field))

    def abandon(self) -> None:
        """The client is gone: stop its work at once, awaiting nothing (this runs while the socket's
        task may itself be cancelled; worker threads end by themselves and free their slots)."""

    async def handle(self, raw: str | bytes) -> None:
        """Validate one client message and act on it."""
        message = parse_message(raw, self.MESSAGE_TYPES, self._max_message_bytes)
        if isinstance(message, tuple):
            await self.error(*message)
            return
        await getattr(self, f"_on_{message.type}")(message)


async def serve_connection(websocket: WebSocket, connection: MessageConnection) -> None:
    """Feed `connection` every client message until the client leaves, then close it (always).

    This loop only receives (so uvicorn keeps reading, and answers a close frame at once); a task
    handles the messages in order. When the client leaves, the handler is cancelled and the work
    stopped without awaiting anything (the worker thread frees its slot when it ends)."""
    inbox: asyncio.Queue[str | bytes] = asyncio.Queue()
    handler = background(_handle_all(connection, inbox), f"{type(connection).__name__} handler")
    try:
        while not handler.done():  # it ends early only when a reply found the client gone
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            if inbox.qsize() >= MAX_UNHANDLED:
                log.info("dropped a socket that sent %d messages without reading the replies", MAX_UNHANDLED)
                break
            raw = message.get("text")
            inbox.put_nowait(raw if raw is not None else message.get("bytes") or b"")
    except (WebSocketDisconnect, RuntimeError, OSError):  # the client vanished mid-receive
        pass
    finally:
        handler.cancel()  # its done callback retrieves how it ended
        connection.abandon()


async def _handle_all(connection: MessageConnection, inbox: asyncio.Queue) -> None:
    """Handle the client's messages one by one, until the client is gone."""
    try:
        while True:
            await connection.handle(await inbox.get())
    except ClientGone:
        pass


def parse_message(raw: str | bytes, types: dict[str, type[BaseModel]],
                  max_bytes: int) -> BaseModel | tuple[str, str | None]:
    """A client message validated against the model its "type" names, or (detail, field) saying why not.

    Every way a message can be wrong ends here as an answer, never an exception: too large, not
    JSON, nested too deeply for the parser, not an object, an unknown or unhashable type, bad fields."""
    if len(raw) > max_bytes:
        return f"message too large (over {max_bytes} bytes)", None
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return "malformed JSON", None
    except RecursionError:  # "[[[[…" thousands deep fits in a small message
        return "malformed JSON: nested too deeply", None
    kind = data.get("type") if isinstance(data, dict) else None
    if not isinstance(kind, str) or kind not in types:  # {"type": []} is not hashable
        return f'a message must be a JSON object whose "type" is one of {", ".join(types)}', "type"
    try:
        return types[kind].model_validate(data)
    except ValidationError as exc:
        return first_error(exc)
