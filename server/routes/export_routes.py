"""The page as one self-contained HTML file: POST /api/export.html (a config) and
GET /api/lessons/{name}/page (a lesson), both answered with an attachment (server/export.py).

No ``from __future__ import annotations`` here: FastAPI must see the per-app body model (a local of
``export_router``) as the annotation itself."""

from fastapi import APIRouter, HTTPException, Request, Response

from unrolled.server import export
from unrolled.server.config import config_model
from unrolled.server.export_lessons import LESSON_NAME, lesson_names
from unrolled.server.routes.engine_slot import in_engine_slot
from unrolled.server.settings import Settings

HTML_RESPONSES = {
    200: {"content": {"text/html": {}}, "description": "One HTML file with the page, plotly.js and the recorded "
                                                      "events inlined: it works with no server and no network"},
    503: {"description": "Too many traces are running; retry shortly"},
}


def _attachment(html: str, stem: str) -> Response:
    return Response(html, media_type="text/html; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{stem}.html"'})


def export_router(settings: Settings) -> APIRouter:
    """The export routes of one app (the config body validated with the bounds of ``settings``)."""
    Config = config_model(settings)  # noqa: N806 (a model class, annotated below so FastAPI validates with it)
    router = APIRouter(prefix="/api")

    @router.post("/export.html", summary="Record a config's run as one self-contained page",
                 response_class=Response, responses=HTML_RESPONSES)
    async def export_config(config: Config, request: Request) -> Response:
        """The run of the config (a preset name plus overrides, or every field), recorded as the socket
        streams it, in one HTML file that replays it offline."""
        body = config.model_dump()
        stem = config.preset or "unrolled"
        return await in_engine_slot(request, lambda: _attachment(
            export.export_config(body, settings, Config), stem))

    @router.get("/lessons/{name}/page", summary="A guided lesson as one self-contained page",
                response_class=Response, responses={**HTML_RESPONSES, 404: {"description": "No such lesson"}})
    async def export_lesson(name: str, request: Request) -> Response:
        """Every run of the lesson's scenes, recorded, with its scenes, in one HTML file."""
        if not LESSON_NAME.match(name) or name not in lesson_names():
            raise HTTPException(404, f"no lesson named {name!r}; the lessons are: {', '.join(lesson_names())}")
        return await in_engine_slot(request, lambda: _attachment(export.export_lesson(name, settings), name))

    return router
