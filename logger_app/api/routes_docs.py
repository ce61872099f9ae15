"""/docs (Swagger UI), served with its assets from the installed package.

FastAPI's default pages load their bundles from a CDN, so on a host without internet /docs was a
blank page. The assets come from `fastapi-offline` (a maintained package that ships Swagger UI and
ReDoc builds), served here at /docs/assets/ the way FastAPI's docs describe self-hosting them.
ReDoc is not offered: its page fetches its logo from a CDN whatever the options."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"
# Under /docs so the docs' Content-Security-Policy (edge/headers.py) covers the assets too.
ASSETS_URL = "/docs/assets"


def install(app: FastAPI) -> None:
    """Add the page to an app created with docs_url=None and redoc_url=None."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url, title=f"{app.title} API",
            oauth2_redirect_url="/docs/oauth2-redirect",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js", swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
