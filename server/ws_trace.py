"""The step-through socket /ws/trace (protocol in server.socket_protocol)."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from unrolled.server.socket_loop import serve_connection
from unrolled.server.socket_protocol import TraceConnection

router = APIRouter()


@router.websocket("/ws/trace")
async def trace_socket(websocket: WebSocket) -> None:
    """Receive client messages until the client leaves; then stop the stream's work."""
    await websocket.accept()
    state = websocket.app.state
    await serve_connection(websocket, TraceConnection(websocket.send_text, state.slots, state.loaded_trace,
                                                      state.stream_idle_s))
