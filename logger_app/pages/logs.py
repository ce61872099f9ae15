"""/logs: the filtered, newest-first log list with keyset paging, live mode and exports."""

from __future__ import annotations

import asyncio
import json

from fastapi import Request
from nicegui import ui

from ..services.access import clients as client_service
from ..services.errors import AccessDenied, ValidationFailed
from ..services.public_ids import is_public_id
from ..services.read import queries
from ..services.rules import TICKET_ID_MAX
from . import exports, guard, layout
from .view_utils import DATE_LABELS, PageFilters, bad_request, fmt_number, fmt_seconds, fmt_when, log_path, metric, problem_text

PAGE_SIZE = 50
LIVE_SECONDS = 1.5  # "new logs appear within 2 s"
LOAD_TIMEOUT = 2.0  # the page must be built within NiceGUI's 3 s response timeout
STATUS_SLOT = r"""<q-td :props="props">
  <q-badge :color="props.value === 'ERROR' ? 'negative' : (props.value === 'SUCCESS' ? 'positive' : 'grey')"
           :label="props.value" />
</q-td>"""
# row.id is a public id the server made (log_ + hex), never text from a log.
TICKET_SLOT = r"""<q-td :props="props"><a class="text-primary" :href="'/logs/' + props.row.id">{{ props.value }}</a></q-td>"""
# The text around a search match: three text interpolations (Vue escapes them), never v-html, so a
# payload's markup shows as the characters it is.
MATCH_SLOT = r"""<q-td :props="props"><span class="text-xs">{{ props.row.match_before }}<mark
  class="bg-yellow-3 text-black">{{ props.row.match_text }}</mark>{{ props.row.match_after }}</span></q-td>"""
# How the filter controls are labelled, for the notification that names a refused one.
FILTER_LABELS = {**DATE_LABELS, "q": "Search", "tool": "Tool", "error_type": "Error type", "model": "Model",
                 "confidence_min": "Confidence ≥", "confidence_max": "Confidence ≤",
                 "execution_time_min": "Time ≥ (s)", "execution_time_max": "Time ≤ (s)"}


def table_row(item: dict) -> dict:
    """Scalar cells only (a list in a cell made the browser eat memory, nicegui#4837)."""
    return {
        "id": item["id"],
        "ticket_id": item["ticket_id"],
        "status": item["status"],
        "category": item["category"] or "—",
        "confidence": fmt_number(metric(item["metrics"], "confidence")),
        "execution_time": fmt_seconds(item["execution_time_seconds"]),
        "executed_at": fmt_when(item["executed_at"]),
        "client_id": item["client_id"],
        **_match_cells(item.get("match")),
    }


def _match_cells(match: dict | None) -> dict:
    if not match:
        return {"match_before": "", "match_text": "", "match_after": ""}
    return {"match_before": match["before"], "match_text": match["match"], "match_after": match["after"]}


def columns(is_admin: bool, searching: bool = False) -> list[dict]:
    cols = [
        {"name": "ticket_id", "label": "Ticket ID", "field": "ticket_id", "align": "left"},
        {"name": "status", "label": "Status", "field": "status", "align": "left"},
        {"name": "category", "label": "Category", "field": "category", "align": "left"},
        {"name": "confidence", "label": "Confidence", "field": "confidence", "align": "right"},
        {"name": "execution_time", "label": "Execution time", "field": "execution_time", "align": "right"},
        {"name": "executed_at", "label": "Timestamp", "field": "executed_at", "align": "left"},
    ]
    if is_admin:
        cols.insert(1, {"name": "client_id", "label": "Client", "field": "client_id", "align": "left"})
    if searching:
        cols.append({"name": "match", "label": "Match", "field": "match_text", "align": "left"})
    return cols


class LogsView:
    """Per-page state (never module-level: that would be shared by every visitor)."""

    def __init__(self, runtime, user, filters: PageFilters):
        self.runtime, self.user, self.filters = runtime, user, filters
        self.cursors: list[str | None] = [None]  # cursor of each page visited; the last is the current page
        self.next_cursor: str | None = None
        self.timer: ui.timer | None = None

    async def build(self, categories: list[str], environments: list[str]) -> None:
        f = self.filters
        self.banner = ui.column().classes("w-full")
        with ui.row().classes("w-full items-end gap-2"):
            self.since = ui.input("From", value=f.since or "").props("type=date dense clearable").classes("w-40").mark("filter-since")
            self.until = ui.input("To", value=f.until or "").props("type=date dense clearable").classes("w-40").mark("filter-until")
            self.status = ui.select({"": "Any status", "SUCCESS": "SUCCESS", "ERROR": "ERROR"}, value=f.status or "",
                                    label="Status").props("dense").classes("w-36").mark("filter-status")
            # A value from the URL that no log has (yet) must stay selectable, or ui.select raises.
            categories = sorted({*categories, *([f.category] if f.category else [])})
            environments = sorted({*environments, *([f.environment] if f.environment else [])})
            self.category = ui.select({"": "Any category", **{c: c for c in categories}}, value=f.category or "",
                                      label="Category").props("dense").classes("w-44").mark("filter-category")
            self.environment = ui.select({"": "Any environment", **{e: e for e in environments}},
                                         value=f.environment or "", label="Environment").props("dense").classes("w-44").mark("filter-environment")
            self.ticket = ui.input("Ticket ID", value=f.ticket_id or "").props("dense clearable").classes("w-48").mark("filter-ticket")
            for element in (self.since, self.until, self.status, self.category, self.environment):
                element.on_value_change(self.on_filter_change)
            self.ticket.on("keydown.enter", self.on_filter_change)
            self.ticket.on("blur", self.on_filter_change)
            self.search = ui.input("Search", value=f.q or "", placeholder="ticket id, words, order number…").props(
                "dense clearable type=search").classes("w-64").mark("filter-q")
            ui.space()
            self.live = ui.switch("Live", on_change=self.on_live).mark("live-toggle")
            ui.button("Export CSV", icon="download", on_click=lambda: self.export("csv")).props("flat dense").mark("export-csv")
            ui.button("Export JSONL", icon="download", on_click=lambda: self.export("jsonl")).props("flat dense").mark("export-jsonl")
        with ui.row().classes("w-full items-end gap-2"):
            self.triage = {
                name: ui.input(FILTER_LABELS[name], value=getattr(f, name) or "").props(
                    f"dense clearable{' type=number' if name.startswith(('confidence', 'execution')) else ''}"
                ).classes("w-36").mark(f"filter-{name}")
                for name in ("tool", "error_type", "model", "confidence_min", "confidence_max",
                             "execution_time_min", "execution_time_max")
            }
        # Text fields apply on Enter or leaving the field, not on every key (each would be a query).
        for element in (self.search, *self.triage.values()):
            element.on("keydown.enter", self.on_filter_change)
            element.on("blur", self.on_filter_change)
            element.on("clear", self.on_filter_change)
        self.table = ui.table(columns=columns(self.user.principal.is_admin, bool(f.q)), rows=[], row_key="id",
                              pagination=0).classes("w-full cursor-pointer").props("hide-bottom flat").mark("logs-table")
        self.table.add_slot("body-cell-status", STATUS_SLOT)
        self.table.add_slot("body-cell-ticket_id", TICKET_SLOT)
        self.table.add_slot("body-cell-match", MATCH_SLOT)
        self.table.on("rowClick", self.on_row_click)
        with ui.row().classes("items-center"):
            self.prev_button = ui.button("Newer", icon="chevron_left", on_click=self.prev_page).props("flat").mark("page-newer")
            self.page_label = ui.label("").mark("page-label")
            self.next_button = ui.button("Older", icon="chevron_right", on_click=self.next_page).props("flat").mark("page-older")
        await self.load()
        # Created after the first load: a timer waits for the websocket, which makes NiceGUI send the
        # page before this builder has finished (an empty table would be served).
        self.timer = ui.timer(LIVE_SECONDS, self.poll, active=False)

    # --- data -------------------------------------------------------------------------------
    async def fetch(self, cursor: str | None) -> dict | None:
        with guard.storage_outage():
            try:
                return await asyncio.wait_for(queries.list_logs(
                    self.runtime.db, self.runtime.public_ids, self.user.principal, self.filters.log_filters(),
                    PAGE_SIZE, cursor), LOAD_TIMEOUT)
            except AccessDenied:
                return {"items": [], "next_cursor": None}
        # only an outage gets here: every other path returned inside
        layout.storage_banner_in(self.banner)
        return None

    async def load(self) -> None:
        page = await self.fetch(self.cursors[-1])
        if page is None:
            return
        self.banner.clear()
        self.table.rows = [table_row(i) for i in page["items"]]
        self.next_cursor = page["next_cursor"]
        self.page_label.text = f"Page {len(self.cursors)}" + ("" if page["items"] else " — no logs match")
        self.prev_button.enabled = len(self.cursors) > 1
        self.next_button.enabled = self.next_cursor is not None

    async def poll(self) -> None:
        if len(self.cursors) != 1:
            return  # live mode shows the newest page; the user is reading older ones
        if not await guard.still_valid(self.runtime, self.user):
            self.timer.active = False
            ui.navigate.to("/login")
            return
        page = await self.fetch(None)
        if page is None:
            return
        rows = [table_row(i) for i in page["items"]]
        if [r["id"] for r in rows] != [r["id"] for r in self.table.rows]:  # ship rows only when something changed
            self.table.rows = rows
            self.next_cursor = page["next_cursor"]
            self.next_button.enabled = self.next_cursor is not None

    # --- events -----------------------------------------------------------------------------
    async def guarded(self) -> bool:
        if await guard.still_valid(self.runtime, self.user):
            return True
        ui.navigate.to("/login")
        return False

    async def on_filter_change(self) -> None:
        new = self.filters.with_(
            since=self.since.value, until=self.until.value, status=self.status.value, category=self.category.value,
            environment=self.environment.value, ticket_id=(self.ticket.value or "").strip()[:TICKET_ID_MAX],
            q=(self.search.value or "").strip(), **{k: str(e.value or "").strip() for k, e in self.triage.items()},
        )
        try:
            new = PageFilters.from_query({k: getattr(new, k) for k in new.__dataclass_fields__}, self.user.principal)
        except ValidationFailed as exc:  # e.g. 9999-12-31 picked as the end date: say so, keep the old filters
            ui.notify(problem_text(exc, FILTER_LABELS), type="warning")
            self.since.value, self.until.value = self.filters.since or "", self.filters.until or ""
            self.search.value = self.filters.q or ""
            for name, element in self.triage.items():
                element.value = getattr(self.filters, name) or ""
            return
        if new == self.filters or not await self.guarded():
            return
        self.filters = new
        self.cursors = [None]
        self.table.columns = columns(self.user.principal.is_admin, bool(new.q))
        # Bookmarkable without a reload: the query string is data, json.dumps makes it a safe JS literal.
        ui.run_javascript(f"history.replaceState(null, '', {json.dumps('/logs?' + new.query_string())})")
        await self.load()

    async def next_page(self) -> None:
        if self.next_cursor and await self.guarded():
            self.cursors.append(self.next_cursor)
            await self.load()

    async def prev_page(self) -> None:
        if len(self.cursors) > 1 and await self.guarded():
            self.cursors.pop()
            await self.load()

    async def on_live(self, event) -> None:
        if self.timer is None:
            return
        self.timer.active = bool(event.value)
        if event.value and len(self.cursors) > 1:
            self.cursors = [None]
            await self.load()

    def on_row_click(self, event) -> None:
        args = event.args if isinstance(event.args, list) else []
        row = args[1] if len(args) > 1 and isinstance(args[1], dict) else {}
        if is_public_id(row.get("id")):  # the row comes back from the browser: untrusted
            ui.navigate.to(log_path(row["id"]))

    def export(self, fmt: str) -> None:
        ui.download.from_url(f"/export/logs.{fmt}?{self.filters.query_string()}")


def register(runtime) -> None:
    exports.register(runtime)

    @guard.dashboard_page(runtime, "/logs", title="Logs · Central Logger")
    async def logs_page(request: Request, user: guard.PageUser):
        try:
            filters = PageFilters.from_query(request.query_params, user.principal)
        except ValidationFailed as exc:
            return bad_request(exc)
        client_ids: list[str] | None = None
        categories: list[str] = []
        environments: list[str] = []
        with guard.storage_outage() as outage:
            try:
                async with asyncio.timeout(LOAD_TIMEOUT):
                    if user.principal.is_admin:
                        client_ids = [c.id for c in await client_service.list_clients(runtime.db)]
                    categories = await queries.categories(runtime.db, user.principal, filters.client_id)
                    environments = await queries.environments(runtime.db, user.principal, filters.client_id)
            except AccessDenied:
                pass  # a client user without a client: the list below comes out empty as well
        with layout.frame(runtime, user, "Logs", "logs", client_ids, filters.client_id):
            if outage.down:
                layout.storage_banner()
                return
            await LogsView(runtime, user, filters).build(categories, environments)
