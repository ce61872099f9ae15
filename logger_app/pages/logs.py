"""/logs, the ticket list: triage columns, sortable keyset pages with a total, filters in the URL
(a refused one is named in a banner), a column picker remembered per user, keyboard navigation."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, urlencode

from fastapi import Request
from nicegui import ui

from ..services.access import clients as client_service
from ..services.access import preferences
from ..services.errors import AccessDenied, FieldProblem, ValidationFailed
from ..services.public_ids import is_public_id
from ..services.read import queries
from ..services.read.list_params import FILTER_NAMES, PAGE_SIZES, check_params
from ..services.read.sorting import DEFAULT_SORT, parse_sort
from . import exports, guard, layout, ticket_columns
from .overview_state import iso_z, local_input
from .ticket_columns import ERROR_SLOT, MATCH_SLOT, SORT_LABELS, STATUS_SLOT, TABLE_CSS, TICKET_SLOT, refused_text
from .view_utils import PageFilters, log_path

LIVE_SECONDS = 1.5  # "new logs appear within 2 s"
LOAD_TIMEOUT = 2.0  # the page must be built within NiceGUI's 3 s response timeout
DEFAULT_SIZE = 50
PRESETS = {"1h": ("Last 1 h", timedelta(hours=1)), "24h": ("Last 24 h", timedelta(days=1)), "7d": ("Last 7 d", timedelta(days=7))}
class LogsView:
    """Per-page state (never module-level: that would be shared by every visitor)."""

    def __init__(self, runtime, user, filters: PageFilters, view: dict[str, str], prefs: dict):
        self.runtime, self.user, self.filters = runtime, user, filters
        self.sort = parse_sort(view.get("sort"))
        self.size = int(view.get("size") or prefs.get("ticket_page_size") or DEFAULT_SIZE)
        # A page number only means something with its cursor (a bare ?page=3 is the first page).
        self.page = max(int(view.get("page") or 2), 2) if view.get("cursor") else 1
        # cursor of each page visited; after a reload on page n only that page's cursor is known
        self.cursors: list[str | None] = [view.get("cursor")] if view.get("cursor") else [None]
        self.shown = ticket_columns.shown_columns(prefs.get("ticket_columns"))
        self.next_cursor: str | None = None
        self.rows: list[dict] = []
        self.timer: ui.timer | None = None

    async def build(self, categories: list[str], environments: list[str], problems: list[FieldProblem]) -> None:
        f = self.filters
        ui.add_css(TABLE_CSS)
        self.banner = ui.column().classes("w-full")
        self.refused = ui.column().classes("w-full")
        self.show_refused(problems)
        with ui.row().classes("w-full items-end gap-2 no-wrap"):
            ui.toggle({k: v[0].replace("Last ", "") for k, v in PRESETS.items()}, on_change=self.on_preset).props(
                "dense no-caps no-wrap").classes("shrink-0").tooltip("Last 1 h, 24 h or 7 d").mark("preset")
            self.since = ui.input("From (UTC)", value=local_input(f.since)).props("type=datetime-local dense").classes("w-48").mark("filter-since")
            self.until = ui.input("To (UTC)", value=local_input(f.until, end=True)).props("type=datetime-local dense").classes("w-48").mark("filter-until")
            self.status = ui.select({"": "Any status", "SUCCESS": "SUCCESS", "ERROR": "ERROR"}, value=f.status or "",
                                    label="Status").props("dense").classes("w-28").mark("filter-status")
            # A value from the URL that no log has (yet) must stay selectable, or ui.select raises.
            categories = sorted({*categories, *([f.category] if f.category else [])})
            self.category = ui.select({"": "Any category", **{c: c for c in categories}}, value=f.category or "",
                                      label="Category").props("dense").classes("w-36").mark("filter-category")
            self.search = ui.input("Search", value=f.q or "", placeholder="ticket id, words… ( / )").props(
                "dense clearable type=search").classes("w-56").mark("filter-q")
            self.sort_select = ui.select(SORT_LABELS, value=self.sort.name, label="Sort", on_change=self.on_view_change
                                         ).props("dense").classes("w-40").mark("sort")
            self.size_select = ui.select({s: str(s) for s in PAGE_SIZES}, value=self.size, label="Rows", on_change=self.on_view_change
                                         ).props("dense").classes("w-20").mark("page-size")
            ui.space()
            with ui.button(icon="view_column").props('flat dense aria-label="Columns"').tooltip("Columns").mark("columns-button"):
                with ui.menu(), ui.column().classes("p-2 gap-0"):
                    self.picker = {name: ui.checkbox(ticket_columns.ALL_COLUMNS[name][0], value=name in self.shown,
                                                     on_change=self.on_columns).mark(f"column-{name}") for name in ticket_columns.OPTIONAL}
            self.live = ui.switch("Live", on_change=self.on_live).mark("live-toggle")
            with ui.button(icon="download").props('flat dense aria-label="Export"').tooltip("Export").mark("export-button"):
                with ui.menu():
                    ui.menu_item("Export CSV", on_click=lambda: self.export("csv")).mark("export-csv")
                    ui.menu_item("Export JSONL", on_click=lambda: self.export("jsonl")).mark("export-jsonl")
        with ui.row().classes("w-full items-end gap-2"):
            environments = sorted({*environments, *([f.environment] if f.environment else [])})
            self.environment = ui.select({"": "Any environment", **{e: e for e in environments}}, value=f.environment or "",
                                         label="Environment").props("dense").classes("w-40").mark("filter-environment")
            self.ticket = ui.input("Ticket ID", value=f.ticket_id or "").props("dense clearable").classes("w-40").mark("filter-ticket")
            self.triage = {name: ui.input(label, value=getattr(f, name) or "").props(
                f"dense clearable{' type=number' if name.startswith(('confidence', 'execution')) else ''}").classes("w-32").mark(f"filter-{name}")
                for name, label in (("tool", "Tool"), ("error_type", "Error type"), ("model", "Model"), ("confidence_min", "Confidence ≥"),
                                    ("confidence_max", "Confidence ≤"), ("execution_time_min", "Time ≥ (s)"), ("execution_time_max", "Time ≤ (s)"))}
        for element in (self.since, self.until, self.status, self.category, self.environment):
            element.on_value_change(self.on_filter_change)
        # Text fields apply on Enter or leaving the field, not on every key (each would be a query).
        for element in (self.search, self.ticket, *self.triage.values()):
            element.on("keydown.enter", self.on_filter_change)
            element.on("blur", self.on_filter_change)
            element.on("clear", self.on_filter_change)
        self.table = ui.table(columns=self.columns(), rows=[], row_key="id", selection="single", pagination=0).classes(
            "w-full cursor-pointer cl-tickets").props("hide-bottom flat dense").mark("logs-table")
        for slot, template in (("status", STATUS_SLOT), ("ticket_id", TICKET_SLOT), ("match", MATCH_SLOT), ("error", ERROR_SLOT)):
            self.table.add_slot(f"body-cell-{slot}", template)
        self.table.on("rowClick", self.on_row_click)
        self.empty = ui.column().classes("w-full items-center p-6").mark("empty-state")
        with ui.row().classes("items-center"):
            self.prev_button = ui.button("Newer", icon="chevron_left", on_click=self.prev_page).props("flat dense").mark("page-newer")
            self.page_label = ui.label("").mark("page-label")
            self.next_button = ui.button("Older", icon="chevron_right", on_click=self.next_page).props("flat dense").mark("page-older")
        # j/k/Enter and / are ignored while typing in a field (ui.keyboard's default).
        ui.keyboard(on_key=self.on_key)
        await self.load()
        # Created after the first load: a timer waits for the websocket, which makes NiceGUI send the
        # page before this builder has finished (an empty table would be served).
        self.timer = ui.timer(LIVE_SECONDS, self.poll, active=False)

    def columns(self) -> list[dict]:
        return ticket_columns.columns(self.user.principal.is_admin, self.shown, bool(self.filters.q))

    def show_refused(self, problems: list[FieldProblem]) -> None:
        self.refused.clear()
        if problems:
            with self.refused, ui.row().classes("w-full bg-orange-2 text-black p-2 rounded items-center gap-2").mark("refused-banner"):
                ui.icon("report")
                ui.label(f"Not applied — {refused_text(problems)}. The other filters are as they were.")

    # --- data -------------------------------------------------------------------------------
    def list_query(self) -> str:
        """The list's filters and order, as the URL and the detail page's `from` carry them."""
        sort = [] if self.sort.is_default else [("sort", self.sort.name)]
        return urlencode([*[(k, v) for k, v in self.filters_items()], *sort])

    def filters_items(self) -> list[tuple[str, str]]:
        return [(k, getattr(self.filters, k)) for k in FILTER_NAMES if getattr(self.filters, k)]

    async def fetch(self, cursor: str | None) -> tuple[dict, dict | None] | None:
        with guard.storage_outage():
            try:
                filters = self.filters.log_filters()
                async with asyncio.timeout(LOAD_TIMEOUT):
                    page = await queries.list_logs(self.runtime.db, self.runtime.public_ids, self.user.principal, filters,
                                                   self.size, cursor, self.sort, triage=True)
                    total = await queries.count_logs(self.runtime.db, self.user.principal, filters)
                return page, total
            except AccessDenied:
                return {"items": [], "next_cursor": None}, {"count": 0, "exact": True}
            except ValidationFailed as exc:  # a cursor from the URL this server did not issue (for this sort)
                self.show_refused(list(exc.details))
                self.cursors, self.page = [None], 1
                return await self.fetch(None) if cursor else None
        layout.storage_banner_in(self.banner)  # only an outage gets here
        return None

    def rows_of(self, page: dict) -> list[dict]:
        back = quote(self.list_query())
        return [{**ticket_columns.table_row(i), "href": f"{log_path(i['id'])}?from={back}" if back else log_path(i["id"])}
                for i in page["items"]]

    async def load(self) -> None:
        fetched = await self.fetch(self.cursors[-1])
        if fetched is None:
            return
        page, total = fetched
        self.banner.clear()
        self.table.rows = self.rows = self.rows_of(page)
        self.table.selected = self.rows[:1]
        self.next_cursor = page["next_cursor"]
        self.page_label.text = self.range_text(len(self.rows), total)
        self.prev_button.enabled = self.page > 1
        self.next_button.enabled = self.next_cursor is not None
        self.empty.clear()
        self.empty.set_visibility(not self.rows)
        if not self.rows:
            with self.empty:
                ui.label("No tickets match these filters").classes("text-grey-7")
                ui.button("Clear filters", icon="filter_alt_off", on_click=lambda: ui.navigate.to("/logs")).props("flat").mark("clear-filters")

    def range_text(self, shown: int, total: dict | None) -> str:
        return ticket_columns.range_text(self.page, self.size, shown, total, self.next_cursor is not None)

    async def poll(self) -> None:
        if self.page != 1:
            return  # live mode shows the newest page; the user is reading older ones
        if not await guard.still_valid(self.runtime, self.user):
            if self.timer is not None:
                self.timer.active = False
            ui.navigate.to("/login")
            return
        fetched = await self.fetch(None)
        if fetched is None:
            return
        page, total = fetched
        rows = self.rows_of(page)
        if [r["id"] for r in rows] != [r["id"] for r in self.rows]:  # ship rows only when something changed
            self.table.rows = self.rows = rows
            self.next_cursor = page["next_cursor"]
            self.next_button.enabled = self.next_cursor is not None
            self.page_label.text = self.range_text(len(rows), total)

    def push_url(self) -> None:
        extra = [("size", str(self.size))] if self.size != DEFAULT_SIZE else []
        if self.page > 1 and self.cursors[-1]:
            extra += [("cursor", self.cursors[-1]), ("page", str(self.page))]
        query = "&".join(q for q in (self.list_query(), urlencode(extra)) if q)
        # Bookmarkable without a reload: the query string is data, json.dumps makes it a safe JS literal.
        ui.run_javascript(f"history.replaceState(null, '', {json.dumps('/logs' + ('?' + query if query else ''))})")

    # --- events -----------------------------------------------------------------------------
    async def guarded(self) -> bool:
        if await guard.still_valid(self.runtime, self.user):
            return True
        ui.navigate.to("/login")
        return False

    def control_items(self) -> list[tuple[str, str]]:
        values = {"since": self.since.value, "until": self.until.value, "status": self.status.value, "category": self.category.value,
                  "environment": self.environment.value, "ticket_id": self.ticket.value, "q": self.search.value,
                  "client_id": self.filters.client_id, **{k: e.value for k, e in self.triage.items()}}
        return [(k, str(v if v is not None else "").strip()) for k, v in values.items()]

    async def on_filter_change(self) -> None:
        clean, problems = check_params(self.control_items())
        if problems:  # e.g. 9999-12-31 picked as the end date: say so, keep the old filters
            self.show_refused(problems)
            ui.notify(refused_text(problems), type="warning")
            self.restore_controls()
            return
        new = PageFilters(**{k: clean.get(k) for k in FILTER_NAMES})
        if new == self.filters or not await self.guarded():
            return
        self.show_refused([])
        self.filters = new
        await self.restart()

    def restore_controls(self) -> None:
        """The text and date controls back to the filters in force (selects only offer valid values)."""
        f = self.filters
        self.since.value, self.until.value = local_input(f.since), local_input(f.until, end=True)
        self.search.value, self.ticket.value = f.q or "", f.ticket_id or ""
        for name, element in self.triage.items():
            element.value = getattr(f, name) or ""

    async def restart(self) -> None:
        self.cursors, self.page = [None], 1
        self.table.columns = self.columns()
        self.push_url()
        await self.load()

    async def on_preset(self, event) -> None:
        if event.value in PRESETS:  # the inputs' change events apply it, as if typed
            now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
            self.until.value = ""
            self.since.value = local_input(iso_z(now - PRESETS[event.value][1]))

    async def on_view_change(self) -> None:
        if not await self.guarded():
            return
        self.sort = parse_sort(self.sort_select.value or DEFAULT_SORT)
        if self.size_select.value in PAGE_SIZES and self.size_select.value != self.size:
            self.size = int(self.size_select.value)
            await preferences.set_preference(self.runtime.db, self.user.user_id, "ticket_page_size", self.size)
        await self.restart()

    async def on_columns(self) -> None:
        if not await self.guarded():
            return
        self.shown = [name for name, box in self.picker.items() if box.value]
        await preferences.set_preference(self.runtime.db, self.user.user_id, "ticket_columns", self.shown)
        self.table.columns = self.columns()

    async def next_page(self) -> None:
        if self.next_cursor and await self.guarded():
            self.cursors.append(self.next_cursor)
            self.page += 1
            self.push_url()
            await self.load()

    async def prev_page(self) -> None:
        if self.page > 1 and await self.guarded():
            self.cursors.pop()
            self.page -= 1
            if not self.cursors:  # reloaded on a later page: the pages before it are only reachable from the top
                self.cursors, self.page = [None], 1
            self.push_url()
            await self.load()

    async def on_live(self, event) -> None:
        if self.timer is None:
            return
        self.timer.active = bool(event.value)
        if event.value and self.page > 1:
            await self.restart()

    def on_key(self, event) -> None:
        if not event.action.keydown:
            return
        key = str(event.key)
        if key == "/":
            self.search.run_method("focus")
        elif key in ("j", "k") and self.rows:
            ids = [r["id"] for r in self.rows]
            at = ids.index(self.table.selected[0]["id"]) if self.table.selected and self.table.selected[0].get("id") in ids else -1
            at = min(at + 1, len(ids) - 1) if key == "j" else max(at - 1, 0)
            self.table.selected = [self.rows[at]]
        elif key == "Enter" and self.table.selected:
            self.open(self.table.selected[0].get("id"))

    def open(self, public_id) -> None:
        row = next((r for r in self.rows if r["id"] == public_id), None)  # only rows the server made
        if row is not None and is_public_id(public_id):
            ui.navigate.to(row["href"])

    def on_row_click(self, event) -> None:
        args = event.args if isinstance(event.args, list) else []
        row = args[1] if len(args) > 1 and isinstance(args[1], dict) else {}
        self.open(row.get("id"))  # the row comes back from the browser: untrusted, looked up

    def export(self, fmt: str) -> None:
        ui.download.from_url(f"/export/logs.{fmt}?{urlencode(self.filters_items())}")


def register(runtime) -> None:
    exports.register(runtime)

    @guard.dashboard_page(runtime, "/logs", title="Tickets · Central Logger")
    async def logs_page(request: Request, user: guard.PageUser):
        clean, problems = check_params(request.query_params.multi_items())
        if not user.principal.is_admin:
            clean.pop("client_id", None)  # a client user always sees exactly its own client
        filters = PageFilters(**{k: clean.get(k) for k in FILTER_NAMES})
        client_ids: list[str] | None = None
        categories: list[str] = []
        environments: list[str] = []
        prefs: dict = {}
        with guard.storage_outage() as outage:
            try:
                async with asyncio.timeout(LOAD_TIMEOUT):
                    prefs = await preferences.get_preferences(runtime.db, user.user_id)
                    if user.principal.is_admin:
                        client_ids = [c.id for c in await client_service.list_clients(runtime.db)]
                    categories = await queries.categories(runtime.db, user.principal, filters.client_id)
                    environments = await queries.environments(runtime.db, user.principal, filters.client_id)
            except AccessDenied:
                pass  # a client user without a client: the list below comes out empty as well
        with layout.frame(runtime, user, "Tickets", "logs", client_ids, filters.client_id):
            if outage.down:
                layout.storage_banner()
                return
            await LogsView(runtime, user, filters, clean, prefs).build(categories, environments, problems)
