"""Which paths an API-only process serves, and what it answers for the rest.

NiceGUI keeps each page's state in the process that rendered it (its websocket must come back to
that process), so with `serve --workers N` only one process mounts the dashboard; the API port is
shared by all N. A dashboard path asked of the API port is sent to the UI port (307 for a page,
so a bookmarked http://host:8080/ still works), or refused when no UI port is known."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, RedirectResponse

API_PREFIXES = ("/api/", "/v1/", "/docs")
API_PATHS = frozenset({"/healthz", "/readyz", "/openapi.json", "/metrics", "/docs"})


def is_api_path(path: str) -> bool:
    return path in API_PATHS or path.startswith(API_PREFIXES)


class ApiPortGuard:
    """On `api_port`, only API paths reach the app; `ui_port` (if any) is where the dashboard lives."""

    def __init__(self, app: Any, api_port: int | None, ui_port: int | None):
        self.app, self.api_port, self.ui_port = app, api_port, ui_port

    async def __call__(self, scope: dict[str, Any], receive, send) -> None:
        if scope["type"] not in ("http", "websocket") or is_api_path(scope["path"]):
            return await self.app(scope, receive, send)
        local = scope.get("server") or ("", 0)
        if self.api_port is not None and local[1] != self.api_port:
            return await self.app(scope, receive, send)  # the UI process's own UI port
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        if self.ui_port is not None and scope.get("method") in ("GET", "HEAD"):
            host = dict(scope.get("headers") or ()).get(b"host", b"").decode("latin-1")
            name = host.rsplit(":", 1)[0] if host and not host.endswith("]") else host or local[0]
            query = scope.get("query_string", b"").decode("latin-1")
            target = f"{scope.get('scheme', 'http')}://{name}:{self.ui_port}{scope['path']}" + (f"?{query}" if query else "")
            return await RedirectResponse(target, status_code=307)(scope, receive, send)
        body = {"error": {"code": "not_found", "message": "the dashboard is not served on this port", "details": []}}
        await JSONResponse(body, status_code=404)(scope, receive, send)
