"""The detail page's way back and sideways: breadcrumbs to the ticket list it came from, and the
previous/next ticket within that list's filters and order (services/read/neighbours.py, server-side
through the same scoped query). The list passes its state as `?from=<its query string>`; a `from`
that the list itself would refuse gives no neighbours, only the plain way back."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote

from nicegui import ui

from ..services.errors import AccessDenied, ValidationFailed
from ..services.read.list_params import FILTER_NAMES, check_params
from ..services.read.neighbours import neighbours
from ..services.read.sorting import parse_sort
from .view_utils import PageFilters, log_path

FROM_MAX = 4096


def list_state(raw: str | None, is_admin: bool) -> tuple[PageFilters, str, str] | None:
    """(filters, sort name, the list's query string) of a `from` value, or None when it is unusable."""
    if not raw or len(raw) > FROM_MAX:
        return None
    clean, problems = check_params(parse_qsl(raw, keep_blank_values=True))
    if problems:
        return None
    if not is_admin:
        clean.pop("client_id", None)
    for name in ("cursor", "page", "size"):  # where the list was does not change who its neighbours are
        clean.pop(name, None)
    return PageFilters(**{k: clean.get(k) for k in FILTER_NAMES}), clean.get("sort") or "", raw


async def load(runtime, user, log_id: str, raw_from: str | None) -> dict:
    """{"back": list URL, "from": the raw query, "previous"/"next": detail URLs or None}."""
    state = list_state(raw_from, user.principal.is_admin)
    out: dict = {"back": "/logs", "previous": None, "next": None}
    if state is None:
        return out
    filters, sort, raw = state
    out["back"] = f"/logs?{raw}"
    try:
        found = await neighbours(runtime.db, runtime.public_ids, user.principal, filters.log_filters(), parse_sort(sort), log_id)
    except (AccessDenied, ValidationFailed):
        return out
    suffix = f"?from={quote(raw)}"
    for key in ("previous", "next"):
        if found[key]:
            out[key] = log_path(found[key]) + suffix
    return out


def bar(nav: dict, ticket_id: str) -> None:
    """Breadcrumbs and the previous/next buttons (also on the k/j keys, as in the list)."""
    with ui.row().classes("w-full items-center gap-2"):
        ui.link("Tickets", nav["back"]).mark("breadcrumb-tickets")
        ui.label("›").classes("text-grey-7")
        ui.label(f"Ticket {ticket_id[:80]}").classes("text-grey-8 break-all").mark("breadcrumb-ticket")
        ui.space()
        for key, label, icon in (("previous", "Previous", "chevron_left"), ("next", "Next", "chevron_right")):
            target = nav[key]
            button = ui.button(label, icon=icon, on_click=lambda t=target: ui.navigate.to(t)).props("flat dense").mark(f"{key}-ticket")
            button.enabled = target is not None

    def on_key(event) -> None:
        target = {"k": nav["previous"], "j": nav["next"]}.get(str(event.key))
        if event.action.keydown and target:
            ui.navigate.to(target)

    ui.keyboard(on_key=on_key)
