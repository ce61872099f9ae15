"""/: KPIs with change vs the previous period, agent charts, recent errors and ingest health."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlencode

from fastapi import Request
from nicegui import ui

from ..services.access import clients as client_service
from ..services.errors import AccessDenied, ValidationFailed
from . import charts, guard, layout, overview_panels
from .overview_state import (
    CARDS,
    CHARTS,
    LOAD_TIMEOUT,
    RANGE_LABELS,
    REFRESH_SECONDS,
    OverviewState,
    change,
    fmt_value,
    ingest_totals,
    iso_z,
    load,
    local_input,
)
from .view_utils import DATE_LABELS, bad_request, fmt_when, log_path, problem_text


class OverviewView:
    def __init__(self, runtime, user, state: OverviewState):
        self.runtime, self.user, self.state = runtime, user, state
        self.cards: dict[str, tuple[ui.label, ui.label]] = {}
        self.charts: dict[str, ui.echart] = {}

    def build(self) -> None:
        s = self.state
        with ui.row().classes("w-full items-end gap-3"):
            self.range = ui.toggle(RANGE_LABELS, value=s.range, on_change=self.on_change).mark("range")
            # Times of day, in UTC like every time on the page (the URL takes dates or date-times).
            self.since = ui.input("From (UTC)", value=local_input(s.since)).props("type=datetime-local dense").mark("since")
            self.until = ui.input("To (UTC)", value=local_input(s.until, end=True)).props("type=datetime-local dense").mark("until")
            for element in (self.since, self.until):
                element.bind_visibility_from(self.range, "value", value="custom")
                element.on_value_change(self.on_change)
            self.environment = ui.select({"": "All environments", **({s.environment: s.environment} if s.environment else {})},
                                         value=s.environment or "", label="Environment", on_change=self.on_change
                                         ).props("dense").classes("w-44").mark("environment")
            ui.space()
            ui.switch("Auto-refresh (10 s)", on_change=lambda e: setattr(self.timer, "active", e.value)) \
                .mark("auto-refresh")
        self.banner = ui.column().classes("w-full")
        ui.add_css(charts.CHART_CSS)
        with ui.row().classes("w-full gap-4"):
            for key, title, _, _ in CARDS:
                with ui.card().classes("min-w-44 flex-1").mark(f"card-{key}"):
                    ui.label(title).classes("text-xs uppercase text-grey-7")
                    self.cards[key] = (ui.label("…").classes("text-2xl font-bold"), ui.label("").classes("text-xs"))
        with ui.grid(columns=2).classes("w-full gap-4 max-lg:grid-cols-1"):
            for key, title in CHARTS:
                with ui.card().classes("w-full"):
                    ui.label(title).classes("text-subtitle1")
                    chart = ui.echart({"series": []}, renderer=charts.RENDERER,
                                      on_point_click=guard.rechecked(lambda e, key=key: self.drill(key, e)))
                    self.charts[key] = chart.classes("w-full h-64 cl-chart").mark(f"chart-{key}")
            for key in ("volume", "latency"):
                self.charts[key].on("chart:datazoom", guard.rechecked(self.zoomed))
            with ui.card().classes("w-full"):  # the sixth cell: no empty half-row beside the last chart
                ui.label("What is failing").classes("text-subtitle1")
                self.failing = ui.column().classes("w-full gap-2").mark("what-is-failing")
        with ui.grid(columns=2).classes("w-full gap-4 max-lg:grid-cols-1"):
            with ui.card().classes("w-full"):
                ui.label("Most recent errors").classes("text-subtitle1")
                self.recent = ui.column().classes("w-full gap-1").mark("recent-errors")
            with ui.card().classes("w-full"):
                ui.label("Ingest health (accepted vs rejected)").classes("text-subtitle1")
                self.ingest = ui.column().classes("w-full gap-2").mark("ingest-health")
        self.by_client_card = ui.card().classes("w-full")
        with self.by_client_card:
            ui.label("Error rate by client").classes("text-subtitle1")
            self.by_client = ui.column().classes("w-full gap-1").mark("error-rate-by-client")
        self.by_client_card.visible = self.user.principal.is_admin and not self.state.client_id
        self.timer = ui.timer(REFRESH_SECONDS, self.refresh, active=False)
        # The first load waits for the browser: the page is sent at once, never hitting the 3 s limit.
        ui.timer(0, self.refresh, once=True)

    async def on_change(self) -> None:
        state = OverviewState(range=self.range.value or "24h", since=self.since.value or None,
                              until=self.until.value or None, environment=self.environment.value or None,
                              client_id=self.state.client_id)
        try:
            state.check()
        except ValidationFailed as exc:  # e.g. 9999-12-31 picked as the end date: say so, keep the old period
            ui.notify(problem_text(exc, DATE_LABELS), type="warning")
            self.since.value, self.until.value = self.state.since or "", self.state.until or ""
            return
        if state == self.state:
            return
        self.state = state
        ui.run_javascript(f"history.replaceState(null, '', {json.dumps('/?' + state.query_string())})")
        await self.refresh()

    async def refresh(self) -> None:
        if not await guard.still_valid(self.runtime, self.user):
            self.timer.active = False
            ui.navigate.to("/login")
            return
        with guard.storage_outage() as outage:
            try:
                data = await asyncio.wait_for(load(self.runtime, self.user.principal, self.state), LOAD_TIMEOUT)
            except AccessDenied:
                return
        if outage.down:
            layout.storage_banner_in(self.banner)
            return
        self.banner.clear()
        self.show(data)

    def show(self, data: dict) -> None:
        current, previous = data["current"], data["previous"]
        for key, _, kind, good in CARDS:
            value_label, change_label = self.cards[key]
            value_label.text = fmt_value(current[key], kind)
            text, colour = change(current[key], previous[key] if previous["total"] else None, kind, good)
            change_label.text = text
            change_label.classes(replace=f"text-xs {colour}")
        series = charts.filled_series(data["series"], data["start"], data["end"], data["bucket"])
        # What a click on a chart maps back to: bucket start times, raw category names, the window.
        self.shown = {"starts": series["starts"], "step": charts.BUCKET_STEP[data["bucket"]], "start": data["start"],
                      "end": data["end"], "categories": [r["category"] for r in current["by_category"][:charts.MAX_CATEGORIES]]}
        for key, options in (("volume", charts.volume_chart(series)), ("latency", charts.latency_chart(series)),
                             ("category", charts.category_chart(current["by_category"])),
                             ("confidence", charts.stacked_chart(data["dist"]["confidence"], "confidence")),
                             ("iterations", charts.stacked_chart(data["dist"]["iterations"], "iterations"))):
            chart = self.charts[key]
            chart.options.clear()
            chart.options.update(options)
            chart.update()
        self.environment.set_options({"": "All environments", **{e: e for e in data["environments"]}},
                                     value=self.environment.value if self.environment.value in
                                     data["environments"] else "")
        self.show_recent(data["recent"])
        overview_panels.what_is_failing(self.failing, data["failing"], self.list_link)
        self.by_client_card.visible = data["by_client"] is not None
        if data["by_client"] is not None:
            overview_panels.client_error_rates(self.by_client, data["by_client"], self.list_link)
        self.show_ingest(ingest_totals(data["ingest"]))

    def list_link(self, **filters: str | None) -> str:
        """The ticket list filtered to what was clicked, within this page's range, environment and client."""
        shown = getattr(self, "shown", None)
        window = {"since": iso_z(shown["start"]), "until": iso_z(shown["end"])} if shown else {}
        base = {**window, "environment": self.state.environment, "client_id": self.state.client_id}
        return "/logs?" + urlencode([(k, v) for k, v in {**base, **filters}.items() if v])

    def bucket_range(self, index) -> tuple[str, str] | None:
        starts = getattr(self, "shown", {}).get("starts", [])
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(starts):
            return None
        begin = max(starts[index], self.shown["start"])
        return iso_z(begin), iso_z(min(starts[index] + self.shown["step"], self.shown["end"]))

    def drill(self, key: str, event) -> None:
        """A click on a bar or point opens the ticket list filtered to it."""
        series = str(event.series_name or "")
        status = "ERROR" if series in ("Errors", "Error", "Error rate %") else ("SUCCESS" if series == "Success" else None)
        if key in ("volume", "latency"):
            window = self.bucket_range(event.data_index)
            if window:
                ui.navigate.to(self.list_link(since=window[0], until=window[1], status=status))
            return
        since, until = iso_z(self.shown["start"]), iso_z(self.shown["end"])
        if key == "category":
            names = self.shown["categories"]
            index = event.data_index
            if isinstance(index, int) and 0 <= index < len(names) and names[index] is not None:
                ui.navigate.to(self.list_link(since=since, until=until, category=names[index], status=status))
            return
        ui.navigate.to(self.list_link(since=since, until=until, status=status))

    async def zoomed(self, event) -> None:
        """A span dragged on a time chart becomes the page's custom range."""
        batch = (event.args or {}).get("batch") if isinstance(event.args, dict) else None
        zoom = batch[0] if isinstance(batch, list) and batch and isinstance(batch[0], dict) else {}
        first, last = self.bucket_range(zoom.get("startValue")), self.bucket_range(zoom.get("endValue"))
        if not first or not last:
            return  # "back" (zoom reset) or a percentage-only zoom: nothing to map
        self.since.value, self.until.value, self.range.value = first[0][:16], last[1][:16], "custom"
        # The value handlers run later as tasks, read the same values and find nothing changed.
        await self.on_change()

    def show_recent(self, items: list[dict]) -> None:
        self.recent.clear()
        with self.recent:
            if not items:
                ui.label("No errors in this period.").classes("text-grey-7")
            for item in items:
                triage = item.get("triage") or {}
                with ui.column().classes("w-full gap-0").mark("recent-error"):
                    with ui.row().classes("w-full items-center gap-3 no-wrap"):
                        ui.link(item["ticket_id"][:80], log_path(item["id"])).classes("text-negative")
                        ui.label(item["category"] or "—").classes("text-grey-7 truncate")
                        if self.user.principal.is_admin:
                            ui.label(item["client_id"]).classes("text-grey-7")
                        ui.space()
                        ui.label(fmt_when(item["executed_at"])).classes("text-xs text-grey-7")
                    # What failed, in words: the error type and the first error's message (as text).
                    kind = ", ".join(triage.get("error_types") or [])[:80]
                    message = (triage.get("first_error") or "")[:160]
                    if kind or message:
                        ui.label(f"{kind}: {message}" if kind and message else kind or message) \
                            .classes("text-xs truncate w-full").mark("recent-error-what")

    def show_ingest(self, totals: dict[str, dict]) -> None:
        self.ingest.clear()
        with self.ingest:
            if not totals:
                ui.label("Nothing received in this period.").classes("text-grey-7")
            for client_id, t in sorted(totals.items()):
                rejected = sum(t["rejected"].values())
                with ui.card().props("flat bordered").classes("w-full").mark(f"ingest-{client_id or 'unattributed'}"):
                    with ui.row().classes("items-center gap-4"):
                        ui.label(client_id or "(no client: bad key)").classes("font-bold")
                        ui.label(f"accepted {t['accepted']:,}").classes("text-positive")
                        ui.label(f"duplicates {t['duplicates']:,}").classes("text-grey-7")
                        ui.label(f"rejected {rejected:,}").classes("text-negative" if rejected else "text-grey-7")
                    if rejected:
                        ui.label(", ".join(f"{reason.replace('_', ' ')} {n:,}" for reason, n in
                                           sorted(t["rejected"].items()) if n)).classes("text-xs text-grey-7")


def register(runtime) -> None:
    @guard.dashboard_page(runtime, "/", title="Overview · Central Logger")
    async def overview_page(request: Request, user: guard.PageUser):
        try:
            state = OverviewState.from_query(request.query_params, user.principal.is_admin)
        except ValidationFailed as exc:
            return bad_request(exc)
        client_ids = None
        if user.principal.is_admin:
            with guard.storage_outage():  # the client picker is a convenience: the page works without it
                async with asyncio.timeout(2.0):
                    client_ids = [c.id for c in await client_service.list_clients(runtime.db)]
        with layout.frame(runtime, user, "Overview", "overview", client_ids, state.client_id):
            OverviewView(runtime, user, state).build()
