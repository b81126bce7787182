"""Response hardening for every HTTP answer, as one pure ASGI middleware.

* Security headers on every response: a Content-Security-Policy that allows
  only the app's own origin, ``X-Content-Type-Options: nosniff``, a strict
  ``Referrer-Policy``, and no framing by other sites.
* A cap on request bodies (``Settings.max_body_bytes``): a bigger body gets a
  413 before anything parses it, whether it declares its length or streams.
* Sockets opened by a page of another origin are refused (a site a student
  visits cannot make their browser drive this server).

The one relaxation of the policy is ``style-src 'unsafe-inline'``: plotly.js
injects a ``<style>`` element with its own rules when it loads and positions
its tooltips and legends through ``style`` attributes; neither can carry a
nonce. Scripts stay ``'self'`` only (no inline script, no eval): the page's
data travels in a ``<script type="application/json">`` block, which is data,
not script. ``img-src data: blob:`` lets plotly draw its modebar icons and
export PNGs.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",  # plotly.js: injected <style> and style attributes
    "img-src 'self' data: blob:",  # plotly.js: modebar icons and PNG export
    "font-src 'self' data:",
    "connect-src 'self'",  # same-origin fetch and ws:// / wss:// of the page's own host
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def same_origin(scope: Scope) -> bool:
    """True when the request carries no Origin (not a browser page) or its Origin's
    host:port is the Host the request was sent to."""
    origin = _header(scope, b"origin")
    if origin is None:
        return True
    host = _header(scope, b"host")
    if host is None:
        return False
    try:
        return urlsplit(origin).netloc.lower() == host.lower()
    except ValueError:
        return False


class SecurityMiddleware:
    """Adds the security headers, caps request bodies and refuses cross-origin sockets."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            if not same_origin(scope):
                await send({"type": "websocket.close", "code": 1008, "reason": "cross-origin socket refused"})
                return
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._too_large(send_with_headers)
            return
        body_receive = await self._bounded_body(receive) if scope.get("method") in ("POST", "PUT", "PATCH") else receive
        if body_receive is None:
            await self._too_large(send_with_headers)
            return
        await self.app(scope, body_receive, send_with_headers)

    async def _bounded_body(self, receive: Receive) -> Receive | None:
        """Read the whole body (it is small by the cap); None when it exceeds the cap.
        Returns a ``receive`` that replays it and then passes on (for the disconnect)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left: let the app see it
                return _replay([message], receive)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return _replay([{"type": "http.request", "body": b"".join(chunks), "more_body": False}], receive)

    async def _too_large(self, send: Send) -> None:
        body = json.dumps({"detail": f"request body too large (over {self.max_body_bytes} bytes)"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
