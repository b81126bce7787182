"""HTTP route of side-by-side comparisons (the logic is in server.compare); its body model is the
app's, a local of ``compare_router`` (so no ``from __future__ import annotations``)."""

from fastapi import APIRouter, Request, Response

from unrolled.server.compare import CompareError, CompareRequest, compare_document, compare_request_model, prepare_runs
from unrolled.server.routes.engine_slot import in_engine_slot
from unrolled.server.routes.model_routes import ERRORS
from unrolled.server.settings import Settings
from unrolled.server.uploads.models import ModelStore
from unrolled.server.wire.serialize import dumps

COMPARE_SCHEMA = {
    "type": "object",
    "description": (
        'runs: [{label, spec, cell, T, loss_type, loss, node: "h_l0", vanishing: {k, distance, norms, factor, '
        "bound, sigma_max}, gradient_norms: {node: [T]}, diagnosis: [finding], spectra: {node: {...}}}]; "
        'breakdown (first run\'s network and data): {label, node, every: {ks, matrix, loss, has_target, '
        "gradient_norms}, end: {...}}. Non-finite floats are the strings NaN, Infinity, -Infinity."
    ),
    "required": ["runs", "breakdown"],
}


def compare_router(settings: Settings) -> APIRouter:
    """POST /compare of one app, its body validated with the bounds of ``settings``."""
    Request_ = compare_request_model(settings)  # noqa: N806 (the body model, annotated below)
    router = APIRouter()

    @router.post("/compare", summary="Compare 2–4 runs on the same data", response_class=Response,
                 responses={200: {"content": {"application/json": {"schema": COMPARE_SCHEMA}},
                                  "description": "Each run's decay profile and diagnosis, and the loss breakdown"},
                            **ERRORS})
    async def compare(request_body: Request_, request: Request) -> Response:
        """Run every spec (a config as for POST /api/trace, or {"model_id": …[, "cell", "seed", …]} for an
        uploaded model) and return, per run, the vanishing profile of h_l0 (distance, norms, factor,
        bound), gradient_norms, loss and diagnosis; plus, on the first run's network and data, the
        ‖∂L_k/∂h_t‖ flow matrices with a loss at every step and with a loss at the end only. Each run obeys
        the trace limits, so a compare costs at most that many traces (plus the two breakdown runs)."""
        store = request.app.state.model_store
        return await in_engine_slot(request, lambda: _compare_json(request_body, store))

    return router


def _compare_json(request_body: CompareRequest, store: ModelStore) -> Response:
    try:
        runs = prepare_runs(request_body, store)
    except CompareError as exc:
        return Response(dumps({"detail": exc.errors}), status_code=422, media_type="application/json")
    return Response(dumps(compare_document(runs)), media_type="application/json")
