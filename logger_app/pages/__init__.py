"""Dashboard pages (NiceGUI). They read data only through the scoped service functions."""

from __future__ import annotations

from ..services.runtime import Runtime


def register_pages(runtime: Runtime) -> None:
    from nicegui import ui

    @ui.page("/login")
    def login_page():
        ui.label("Central Logger")
