"""/logs/{log_id}: the debugger for one agent run (header, ReAct timeline, tools, errors, raw JSON).

`log_id` is the public id (admins may still use an old integer id, see scope.resolve_log_id)."""

from __future__ import annotations

import asyncio
import json

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from ..services.errors import AccessDenied, NotFound, ValidationFailed
from ..services.read import queries
from ..services.read.scope import LogFilters
from . import guard, layout, trace_view
from .view_utils import fmt_number, fmt_seconds, fmt_when, log_path, metric, status_badge, to_text

LOAD_TIMEOUT = 2.0
MAX_COPY_CHARS = 1_000_000  # beyond this the clipboard copy would ship megabytes; use the download
OTHER_RUNS = 20


def not_found() -> None:
    with ui.column().classes("items-center w-full mt-16"):
        ui.icon("search_off", size="xl", color="grey")
        ui.label("Log not found").classes("text-h6")
        ui.link("Back to logs", "/logs")


def header(log: dict) -> None:
    metrics = log.get("metrics")
    with ui.card().classes("w-full"):
        with ui.row().classes("items-center gap-3"):
            ui.label(to_text(log["ticket_id"])).classes("text-h6 break-all")
            status_badge(log["status"])
        with ui.grid(columns=4).classes("w-full gap-x-6 gap-y-1"):
            for label, value in (
                ("Client", log["client_id"]),
                ("Environment", log["environment"]),
                ("Category", log["category"] or "—"),
                ("Confidence", fmt_number(metric(metrics, "confidence"))),
                ("Iterations", to_text(metric(metrics, "iterations")) or "—"),
                ("Execution time", fmt_seconds(log["execution_time_seconds"])),
                ("Executed at", fmt_when(log["executed_at"])),
                ("Received at", fmt_when(log["created_at"])),
            ):
                with ui.column().classes("gap-0"):
                    ui.label(label).classes("text-xs uppercase text-grey-7")
                    ui.label(to_text(value)[:300]).classes("break-all")


def raw_json(log: dict) -> None:
    with ui.expansion("Raw JSON", icon="data_object").classes("w-full") as expansion:
        holder = ui.column().classes("w-full")

    def build(event) -> None:
        # Built on first open only, and from a capped copy: the browser never gets the whole payload.
        if event.value and not holder.default_slot.children:
            with holder:
                ui.json_editor({"content": {"json": trace_view.capped(log)}, "readOnly": True,
                                "mainMenuBar": False, "navigationBar": False}).classes("w-full")

    expansion.on_value_change(guard.rechecked(build))


def actions(log: dict) -> None:
    def copy() -> None:
        text = json.dumps(log, ensure_ascii=False, indent=2, default=str)
        if len(text) > MAX_COPY_CHARS:
            ui.notify("This log is too large to copy; use Download instead.", type="warning")
            return
        ui.clipboard.write(text)
        ui.notify("Raw log copied")

    with ui.row().classes("gap-2"):
        ui.button("Copy raw log", icon="content_copy", on_click=guard.rechecked(copy)).props("flat dense")
        ui.button("Download raw log", icon="download",
                  on_click=guard.rechecked(lambda: ui.download.from_url(f"/export{log_path(log['id'])}.json"))).props("flat dense")


def other_runs(log: dict, runs: list[dict]) -> None:
    runs = [r for r in runs if r["id"] != log["id"]]
    if not runs:
        return
    with ui.card().classes("w-full"):
        ui.label("Other runs of this ticket").classes("text-subtitle1")
        for run in runs:
            with ui.row().classes("items-center gap-3"):
                status_badge(run["status"])
                ui.link(fmt_when(run["executed_at"]), log_path(run["id"]))
                ui.label(fmt_seconds(run["execution_time_seconds"])).classes("text-grey-7")


def body(log: dict, runs: list[dict]) -> None:
    payload = log.get("payload")
    data = payload if isinstance(payload, dict) else {}
    header(log)
    actions(log)
    if data.get("errors"):
        ui.label("Errors").classes("text-h6 text-negative")
        trace_view.errors(data.get("errors"))
    with ui.row().classes("w-full no-wrap items-start gap-4 max-lg:flex-wrap"):
        with ui.column().classes("flex-grow min-w-0"):
            ui.label("Execution timeline").classes("text-h6")
            trace_view.timeline(data.get("react_iterations"))
        with ui.column().classes("w-full lg:w-2/5 min-w-0"):
            ui.label("Final answer").classes("text-h6")
            if data.get("final_answer") is None:
                ui.label("No final answer.").classes("text-grey-7")
            else:
                trace_view.field("", data.get("final_answer"))
            ui.label("Tool calls").classes("text-h6")
            trace_view.tool_calls(data.get("tool_calls"))
    with ui.expansion("Other payload fields", icon="list", value=not isinstance(payload, dict)).classes("w-full"):
        trace_view.other_fields(payload)
        if log.get("extra"):
            trace_view.field("Extra top-level fields", log["extra"], code=True)
    raw_json(log)
    other_runs(log, runs)


def register(runtime) -> None:
    @guard.dashboard_page(runtime, "/logs/{log_id}", title="Log · Central Logger")
    async def detail_page(request: Request, user: guard.PageUser, log_id: str):
        ids = runtime.public_ids
        log, runs = None, []
        with guard.storage_outage() as outage:
            try:
                async with asyncio.timeout(LOAD_TIMEOUT):
                    log = await queries.get_log(runtime.db, ids, user.principal, log_id)
                    same_ticket = LogFilters(ticket_id=log["ticket_id"], client_id=log["client_id"])
                    runs = (await queries.list_logs(runtime.db, ids, user.principal, same_ticket, OTHER_RUNS + 1))["items"]
            except (NotFound, AccessDenied, ValidationFailed):  # a malformed id names no log either
                log = None
        if log is not None and log["id"] != log_id:  # an admin's old integer URL: on to the public one
            return RedirectResponse(log_path(log["id"]))
        with layout.frame(runtime, user, "Log detail", "logs"):
            if outage.down:
                layout.storage_banner()
            elif log is None:
                not_found()
            else:
                body(log, runs)
