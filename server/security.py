"""Response hardening for every HTTP answer, as one pure ASGI middleware.

* Security headers on every response: a Content-Security-Policy that allows
  only the app's own origin, ``X-Content-Type-Options: nosniff``, a strict
  ``Referrer-Policy``, and no framing by other sites.
* A cap on request bodies (``Settings.max_body_bytes``; the model upload has its
  own): a bigger body gets a 413, whether it declares its length or streams.
* Sockets opened by a page of another origin are refused (a site a student
  visits cannot make their browser drive this server).
* A Host allow-list against DNS rebinding, on HTTP and sockets: a page on a rebinding
  domain has Origin = Host = ``attacker.example:8000`` and passes the origin check, but its
  Host names no host this server answers to. Accepted: ``127.0.0.1``, ``localhost``, ``::1``
  and ``Settings.allowed_hosts`` (the host `unrolled serve` was told to bind, and each
  ``--allow-host NAME``); when bound to every interface (``0.0.0.0`` / ``::``), also any IP
  address (a rebinding attack needs a domain name). Refused: HTTP 403, a socket's handshake 403.

The one relaxation of the policy is ``style-src 'unsafe-inline'``: plotly.js
injects a ``<style>`` element with its own rules when it loads and positions
its tooltips and legends through ``style`` attributes; neither can carry a
nonce. Scripts stay ``'self'`` only (no inline script, no eval): the page's
data travels in a ``<script type="application/json">`` block, which is data,
not script. ``img-src data: blob:`` lets plotly draw its modebar icons and
export PNGs.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
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

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::"})  # bind addresses meaning "every interface"

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


def host_name(host: str) -> str:
    """The name of a Host header value, without port or brackets, lower case, no trailing dot:
    ``"[::1]:8000"`` → ``"::1"``, ``"Example.org.:80"`` → ``"example.org"``."""
    host = host.strip().lower()
    if host.startswith("["):  # an IPv6 literal: [addr] or [addr]:port
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")


def is_ip_address(name: str) -> bool:
    """True for an IPv4 or IPv6 literal (a name DNS cannot rebind)."""
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class HostAllowList:
    """The host names a request's Host header may carry (see the module docstring)."""

    def __init__(self, extra: Iterable[str] = ()) -> None:
        names = {host_name(name) for name in extra}
        self.any_ip = bool(names & WILDCARD_HOSTS)
        self.names = frozenset(LOCAL_HOSTS | (names - WILDCARD_HOSTS))

    def allows(self, scope: Scope) -> bool:
        """True when the request has no Host (no browser sends that) or an allowed one."""
        host = _header(scope, b"host")
        if host is None:
            return True
        name = host_name(host)
        return name in self.names or (self.any_ip and is_ip_address(name))


class SecurityMiddleware:
    """Adds the security headers, caps request bodies and refuses cross-origin sockets.

    ``body_caps`` maps a path prefix to its own cap (the model upload takes more than a
    config); every other path gets ``max_body_bytes``. Bodies are counted as they arrive,
    never buffered here.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int, body_caps: dict[str, int] | None = None,
                 allowed_hosts: Iterable[str] = ()) -> None:
        self.app = app
        self.hosts = HostAllowList(allowed_hosts)
        self.max_body_bytes = max_body_bytes
        self.body_caps = sorted((body_caps or {}).items(), key=lambda item: -len(item[0]))

    def cap_for(self, path: str) -> int:
        """The body cap of a path (the longest matching prefix wins)."""
        for prefix, cap in self.body_caps:
            if path.startswith(prefix):
                return cap
        return self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and not self.hosts.allows(scope):
            await self._refuse_host(scope, send)
            return
        if scope["type"] == "websocket":
            if not same_origin(scope):
                await send({"type": "websocket.close", "code": 1008, "reason": "cross-origin socket refused"})
                return
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.cap_for(scope.get("path", ""))
        state = {"started": False, "refused": False}

        async def guarded_send(message: Message) -> None:
            if state["refused"]:  # the 413 is out: whatever the app answers is dropped
                return
            if message["type"] == "http.response.start":
                state["started"] = True
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            await _too_large(guarded_send, cap)
            return
        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:  # a body that did not declare its length, or lied about it
                    if not state["started"]:
                        await _too_large(guarded_send, cap)
                    state["refused"] = True
                    return {"type": "http.disconnect"}
            return message

        await self.app(scope, counted_receive, guarded_send)


    async def _refuse_host(self, scope: Scope, send: Send) -> None:
        if scope["type"] == "websocket":  # before accept: uvicorn answers the handshake with 403
            await send({"type": "websocket.close", "code": 1008, "reason": "host not allowed"})
            return
        name = host_name(_header(scope, b"host") or "")
        detail = (f"host not allowed: {name!r}. This server answers to 127.0.0.1, localhost, ::1 and the "
                  "names given with `unrolled serve --allow-host NAME` (a defence against DNS rebinding)")
        body = json.dumps({"detail": detail}).encode()
        await send({"type": "http.response.start", "status": 403,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                *SECURITY_HEADERS]})
        await send({"type": "http.response.body", "body": body})


async def _too_large(send: Send, cap: int) -> None:
    body = json.dumps({"detail": f"request body too large (over {cap} bytes)"}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
