"""Dashboard pages (NiceGUI). They read data only through the scoped service functions."""

from __future__ import annotations

from ..runtime import Runtime


def register_pages(runtime: Runtime) -> None:
    # Imported here, not at module import: NiceGUI's user fixture re-runs main.py per test and
    # only re-imports page modules, so registration must happen on every build().
    from nicegui import app as ui_app

    from . import admin, auth, detail, logs, overview, socket_guard
    from .layout import error_page

    for module in (auth, overview, logs, detail, admin):
        module.register(runtime)
    socket_guard.install()
    # NiceGUI's own 500 page prints the exception text (SQL and its parameters, on PostgreSQL).
    ui_app.on_page_exception(error_page)
