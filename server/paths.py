"""Where the page's templates and static files are, installed or in the repository.

A built wheel ships them inside the package as ``unrolled/server/templates`` and
``unrolled/server/static``; an editable install or a checkout has them at the top level
of the repository.
"""

from __future__ import annotations

from pathlib import Path

import plotly

_PACKAGE_DIR = Path(__file__).resolve().parent
_REPO_DIR = _PACKAGE_DIR.parent


def _locate(name: str) -> Path:
    """``server/<name>`` when installed as a wheel, else the repository's ``<name>/``."""
    inside = _PACKAGE_DIR / name
    return inside if inside.is_dir() else _REPO_DIR / name


TEMPLATES_DIR = _locate("templates")
STATIC_DIR = _locate("static")
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
