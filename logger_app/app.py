"""The one place that wires routers, middleware and pages: build().

The API is a plain FastAPI app and NiceGUI is mounted on it (ui.run_with), so ingest requests
never pass through NiceGUI's per-request machinery (measured 6x slower when they did)."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from starlette.routing import Match, Mount

from . import __version__
from .api import routes_docs, routes_health, routes_ingest, routes_otlp, routes_read
from .api.errors import envelope, install_error_handlers
from .config import Settings, get_settings
from .edge.access_log import AccessLog
from .edge.middleware import EdgeMiddleware, PageMiddleware
from .edge.proxies import TrustedProxies
from .runtime import Runtime

API_DESCRIPTION = """Central Logger stores one JSON log per AI-agent ticket run and serves it back,
scoped to the client of the API key. Send the key as `X-API-Key: <key>` or
`Authorization: Bearer <key>`. Every error is `{"error": {"code", "message", "details": [{"field", "problem"}]}}`."""


def create_api(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    """The HTTP API alone (used by build(), and by tests that need no pages).

    `runtime` lets a caller supply the collaborators (a test's writer, limiter or clock) instead
    of reaching into private caches after the fact; by default one is built from `settings`."""
    settings = settings or (runtime.settings if runtime is not None else get_settings())
    runtime = runtime or Runtime(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title="Central Logger", version=__version__, description=API_DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None)  # served from local assets by routes_docs
    app.state.runtime = runtime
    install_error_handlers(app)
    app.add_middleware(EdgeMiddleware, proxies=TrustedProxies(settings.trusted_proxies),
                       access_log=AccessLog(every_request=settings.access_log))
    app.include_router(routes_ingest.router)
    app.include_router(routes_read.router)
    app.include_router(routes_health.router)
    app.include_router(routes_otlp.router)
    routes_docs.install(app)

    app.openapi = lambda: _openapi(app)

    @app.api_route("/api/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    async def api_not_found(request: Request):
        # Without this, NiceGUI (mounted at /) would answer unknown API paths with an HTML page.
        # This route matches every method, so Starlette's own 405 never fires: a path that exists
        # with other methods is answered here, with Allow (RFC 9110).
        allowed = _methods_for(app, request.scope)
        if allowed:
            return envelope(405, "method_not_allowed", f"{request.method} is not allowed on {request.url.path}",
                            headers={"Allow": ", ".join(sorted(allowed))})
        return envelope(404, "not_found", f"no API route {request.url.path}")

    return app


CANDIDATE_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _methods_for(app: FastAPI, scope: dict) -> set[str]:
    """The methods our API routes (not the catch-all) answer on the scope's path: asked of the
    router's own matching, which also sees routes inside included routers."""
    methods: set[str] = set()
    for method in CANDIDATE_METHODS:
        probe = {**scope, "method": method}
        for route in app.router.routes:
            if isinstance(route, Mount) or getattr(route, "path", None) == "/api/{path:path}":
                continue  # NiceGUI is mounted at / (it would match everything), and this route itself
            if route.matches(probe)[0] is Match.FULL:
                methods.add(method)
                break
    return methods


def _openapi(app: FastAPI) -> dict:
    """FastAPI's document, corrected: we answer 400 (never 422) and document the request bodies
    that the ingest routes read themselves (they must check the key before parsing)."""
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    from .api.schemas import LogIn

    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            operation.get("responses", {}).pop("422", None)
            if path.startswith("/api/") or path == "/v1/traces":
                operation["security"] = [{"ApiKey": []}]
    schema["components"] = schema.get("components", {})
    schema["components"]["securitySchemes"] = {
        # `Authorization: Bearer <key>` works too (see the description); one scheme keeps fuzzers
        # from treating a junk Authorization header beside a valid X-API-Key as "ignored".
        "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    }
    components = schema["components"].setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    components["LogIn"] = LogIn.model_json_schema(ref_template="#/components/schemas/{model}")
    app.openapi_schema = schema
    return schema


def build(settings: Settings | None = None) -> FastAPI:
    """API + dashboard. Called by main.py on every start (and by NiceGUI's user fixture per test)."""
    from nicegui import app as ui_app
    from nicegui import ui

    from .pages import register_pages

    api = create_api(settings)
    runtime: Runtime = api.state.runtime
    register_pages(runtime)
    ui_app.add_middleware(PageMiddleware, secure_cookie=runtime.settings.cookie_secure)
    ui_app.on_startup(runtime.start)
    ui_app.on_shutdown(runtime.stop)
    ui.run_with(api, title="Central Logger", favicon="📒", dark=None, show_welcome_message=False)
    return api
