"""What every WebSocket route shares: the receive loop and the validation of a client message."""

from __future__ import annotations

import json
from typing import Protocol

from fastapi import WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ValidationError

from unrolled.server.config import first_error
from unrolled.server.settings import settings


class Connection(Protocol):
    """What a socket route's per-client state offers the loop."""

    async def handle(self, raw: str | bytes) -> None:
        """Answer one client message (text or bytes)."""

    async def close(self) -> None:
        """The client is gone: stop its work."""


class MessageConnection:
    """Per-client socket state that validates each message and calls `_on_<type>(message)`;
    subclasses set MESSAGE_TYPES and say how to reply with an error."""

    MESSAGE_TYPES: dict[str, type[BaseModel]] = {}

    async def error(self, detail: str, field: str | None = None) -> None:
        """Reply with an error message."""
        raise NotImplementedError

    async def handle(self, raw: str | bytes) -> None:
        """Validate one client message and act on it."""
        message = parse_message(raw, self.MESSAGE_TYPES)
        if isinstance(message, tuple):
            await self.error(*message)
            return
        await getattr(self, f"_on_{message.type}")(message)


async def serve_connection(websocket: WebSocket, connection: Connection) -> None:
    """Feed `connection` every client message until the client leaves, then close it (always)."""
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            raw = message.get("text")
            if raw is None:
                raw = message.get("bytes") or b""
            await connection.handle(raw)
    except (WebSocketDisconnect, RuntimeError, OSError):  # the client vanished mid-receive
        pass
    finally:
        await connection.close()


def parse_message(raw: str | bytes, types: dict[str, type[BaseModel]]) -> BaseModel | tuple[str, str | None]:
    """A client message validated against the model its "type" names, or (detail, field) saying why not.

    Every way a message can be wrong ends here as an answer, never an exception: too large, not
    JSON, nested too deeply for the parser, not an object, an unknown or unhashable type, bad fields."""
    if len(raw) > settings.max_message_bytes:
        return f"message too large (over {settings.max_message_bytes} bytes)", None
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
