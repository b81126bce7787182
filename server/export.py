"""`unrolled export`, the page's "Download as page" and `unrolled.show`: what to record, as one page.

Each entry returns the self-contained HTML (server.export_page) of one or more recorded runs
(server.export_record): a preset, a config, a lesson (every distinct config of its scenes), a saved
trace file or a Trace in memory.
"""

from __future__ import annotations

from typing import Any

from unrolled.server.config import TraceConfig, resolve_config
from unrolled.server.export_lessons import lesson_configs, load_lesson
from unrolled.server.export_page import build_page
from unrolled.server.export_record import record_config, record_trace
from unrolled.server.presets import PRESETS_BY_NAME
from unrolled.server.runs import title_and_story
from unrolled.server.settings import Settings


def export_config(config: dict[str, Any], settings: Settings | None = None,
                  config_model: type[TraceConfig] = TraceConfig) -> str:
    """The page of one config (a dict, possibly naming a preset); ValidationError for a bad one."""
    title, _ = title_and_story(resolve_config(config, config_model))
    return build_page([record_config(config, config_model)], title=title, settings=settings)


def export_preset(name: str, settings: Settings | None = None) -> str:
    """The page of a preset; KeyError naming the presets for an unknown name."""
    if name not in PRESETS_BY_NAME:
        raise KeyError(f"no preset named {name!r}; the presets are: {', '.join(PRESETS_BY_NAME)}")
    return export_config({"preset": name}, settings)


def export_lesson(name: str, settings: Settings | None = None) -> str:
    """The page of a lesson: its scenes and one recording per distinct config they use."""
    lesson = load_lesson(name)
    recordings = [record_config(config) for config in lesson_configs(lesson)]
    return build_page(recordings, title=lesson["title"], lesson=lesson, settings=settings)


def export_trace(trace: Any, name: str, settings: Settings | None = None) -> str:
    """The page of a Trace (run by the engine, or loaded from a file)."""
    return build_page([record_trace(trace, name)], title=f"Trace: {name}", settings=settings)

