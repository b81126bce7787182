"""JSON routes: the presets, the whole trace of a config, uploaded models and comparisons.

No ``from __future__ import annotations`` here: FastAPI must see the per-app body model (a local of
``api_router``) as the annotation itself, not as a name it cannot resolve."""

import io
import json

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from unrolled.server.config import TraceConfig, config_model
from unrolled.server.page_data import preset_list
from unrolled.server.routes import compare_routes, model_routes
from unrolled.server.routes.engine_slot import in_engine_slot
from unrolled.server.runs import compute_trace
from unrolled.server.settings import Settings
from unrolled.server.wire.document import trace_document

router = APIRouter(prefix="/api")
router.include_router(model_routes.router)    # /api/models…: bring your own model


class PresetOut(BaseModel):
    """A preset as the page lists it."""

    name: str
    title: str
    story: str
    config: dict


class BusyOut(BaseModel):
    """Every trace slot of the server is taken."""

    detail: str


TRACE_SCHEMA = {
    "type": "object",
    "description": (
        "The Trace attributes of the trace contract (docs/DESIGN.md) as nested lists (loss, loss_t, grads, activations, gradients, "
        "grad_contributions, jacobian_norms) plus gradient_norms, grad_norms, vanishing, flow, "
        "x, targets, mask, params, labels and the resolved config. Floats are full precision; "
        'non-finite ones are the strings "NaN", "Infinity", "-Infinity".'
    ),
    "required": ["config", "loss", "loss_t", "gradient_norms", "activations", "gradients", "grads"],
}


@router.get("/presets", response_model=list[PresetOut], summary="The built-in presets")
def presets() -> list[dict]:
    """Every preset: {name, title, story, config} with the config fully resolved."""
    return preset_list()


def api_router(settings: Settings) -> APIRouter:
    """The /api routes of one app: the config bodies of /api/trace, /api/trace.npz and /api/compare are
    validated (and listed in /openapi.json) with the bounds of ``settings``."""
    Config = config_model(settings)  # noqa: N806 (a model class, annotated below so FastAPI validates with it)
    app_router = APIRouter()
    app_router.include_router(router)  # /api/presets, /api/models…
    app_router.include_router(compare_routes.compare_router(settings), prefix="/api")  # /api/compare

    @app_router.post(
        "/api/trace",
        summary="Run a config and return its whole trace",
        response_class=Response,
        responses={
            200: {"content": {"application/json": {"schema": TRACE_SCHEMA}}, "description": "The trace"},
            503: {"model": BusyOut, "description": "Too many traces are running; retry shortly"},
        },
    )
    async def trace(config: Config, request: Request) -> Response:
        """Forward and backward pass of the config (a preset name plus overrides, or every field)."""
        return await in_engine_slot(request, lambda: Response(_trace_json(config), media_type="application/json"))

    @app_router.post(
        "/api/trace.npz",
        summary="Run a config and return its whole trace as .npz",
        response_class=Response,
        responses={
            200: {"content": {"application/octet-stream": {}},
                  "description": "The trace as written by engine's Trace.save (open it with engine.load_trace or "
                                 "`unrolled view`)"},
            503: {"model": BusyOut, "description": "Too many traces are running; retry shortly"},
        },
    )
    async def trace_npz(config: Config, request: Request) -> Response:
        """The same trace as POST /api/trace, lossless, as a NumPy archive (no pickles inside); its chain
        of segments travels with it (an encoder–decoder's halves, a truncated run's windows)."""
        return await in_engine_slot(request, lambda: Response(_trace_npz(config), media_type="application/octet-stream"))

    return app_router


def _trace_json(config: TraceConfig) -> str:
    """Compute and encode in the worker thread (encoding a big trace takes a while too)."""
    trace, task = compute_trace(config)
    return json.dumps(trace_document(trace, config, task), separators=(",", ":"), allow_nan=False)


def _trace_npz(config: TraceConfig) -> bytes:
    """Compute the trace and write it with Trace.save."""
    trace, _ = compute_trace(config)
    buffer = io.BytesIO()
    trace.save(buffer)
    return buffer.getvalue()
