"""The FastAPI application: `create_app()` and the module-level `app` (uvicorn server.app:app)."""

from __future__ import annotations

import json
import sys

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from unrolled.server import api, pages, ws_trace, ws_train
from unrolled.server.page_data import app_version
from unrolled.server.paths import STATIC_DIR, TEMPLATES_DIR
from unrolled.server.serialize import to_jsonable
from unrolled.server.security import SecurityMiddleware
from unrolled.server.settings import settings
from unrolled.server.streaming import StreamSlots

DESCRIPTION = (
    "Unrolled: RNNs unrolled in time. `POST /api/trace` returns a whole trace; the "
    "step-through stream is the WebSocket `/ws/trace`, live training `/ws/train` (see DESIGN.md §3)."
)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """Every request problem, malformed JSON included, is a 422 naming the field
    (inputs that JSON cannot carry, such as NaN, are encoded like every other float)."""
    errors = [{k: v for k, v in e.items() if k not in ("ctx", "url")} for e in exc.errors()]
    # ASCII-escaped: an echoed input may hold a lone surrogate that UTF-8 cannot encode
    body = json.dumps({"detail": to_jsonable(errors)}, allow_nan=False)
    return Response(body, status_code=422, media_type="application/json")


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """FastAPI answers an unparsable body (bad UTF-8, say) with a 400 that no schema lists:
    report it as the 422 every other bad body gets."""
    if exc.status_code == 400:
        detail = [{"type": "json_invalid", "loc": ["body"], "msg": f"could not parse the body: {exc.detail}"}]
        return JSONResponse({"detail": detail}, status_code=422)
    return await http_exception_handler(request, exc)


def create_app(
    templates_dir: Path | None = None,
    loaded_trace: tuple[Any, str] | None = None,
    max_streams: int | None = None,
    stream_idle_s: float | None = None,
    max_queued: int | None = None,
) -> FastAPI:
    """Build the app; ``loaded_trace`` = (Trace, file name) serves a saved trace (`unrolled view`).
    ``max_streams``, ``stream_idle_s`` and ``max_queued`` (socket starts waiting for a slot;
    0 answers "busy" at once) override the settings (tests use small ones)."""
    # Stream workers compute in threads; a short GIL switch interval lets the event loop
    # (sockets, /healthz) take its turn within ~1 ms instead of Python's default 5 ms.
    sys.setswitchinterval(settings.gil_switch_ms / 1000)
    app = FastAPI(title="Unrolled", version=app_version(), description=DESCRIPTION)
    app.state.templates = Jinja2Templates(directory=str(templates_dir or TEMPLATES_DIR))
    app.state.loaded_trace = loaded_trace
    app.state.slots = StreamSlots(max_streams or settings.max_streams,
                                  settings.max_queued if max_queued is None else max_queued)
    app.state.stream_idle_s = stream_idle_s or settings.stream_idle_s
    app.add_middleware(SecurityMiddleware, max_body_bytes=settings.max_body_bytes,
                       body_caps={"/api/models": settings.max_upload_bytes})
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.include_router(pages.router)
    app.include_router(api.router)
    app.include_router(ws_trace.router)
    app.include_router(ws_train.router)
    if STATIC_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    return app


app = create_app()
