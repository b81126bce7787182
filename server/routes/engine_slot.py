"""Running a route's engine work in one of the app's engine slots, or answering 503."""

from __future__ import annotations

import json
from collections.abc import Callable

from fastapi import Request, Response

from unrolled.server.sockets.slots import Busy, run_in_slot


async def in_engine_slot(request: Request, work: Callable[[], Response]) -> Response:
    """``work()`` off the event loop inside one of the app's engine slots (503 when all are busy)."""
    try:
        return await run_in_slot(request.app.state.slots, work)
    except Busy as exc:
        return Response(json.dumps({"detail": exc.detail}), status_code=503, media_type="application/json",
                        headers={"Retry-After": "1"})
