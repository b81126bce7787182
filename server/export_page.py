"""One self-contained HTML file: the page, its styles, plotly.js, its ES modules and recorded runs.

The file needs no server and no network (it works opened from ``file://``, inside a notebook's
``<iframe srcdoc>`` or from any static host). It is the served page (templates/index.html rendered
with the page data) with every ``/static/…`` stylesheet and ``/vendor/plotly.min.js`` (named by ``<meta name="plotly-src">``) inlined, the
ES modules of static/js carried by an import map of ``data:`` URLs (a module loaded from ``file://``
may not fetch its neighbours, so each relative import is rewritten to a bare ``unrolled/…`` name the
map resolves), and the recorded streams (server.export_record) in ``<script id="offline-data">``,
which static/js/offline.js replays through the page's own dispatch. See docs/DESIGN.md, "Lessons,
export and notebooks".
"""

from __future__ import annotations

import base64
import json
import posixpath
import re
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import escape

from unrolled.server.module_preload import RELATIVE_IMPORT
from unrolled.server.page_data import page_data
from unrolled.server.paths import PLOTLY_JS, STATIC_DIR, TEMPLATES_DIR
from unrolled.server.routes.pages import cell_panels
from unrolled.server.settings import Settings
from unrolled.server.wire.serialize import dumps

MODULE_PREFIX = "unrolled/"   # bare specifiers of the page's modules in the import map
_STYLESHEET = re.compile(r"""<link\s+rel="stylesheet"\s+href="/static/([^"]+)"\s*/?>""")
# the served page loads plotly after first paint from <meta name="plotly-src"> (static/js/plotly_loader.js);
# the exported page carries it inline there instead, so window.Plotly exists before any module runs
_PLOTLY_TAG = re.compile(r"""<meta\s+name="plotly-src"\s+content="/vendor/plotly\.min\.js"\s*/?>""")
_MAIN_TAG = re.compile(r"""<script\s+type="module"\s+src="/static/js/([^"]+)"\s*>\s*</script>""")


def script_safe(text: str) -> str:
    """Text that cannot end the <script> element it is put in (JSON, or JS outside string tricks)."""
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def _module_text(path: Path, name: str) -> str:
    """A module's source with every relative import rewritten to its bare name in the import map."""
    folder = posixpath.dirname(name)

    def bare(match: re.Match) -> str:
        target = posixpath.normpath(posixpath.join(folder, match.group(3)))
        return f"{match.group(1)}{match.group(2)}{MODULE_PREFIX}{target}{match.group(2)}"

    return RELATIVE_IMPORT.sub(bare, path.read_text(encoding="utf-8"))


def import_map(js_dir: Path = STATIC_DIR / "js") -> dict:
    """{"imports": {"unrolled/<module>.js": data URL}} for every module under static/js."""
    imports = {}
    for path in sorted(js_dir.rglob("*.js")):
        name = path.relative_to(js_dir).as_posix()
        encoded = base64.b64encode(_module_text(path, name).encode("utf-8")).decode("ascii")
        imports[MODULE_PREFIX + name] = f"data:text/javascript;base64,{encoded}"
    return {"imports": imports}


def _inline_styles(html: str) -> str:
    def style(match: re.Match) -> str:
        css = (STATIC_DIR / match.group(1)).read_text(encoding="utf-8").replace("</", "<\\/")
        return f"<style>\n{css}\n</style>"

    return _STYLESHEET.sub(style, html)


def _inline_scripts(html: str, offline: dict) -> str:
    plotly = PLOTLY_JS.read_text(encoding="utf-8").replace("</script", "<\\/script")
    html = _PLOTLY_TAG.sub(lambda _: f"<script>{plotly}</script>", html, count=1)

    def modules(match: re.Match) -> str:
        return (f'<script id="offline-data" type="application/json">{script_safe(dumps(offline))}</script>\n'
                f'<script type="importmap">{script_safe(json.dumps(import_map()))}</script>\n'
                f'<script type="module">import "{MODULE_PREFIX}{match.group(1)}";</script>')

    return _MAIN_TAG.sub(modules, html, count=1)


def offline_page_data(recordings: list[dict], settings: Settings, lesson: bool = False) -> dict:
    """The page data of an exported page: the presets it holds an unmodified recording of (the picker
    offers only those; a lesson, which starts its own runs, names every preset it uses), and as
    ``defaults`` the first recording's config when there is none, so that the page opens on a run it has."""
    data = page_data(view_trace=any(rec["meta"].get("config") is None for rec in recordings), settings=settings)
    configs = [rec["meta"]["config"] for rec in recordings if rec["meta"].get("config")]
    used = {config.get("preset") for config in configs}
    data["presets"] = [p for p in data["presets"] if p["config"] in configs or (lesson and p["name"] in used)]
    if not data["presets"] and configs:
        data["defaults"] = configs[0]
    data["offline"] = True
    return data


def build_page(recordings: list[dict], *, title: str, lesson: dict | None = None,
               settings: Settings | None = None) -> str:
    """The whole self-contained HTML text replaying ``recordings`` (and playing ``lesson``'s scenes)."""
    settings = settings if settings is not None else Settings.from_env()
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)), autoescape=True)
    context: dict[str, Any] = {"page_data": offline_page_data(recordings, settings, lesson is not None), "cell_panels": cell_panels()}
    html = env.get_template("index.html").render(**context)
    html = re.sub(r"<title>.*?</title>", lambda _: f"<title>{escape(title)} — Unrolled</title>",
                  html, count=1, flags=re.S)
    offline = {"title": title, "recordings": recordings, "lesson": lesson}
    return _inline_scripts(_inline_styles(html), offline)
