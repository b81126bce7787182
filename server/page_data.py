"""The data the page starts from: presets, defaults, limits and choices (one JSON blob)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from unrolled.engine.tasks import TASK_NAMES
from unrolled.server.config import CELLS, config_model, resolve_config
from unrolled.server.config_table import config_fields
from unrolled.server.presets import PRESETS
from unrolled.server.settings import Settings
from unrolled.server.uploads.upload_form import upload_fields


def app_version() -> str:
    """The installed package's version ("dev" when run from a bare checkout)."""
    try:
        return version("unrolled")
    except PackageNotFoundError:
        return "dev"


def preset_list() -> list[dict]:
    """Every preset as {name, title, story, config} with its config fully resolved."""
    return [
        {"name": p.name, "title": p.title, "story": p.story,
         "config": resolve_config({"preset": p.name}).model_dump()}
        for p in PRESETS
    ]


def page_data(view_trace: bool, settings: Settings) -> dict:
    """The `page_data` template context (docs/DESIGN.md, "Config and page data"): ``config_fields``
    and ``limits`` are the bounds of the app's ``settings`` (those its schemas validate with)."""
    model = config_model(settings)
    return {
        "presets": preset_list(),
        "defaults": model().model_dump(),
        "config_fields": config_fields(model),
        "limits": settings.limits(),
        "tasks": list(TASK_NAMES),
        "cells": list(CELLS),
        "upload_fields": upload_fields(),   # issue 19: the upload form's fields, from the route's schema
        "view_trace": view_trace,
        "version": app_version(),
    }
