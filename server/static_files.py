"""The page's static files (``/static``) served from memory (issue 17).

A first visit fetches ~70 ES modules; Starlette's StaticFiles answers each through thread hops (stat,
open, read), ~4.5 ms apiece on this machine kind while chromium competes for the same two cores, and
the modules queue behind each other: 0.55 s before main.js could run. Here each file's bytes, ETag
and headers are kept after its first request and answered on the event loop; a ``stat`` per request
(microseconds) notices an edited file, so a developer's change shows on the next reload.

Only regular files under the folder are served (no directory listing, no path outside it);
``If-None-Match`` gets a 304. Anything else is a 404 or 405 through the app's error handlers.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.types import Receive, Scope, Send

CACHE_CONTROL = b"no-cache"  # revalidate with the ETag: an edited module is never served stale
TYPES = {".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".json": "application/json", ".html": "text/html; charset=utf-8"}
MAX_CACHED_BYTES = 4 * 2**20  # a bigger file is read on every request (none of the page's are)


@dataclass(frozen=True)
class CachedFile:
    """One file's bytes and response headers, valid while its (mtime, size) is unchanged."""

    stamp: tuple[int, int]
    body: bytes
    etag: bytes
    content_type: bytes


class MemoryStaticFiles:
    """An ASGI app serving ``directory``'s files from memory (see the module docstring)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory).resolve()
        self._cache: dict[str, CachedFile] = {}

    def _find(self, relative: str) -> Path:
        """The file a request path names, or a 404 (a folder, a missing file, a path leaving the directory)."""
        candidate = (self.directory / relative.lstrip("/")).resolve()
        if not candidate.is_relative_to(self.directory) or not candidate.is_file():
            raise HTTPException(status_code=404)
        return candidate

    def _load(self, path: Path) -> CachedFile:
        """The file's cached entry, read again when it changed on disk."""
        info = path.stat()
        stamp = (info.st_mtime_ns, info.st_size)
        key = str(path)
        entry = self._cache.get(key)
        if entry is not None and entry.stamp == stamp:
            return entry
        body = path.read_bytes()
        content_type = TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        entry = CachedFile(stamp, body, b'"' + hashlib.sha1(body).hexdigest().encode() + b'"', content_type.encode())
        if info.st_size <= MAX_CACHED_BYTES:
            self._cache[key] = entry
        return entry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            raise HTTPException(status_code=404)
        if scope["method"] not in ("GET", "HEAD"):
            raise HTTPException(status_code=405)
        entry = self._load(self._find(route_path(scope)))
        headers = [(b"etag", entry.etag), (b"cache-control", CACHE_CONTROL)]
        request_etags = dict(scope["headers"]).get(b"if-none-match", b"")
        if entry.etag in [tag.strip() for tag in request_etags.split(b",")]:
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        headers += [(b"content-type", entry.content_type), (b"content-length", str(len(entry.body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else entry.body})


def route_path(scope: Scope) -> str:
    """The request's path below the mount point (a Mount puts its prefix in ``root_path``)."""
    path, root = scope["path"], scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root + "/") else path


def static_app(directory: Path) -> MemoryStaticFiles:
    """The app mounted at /static."""
    if not os.path.isdir(directory):
        raise ValueError(f"static directory {directory} does not exist")
    return MemoryStaticFiles(directory)
