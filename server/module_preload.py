"""The page's ES modules to preload (issue 17): every module main.js imports, directly or not.

Without a hint the browser discovers the modules one import level at a time (nine levels deep, 60-odd files),
each level a round of requests before the page can run; ``<link rel="modulepreload">`` for the whole set in
the page's ``<head>`` fetches them all at once. Only the served page has them (an exported page inlines its
modules, server/export_page.py).
"""

from __future__ import annotations

import posixpath
import re
from functools import lru_cache
from pathlib import Path

from unrolled.server.paths import STATIC_DIR

# a relative import (static or dynamic) of a module: the specifier is group 3 (server/export_page.py rewrites them)
RELATIVE_IMPORT = re.compile(r"""(\bfrom\s*|\bimport\s*\(?\s*)(['"])(\.{1,2}/[^'"\n]+)\2""")


def import_closure(entry: str, js_dir: Path) -> list[str]:
    """The paths (relative to ``js_dir``, posix) of ``entry`` and every module it imports, directly or
    not, in the order they were first reached; an import naming no file is left out."""
    order: list[str] = []
    todo = [entry]
    while todo:
        name = todo.pop(0)
        path = js_dir / name
        if name in order or not path.is_file():
            continue
        order.append(name)
        folder = posixpath.dirname(name)
        for match in RELATIVE_IMPORT.finditer(path.read_text(encoding="utf-8")):
            todo.append(posixpath.normpath(posixpath.join(folder, match.group(3))))
    return order


@lru_cache(maxsize=1)
def preload_urls() -> tuple[str, ...]:
    """``/static/js/…`` of every module the page loads except main.js itself (which its own tag loads)."""
    return tuple(f"/static/js/{name}" for name in import_closure("main.js", STATIC_DIR / "js")[1:])
