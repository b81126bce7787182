"""The FastAPI application: `create_app(settings)` and the module-level `app`
(`uvicorn unrolled.server.app:app`, settings from the environment)."""

from __future__ import annotations

import json
import sys

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from unrolled.engine import record_pool
from unrolled.server.blas_threads import limit_blas_threads
from unrolled.server.config import config_model
from unrolled.server.page_data import app_version
from unrolled.server.paths import STATIC_DIR, TEMPLATES_DIR
from unrolled.server.static_files import static_app
from unrolled.server.routes import api, export_routes, pages
from unrolled.server.security import SecurityMiddleware
from unrolled.server.settings import Settings
from unrolled.server.sockets import trace, train
from unrolled.server.sockets.slots import engine_slots
from unrolled.server.training import TrainedCache
from unrolled.server.uploads.models import ModelStore, model_store
from unrolled.server.wire.serialize import to_jsonable

DESCRIPTION = (
    "Unrolled: RNNs unrolled in time. `POST /api/trace` returns a whole trace; the "
    "step-through stream is the WebSocket `/ws/trace`, live training `/ws/train` (see docs/DESIGN.md, \"Socket protocol\")."
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
    settings: Settings | None = None,
    *,
    templates_dir: Path | None = None,
    loaded_trace: tuple[Any, str] | None = None,
    models: ModelStore | None = None,
) -> FastAPI:
    """Build the app. ``settings`` (default: ``Settings.from_env()``) are the one place limits enter:
    they live on ``app.state.settings`` with what is built from them (the engine slots, the model
    store, the cache of trained networks, the config model ``config_model(settings)``), and routes and
    sockets read them through their request's app; the request schemas (the REST bodies, listed in
    /openapi.json, the socket messages, the page's config table) carry these settings' bounds. ``loaded_trace`` =
    (Trace, file name) serves a saved trace (`unrolled view`); ``models`` replaces the store of
    uploaded models (default: one sharing its files in the machine's folder)."""
    settings = settings if settings is not None else Settings.from_env()
    # Stream workers compute in threads; a short GIL switch interval lets the event loop
    # (sockets, /healthz) take its turn within ~1 ms instead of Python's default 5 ms.
    sys.setswitchinterval(settings.gil_switch_ms / 1000)
    record_pool.set_max_free_bytes(int(settings.record_pool_mb * 2**20))
    if settings.blas_threads is not None:
        limit_blas_threads(settings.blas_threads)
    app = FastAPI(title="Unrolled", version=app_version(), description=DESCRIPTION)
    app.state.settings = settings
    app.state.config_model = config_model(settings)  # the config schema with this app's bounds
    app.state.templates = Jinja2Templates(directory=str(templates_dir or TEMPLATES_DIR))
    app.state.loaded_trace = loaded_trace
    app.state.slots = engine_slots(settings)
    app.state.model_store = models if models is not None else model_store(settings)
    app.state.trained = TrainedCache()  # networks trained on /ws/train, for /ws/trace's "trained" source
    app.add_middleware(SecurityMiddleware, max_body_bytes=settings.max_body_bytes,
                       body_caps={"/api/models": settings.max_upload_bytes},
                       allowed_hosts=settings.allowed_hosts)  # Host allow-list (DNS rebinding)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.include_router(pages.router)
    app.include_router(api.api_router(settings))  # body models with this app's bounds
    app.include_router(export_routes.export_router(settings))  # the page as one file (server/export.py)
    app.include_router(trace.router)
    app.include_router(train.router)
    if STATIC_DIR.is_dir():
        app.mount("/static", static_app(STATIC_DIR), name="static")   # issue 17: from memory
    return app


app = create_app()
