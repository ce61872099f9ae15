"""The two ASGI middlewares of the edge.

EdgeMiddleware wraps the whole app (API and pages): it decides who the peer is and adds the common
security headers. PageMiddleware wraps NiceGUI's app only (so the ingest path never runs it): it
gives every browser a binding cookie and sets the page CSP."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import cookie_parser

from .access_log import REQUEST_ID_HEADER, AccessLog, request_id_of
from .headers import COMMON, PAGE_CSP, api_csp_for
from .proxies import TrustedProxies

Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Callable, Callable], Awaitable[None]]

BROWSER_COOKIE = "cl_browser"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
_FORWARDED = (b"x-forwarded-", b"forwarded")


class EdgeMiddleware:
    def __init__(self, app: ASGIApp, proxies: TrustedProxies, access_log: AccessLog | None = None):
        self.app = app
        self.proxies = proxies
        self.access_log = access_log or AccessLog()

    async def __call__(self, scope: Scope, receive, send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        scope = self._resolve_peer(scope)
        if kind == "websocket":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        request_id = request_id_of(scope)
        scope.setdefault("state", {})  # shared with request.state below: the route records the client there
        csp = api_csp_for(scope["path"])
        extra = (*COMMON, *(((b"content-security-policy", csp),) if csp else ()), (REQUEST_ID_HEADER, request_id.encode()))
        status = 0

        async def send_with_headers(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            self.access_log.record(scope, status, time.perf_counter() - started, request_id)

    def _resolve_peer(self, scope: Scope) -> Scope:
        headers = scope.get("headers") or []
        if not any(name.startswith(_FORWARDED) for name, _ in headers):
            return scope  # the common case: nothing to decide
        peer: str = (scope.get("client") or ("", 0))[0] or ""
        if not self.proxies.trusts(peer):
            # Not a proxy of ours: whatever it claims is dropped, for every reader downstream.
            return {**scope, "headers": [(n, v) for n, v in headers if not n.startswith(_FORWARDED)]}
        found = {n: v.decode("latin-1") for n, v in headers if n.startswith(b"x-forwarded-")}
        scope = dict(scope)
        if b"x-forwarded-for" in found:
            scope["client"] = (self.proxies.client_from(peer, found[b"x-forwarded-for"]), 0)
        proto = found.get(b"x-forwarded-proto", "").split(",")[0].strip().lower()
        if proto in ("http", "https"):
            scope["scheme"] = proto if scope["type"] == "http" else {"http": "ws", "https": "wss"}[proto]
        return scope


class PageMiddleware:
    def __init__(self, app: ASGIApp, secure_cookie: bool):
        self.app = app
        self.secure = secure_cookie

    async def __call__(self, scope: Scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        set_cookie = None
        if not scope["path"].startswith("/_nicegui/") and not _TOKEN.fullmatch(browser_id(scope) or ""):
            # First visit (or a mangled cookie): mint the binding before the page is built, and
            # show it to the page as if the browser had sent it, so the page's client is bound to it.
            value = secrets.token_urlsafe(32)
            headers = [(n, v) for n, v in scope["headers"] if n != b"cookie"]
            cookie = b"; ".join([v for n, v in scope["headers"] if n == b"cookie"] + [f"{BROWSER_COOKIE}={value}".encode()])
            scope = {**scope, "headers": [*headers, (b"cookie", cookie)]}
            # Lax: sent on top-level navigations (links into the dashboard keep working), never on
            # another site's subrequests or websockets.
            set_cookie = (f"{BROWSER_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax"
                          + ("; Secure" if self.secure else "")).encode()

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                extra = [(b"content-security-policy", PAGE_CSP)]
                if set_cookie:
                    extra.append((b"set-cookie", set_cookie))
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def browser_id(scope_or_environ: dict[str, Any]) -> str | None:
    """The binding cookie of an ASGI scope or a socket.io environ."""
    if "HTTP_COOKIE" in scope_or_environ:
        raw = scope_or_environ["HTTP_COOKIE"]
    else:
        raw = b"; ".join(v for n, v in scope_or_environ.get("headers", ()) if n == b"cookie").decode("latin-1")
    return cookie_parser(raw).get(BROWSER_COOKIE) if raw else None
