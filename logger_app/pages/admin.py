"""/admin/clients and /admin/users: the provider's tenant, key and account management.

The pages render only for admins, and every handler re-checks the session and the role on the
server: a page built for an admin stays open in a browser after the admin was demoted or logged
out, and a websocket event must not inherit the rights the page had when it was built.
The pages themselves are in admin_clients.py and admin_users.py; this module holds what both use."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

from ..services.errors import ServiceError
from .guard import PageUser, still_valid, storage_outage


def when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "—"


def admin_action(runtime, user: PageUser, work: Callable[[], Awaitable[None]],
                 after: Callable[[], None] | None = None) -> Callable[[], Awaitable[None]]:
    """Wrap a handler: re-check the session and role, run it, report failures as notifications."""

    async def handler() -> None:
        if not await still_valid(runtime, user) or user.role != "admin":
            ui.navigate.to("/login")
            return
        with storage_outage() as outage:
            try:
                await work()
            except ServiceError as exc:
                ui.notify(exc.message, type="negative")
                return
        if outage.down:
            ui.notify("Storage unavailable — try again shortly", type="negative")
            return
        if after:
            after()

    return handler


def register(runtime) -> None:
    from . import admin_clients, admin_users

    admin_clients.register(runtime)
    admin_users.register(runtime)
