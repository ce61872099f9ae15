"""Dashboard pages (NiceGUI). They read data only through the scoped service functions."""

from __future__ import annotations

from ..services.runtime import Runtime


def register_pages(runtime: Runtime) -> None:
    # Imported here, not at module import: NiceGUI's user fixture re-runs main.py per test and
    # only re-imports page modules, so registration must happen on every build().
    from . import admin, auth, detail, logs, overview

    for module in (auth, overview, logs, detail, admin):
        module.register(runtime)
