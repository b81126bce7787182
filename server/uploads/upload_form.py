"""The upload form's fields, read off the upload route's schema (server.routes.model_routes.ModelUpload):
the one list the page builds its form from (page data ``upload_fields``) and the route validates.

Each entry is {"name", "kind": "file" | "select" | "checkbox", "required", "name_field", "options"}: a
file's base64 travels as ``name`` and its file name as ``name_field`` (``model`` / ``model_name``); a
select's ``options`` are the values the schema allows (it may be left empty: null, the server's default).
"""

from __future__ import annotations

from typing import Any

from unrolled.server.routes.model_routes import ModelUpload


def _options(prop: dict[str, Any]) -> list[str] | None:
    """The allowed values of a schema property (an enum, possibly inside anyOf with null), else None."""
    for branch in [prop, *prop.get("anyOf", [])]:
        if "enum" in branch:
            return list(branch["enum"])
    return None


def upload_fields() -> list[dict[str, Any]]:
    """The form's fields in the schema's order (file names ride with their files, not as fields)."""
    properties = ModelUpload.model_json_schema()["properties"]
    fields = ModelUpload.model_fields
    out = []
    for name, info in fields.items():
        if name.endswith("_name") and name[: -len("_name")] in fields:
            continue                                   # model_name … : the companion of a file field
        companion = f"{name}_name" if f"{name}_name" in fields else None
        options = _options(properties[name])
        kind = "file" if companion else "checkbox" if info.annotation is bool else "select" if options else None
        if kind is None:
            raise TypeError(f"ModelUpload.{name}: the upload form has no control for this field's type")
        out.append({"name": name, "kind": kind, "required": info.is_required(), "name_field": companion,
                    "options": options})
    return out
