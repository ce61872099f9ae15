"""The shared page frame: header with navigation, client selector, theme toggle and user menu."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlencode

from nicegui import ui

from ..services.access import users
from .guard import PageUser, logout_token, still_valid

ALL_CLIENTS = ""


def _nav(user: PageUser) -> list[tuple[str, str, str]]:
    items = [("overview", "Overview", "/"), ("logs", "Tickets", "/logs")]
    if user.role == "admin":
        items += [("clients", "Clients", "/admin/clients"), ("users", "Users", "/admin/users")]
    return items


def client_url(path: str, query: list[tuple[str, str]], client_id: str | None) -> str:
    """`path` with client_id set (or removed for None/''), other parameters kept in order."""
    kept = [(k, v) for k, v in query if k != "client_id"]
    if client_id:
        kept.append(("client_id", client_id))
    return path + (f"?{urlencode(kept)}" if kept else "")


def _client_selector(clients: list[str], client_id: str | None) -> None:
    request = ui.context.client.request
    path, query = request.url.path, list(request.query_params.multi_items())
    options = {ALL_CLIENTS: "All clients", **{c: c for c in clients}}
    if client_id and client_id not in options:
        options[client_id] = client_id  # e.g. a client that was just disabled; keep it selectable

    def switch(e) -> None:
        ui.navigate.to(client_url(path, query, e.value))

    ui.select(options, value=client_id or ALL_CLIENTS, on_change=switch, label="Client") \
        .props("dense options-dense outlined dark").classes("min-w-40").mark("client-select")


def _zone_toggle(runtime, user: PageUser) -> None:
    """UTC <-> the browser's own zone (asked of its Intl API), remembered per user."""
    from ..services.access.preferences import set_preference
    from .view_utils import zone_label

    shown = zone_label()

    async def toggle() -> None:
        if not await still_valid(runtime, user):
            ui.navigate.to("/login")
            return
        zone = "UTC"
        if shown == "UTC":
            zone = await ui.run_javascript("Intl.DateTimeFormat().resolvedOptions().timeZone", timeout=5)
        try:
            await set_preference(runtime.db, user.user_id, "time_zone", zone)
        except Exception:  # an odd zone name from the browser, or no store: say so, keep UTC
            ui.notify("Could not switch the time zone", type="warning")
            return
        ui.navigate.reload()

    ui.button(shown, icon="schedule", on_click=toggle).props("flat dense no-caps color=white") \
        .tooltip("Times in UTC or in your browser's time zone").mark("zone-toggle")


def _theme_toggle(runtime, user: PageUser) -> None:
    dark = ui.dark_mode(user.dark_mode)

    async def toggle() -> None:
        if not await still_valid(runtime, user):
            ui.navigate.to("/login")
            return
        # auto (None) -> dark -> light -> dark ...: the first click leaves "follow the browser".
        dark.value = not dark.value if dark.value is not None else True
        try:
            await users.set_dark_mode(runtime.db, user.user_id, dark.value)
        except Exception:  # the theme still switches for this tab; persisting is best effort
            ui.notify("Could not save the theme choice", type="warning")

    ui.button(icon="dark_mode", on_click=toggle).props("flat round color=white").tooltip("Dark mode") \
        .mark("theme-toggle")


def _user_menu(user: PageUser) -> None:
    with ui.button(user.username, icon="account_circle").props("flat no-caps color=white").mark("user-menu"):
        with ui.menu():
            with ui.column().classes("p-3 gap-1"):
                ui.label(user.username).classes("font-bold")
                ui.label("Administrator" if user.role == "admin" else f"Client user ({user.client_id})") \
                    .classes("text-sm opacity-70")
                ui.separator()
                # A real form POST with the session's token (no GET logout: any link could fire it).
                with ui.element("form").props('method=post action=/logout'):
                    ui.element("input").props(f'type=hidden name=token value={logout_token(user.token)}')
                    ui.button("Logout").props("type=submit flat dense no-caps").mark("logout")


@contextmanager
def frame(runtime, user: PageUser, title: str, active: str, clients: list[str] | None = None,
          client_id: str | None = None) -> Iterator[ui.column]:
    ui.page_title(f"{title} · Central Logger")
    with ui.header().classes("items-center gap-4 px-4 py-2"):
        ui.label("Central Logger").classes("text-lg font-bold")
        with ui.row().classes("gap-1"):
            for key, label, href in _nav(user):
                link = ui.link(label, href).classes("text-white no-underline px-2 py-1 rounded")
                if key == active:
                    link.classes("bg-white/20 font-bold")
        ui.space()
        if user.role == "admin" and clients is not None:
            _client_selector(clients, client_id)
        _zone_toggle(runtime, user)
        _theme_toggle(runtime, user)
        _user_menu(user)
    with ui.column().classes("w-full p-4 gap-4") as content:
        ui.label(title).classes("text-xl font-bold")
        yield content


def storage_banner() -> None:
    with ui.row().classes("w-full bg-red-700 text-white p-3 rounded items-center gap-2").mark("storage-banner"):
        ui.icon("cloud_off")
        ui.label("Storage unavailable — retrying")


def storage_banner_in(container: ui.element) -> None:
    """Replace whatever the page's banner slot shows with the storage banner (pages that refresh)."""
    container.clear()
    with container:
        storage_banner()


def notice(icon: str, title: str, text: str) -> None:
    """A whole-page message (403, 500) with the way back."""
    with ui.column().classes("w-full items-center mt-16 gap-4"):
        ui.icon(icon, size="xl", color="negative")
        ui.label(title).classes("text-2xl font-bold")
        ui.label(text)
        ui.link("Back to the overview", "/")


def error_page() -> None:
    """The 500 page: what happened in words a user can act on, never the exception's text."""
    notice("error_outline", "500 – something went wrong on the server",
           "The error was logged. Reload the page, or go back to the overview.")
