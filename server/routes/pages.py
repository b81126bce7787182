"""The page, its vendored plotly.js and the health check."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from unrolled import engine
from unrolled.server.module_preload import preload_urls
from unrolled.server.page_data import app_version, page_data
from unrolled.server.paths import PLOTLY_JS

router = APIRouter()


@router.get("/", response_class=HTMLResponse, summary="The page")
def index(request: Request) -> HTMLResponse:
    """Render templates/index.html with the page's starting data."""
    templates = request.app.state.templates
    data = page_data(view_trace=request.app.state.loaded_trace is not None, settings=request.app.state.settings)
    # issue 17: every module preloaded, and the first run's socket opened while they load (static/js/early_socket.js)
    context = {"page_data": data, "cell_panels": cell_panels(), "module_preload": preload_urls(), "early_socket": True,
               "initial_preset": initial_preset(dict(request.query_params), data)}
    return templates.TemplateResponse(request=request, name="index.html", context=context)


def initial_preset(query: dict[str, str], data: dict) -> str:
    """The preset the page starts on, as main.js will choose it, so the picker shows it before the
    scripts run: the URL's ``preset``, else the first preset for a bare URL, else "" (a custom config)."""
    names = [p["name"] for p in data["presets"]]
    if query.get("preset") in names:
        return query["preset"]
    if data.get("view_trace") or not names or set(query) & {f["name"] for f in data["config_fields"]}:
        return ""
    return names[0]


def cell_panels() -> list[dict[str, str]]:
    """Each cell's block of the equations panel (its own lecture markup, see engine/cells/lecture.py)."""
    from unrolled.server.topologies import TOPOLOGY_PANELS   # issue 15's topologies have their own blocks
    return [{"name": name, "panel": engine.get_cell(name).lecture_notes().panel} for name in engine.CELL_TYPES] + TOPOLOGY_PANELS


@router.get("/vendor/plotly.min.js", include_in_schema=False)
def plotly_js() -> FileResponse:
    """plotly.js from the installed plotly package: the page loads nothing from the internet."""
    return FileResponse(PLOTLY_JS, media_type="application/javascript",
                        headers={"Cache-Control": "public, max-age=86400"})


@router.get("/healthz", summary="Health check")
async def healthz() -> dict:
    """Liveness: {"status": "ok", "version": ...}. Answered on the event loop itself (no
    thread-pool hop), so its latency measures how responsive the server's loop is."""
    return {"status": "ok", "version": app_version()}
