"""The receive loop every WebSocket route shares: hand each client message to a connection object."""

from __future__ import annotations

from typing import Protocol

from fastapi import WebSocket, WebSocketDisconnect


class Connection(Protocol):
    """What a socket route's per-client state offers the loop."""

    async def handle(self, raw: str | bytes) -> None:
        """Answer one client message (text or bytes)."""

    async def close(self) -> None:
        """The client is gone: stop its work."""


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
