"""Guided lessons: JSON files in static/lessons/, each a list of scenes (docs/DESIGN.md, "Lessons,
export and notebooks").

A lesson is data: {"name", "title", "lecture", "scenes": [scene…]}. A scene names its run
(``config``: a partial config, usually a preset plus overrides), the event to show (``step``), what
to highlight and its ``text``, whose numbers are placeholders filled from the trace by the page
(static/js/lesson_text.js). This module only reads and checks the files; the page plays them.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

from unrolled.server.config import first_error, resolve_config
from unrolled.server.paths import STATIC_DIR

LESSONS_DIR = STATIC_DIR / "lessons"
LESSON_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
HIGHLIGHT_KINDS = ("node", "edge", "plot", "equation", "panel")
STEP_KEYS = {"seq", "phase", "node", "t", "edge"}


INDEX = "index"   # static/lessons/index.json: [{name, title, scenes}] for the page's lesson picker


def lesson_names() -> list[str]:
    """The names of the lessons shipped with the package, in their ``order``."""
    names = [p.stem for p in LESSONS_DIR.glob("*.json") if p.stem != INDEX]
    return sorted(names, key=lambda n: (_order(n), n))


def lesson_index() -> list[dict]:
    """What static/lessons/index.json must hold: [{name, title, scenes}] of every lesson, in order."""
    return [{"name": n, "title": (lesson := load_lesson(n))["title"], "scenes": len(lesson["scenes"])}
            for n in lesson_names()]


def _order(name: str) -> int:
    try:
        return json.loads((LESSONS_DIR / f"{name}.json").read_text(encoding="utf-8")).get("order", 99)
    except (OSError, ValueError):
        return 99


def _check_scene(where: str, scene: Any) -> None:
    if not isinstance(scene, dict):
        raise ValueError(f"{where}: a scene is an object")
    if not isinstance(scene.get("title"), str) or not isinstance(scene.get("text"), list):
        raise ValueError(f"{where}: a scene needs a title and a text (a list of paragraphs)")
    try:
        resolve_config(scene.get("config") or {})
    except ValidationError as exc:
        detail, field = first_error(exc)
        raise ValueError(f"{where}: config field {field}: {detail}") from None
    step = scene.get("step", "end")
    if not (step in ("start", "end") or isinstance(step, int) or (isinstance(step, dict) and set(step) <= STEP_KEYS)):
        raise ValueError(f"{where}: step must be 'start', 'end', a seq or {{phase, node, t}} / {{phase, edge}}")
    for mark in scene.get("highlight", []):
        if not isinstance(mark, dict) or not any(kind in mark for kind in HIGHLIGHT_KINDS):
            raise ValueError(f"{where}: a highlight names one of {', '.join(HIGHLIGHT_KINDS)}")


def load_lesson(name: str) -> dict:
    """The lesson ``name`` (a file static/lessons/<name>.json), checked: ValueError naming the lesson,
    scene and field for a bad file; KeyError for an unknown name."""
    if not LESSON_NAME.match(name) or name == INDEX or not (LESSONS_DIR / f"{name}.json").is_file():
        raise KeyError(f"no lesson named {name!r}; the lessons are: {', '.join(lesson_names())}")
    lesson = json.loads((LESSONS_DIR / f"{name}.json").read_text(encoding="utf-8"))
    if lesson.get("name") != name or not isinstance(lesson.get("scenes"), list) or not lesson["scenes"]:
        raise ValueError(f"lesson {name}: needs its own name and at least one scene")
    for index, scene in enumerate(lesson["scenes"], start=1):
        _check_scene(f"lesson {name}, scene {index}", scene)
    return lesson


def lesson_configs(lesson: dict) -> list[dict]:
    """The distinct configs of a lesson's scenes, in order of first use (each is one recorded run)."""
    seen: dict[str, dict] = {}
    for scene in lesson["scenes"]:
        config = scene.get("config") or {}
        seen.setdefault(json.dumps(config, sort_keys=True), config)
    return list(seen.values())
