"""The step-through socket /ws/trace (protocol in server.socket_protocol)."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from server.socket_protocol import TraceConnection

router = APIRouter()


@router.websocket("/ws/trace")
async def trace_socket(websocket: WebSocket) -> None:
    """Receive client messages until the client leaves; then stop the stream's work."""
    await websocket.accept()
    state = websocket.app.state
    connection = TraceConnection(websocket.send_text, state.slots, state.loaded_trace, state.stream_idle_s)
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
