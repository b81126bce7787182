"""The config's one table: every field of TraceConfig as the page needs it, read off the pydantic schema.

The page builds its permalink parameters, its form's inputs and their bounds from this list (it
travels in the page data as ``config_fields``), so no field is listed by hand anywhere else.
"""

from __future__ import annotations

from typing import Any

from unrolled.server.config import TraceConfig

_JSON_TYPES = {"integer": "int", "number": "float", "boolean": "bool", "string": "string"}


def _field_entry(name: str, prop: dict[str, Any]) -> dict[str, Any]:
    """One field's entry: its type, choices, bounds and default, with `null` folded into `nullable`."""
    variants = prop.get("anyOf", [prop])
    nullable = any(v.get("type") == "null" for v in variants)
    (schema,) = [v for v in variants if v.get("type") != "null"] or [{}]
    return {
        "name": name,
        "type": _JSON_TYPES[schema.get("type", "string")],
        "choices": schema.get("enum"),
        "default": prop.get("default"),
        "minimum": schema.get("minimum"),
        "maximum": schema.get("maximum"),
        "exclusive_minimum": schema.get("exclusiveMinimum"),
        "max_length": schema.get("maxLength"),
        "nullable": nullable,
        "group": prop.get("group", "trace"),
        "derived": bool(prop.get("derived", False)),
        "description": prop.get("description"),
    }


def config_fields(model: type[TraceConfig] = TraceConfig) -> list[dict[str, Any]]:
    """Every config field of ``model`` (an app's config_model; default: the process's TraceConfig) in
    declaration order (see docs/DESIGN.md, "Config and page data")."""
    properties = model.model_json_schema()["properties"]
    return [_field_entry(name, prop) for name, prop in properties.items()]


def fields_in_group(group: str) -> tuple[str, ...]:
    """The names of the fields of one group ("trace" or "training")."""
    return tuple(f["name"] for f in config_fields() if f["group"] == group)
