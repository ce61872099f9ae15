"""/logs/{log_id}: the debugger for one agent run, read as a trace whatever framework wrote it
(services/traces): summary and first error on top, the waterfall of steps (waterfall.py), raw JSON.

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
from ..services.traces import Trace, trace_of
from . import detail_nav, guard, layout, trace_view, waterfall
from .view_utils import fmt_number, fmt_seconds, fmt_when, log_path, metric, status_badge, to_text

LOAD_TIMEOUT = 2.0
MAX_COPY_CHARS = 1_000_000  # beyond this the clipboard copy would ship megabytes; use the download
OTHER_RUNS = 20


def not_found() -> None:
    with ui.column().classes("items-center w-full mt-16"):
        ui.icon("search_off", size="xl", color="grey")
        ui.label("Ticket not found").classes("text-h6")
        ui.link("Back to tickets", "/logs")


def header(log: dict) -> None:
    metrics = log.get("metrics")
    with ui.card().classes("w-full"):
        with ui.row().classes("items-center gap-3"):
            ui.label(f"Ticket {to_text(log['ticket_id'])}").classes("text-h6 break-all").mark("ticket-heading")
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


def run_summary(log: dict, trace: Trace, errors: list) -> None:
    """What a reader needs first: what failed and where, what was asked, by which model, the answer."""
    with ui.card().classes("w-full gap-2").mark("run-summary"):
        ui.label(f"read as: {trace.shape}").classes("text-sm text-grey-7").mark("trace-shape")
        if errors:
            number, step = errors[0]
            where = f"in step #{number} ({step.kind}{' · ' + to_text(step.name)[:80] if step.name else ''})" if number else None
            waterfall.error_block(step.error.type, step.error.message, step.error.traceback, where)
            if number:
                ui.link(f"Go to step #{number}", f"#step-{number}").classes("text-sm")
        elif log["status"] == "ERROR":
            waterfall.error_block("ERROR", "This run is marked ERROR, but its payload names no error.", None)
        trace_view.field("Input", trace.input)
        models = trace.models_used()
        tokens_in, tokens_out = trace.token_totals()
        facts = [f"{trace.step_count():,} steps"]
        if models:
            facts.append("model " + ", ".join(to_text(m)[:60] for m in models[:5]))
        if tokens_in is not None or tokens_out is not None:
            facts.append(f"tokens in {tokens_in or 0:,} / out {tokens_out or 0:,}")
        ui.label(" · ".join(facts)).classes("text-sm").mark("trace-facts")
        for loop in trace.loops():
            ui.label(f"Repeated: {to_text(loop.name)[:80]} called {loop.count} times in a row with the same input") \
                .classes("text-sm text-warning").mark("loop-summary")
        if trace.final_answer not in (None, ""):
            trace_view.field("Final answer", trace.final_answer)


def all_errors(errors: list) -> None:
    if len(errors) < 2:
        return  # the one error is in the summary already
    ui.label(f"Errors ({len(errors)})").classes("text-h6 text-negative")
    for number, step in errors[:trace_view.MAX_ITEMS]:
        waterfall.error_block(step.error.type, step.error.message, step.error.traceback,
                              f"in step #{number}" if number else None)


def body(log: dict, runs: list[dict], nav: dict) -> None:
    payload = log.get("payload")
    trace = trace_of(payload)
    steps = waterfall.Waterfall(trace)
    errors = list(waterfall.iter_errors(trace, steps.rows))  # (step number, step)
    ui.page_title(f"{to_text(log['ticket_id'])[:80]} · Ticket · Central Logger")
    ui.add_css(waterfall.STYLE)
    ui.add_body_html(waterfall.SCRIPT)
    detail_nav.bar(nav, to_text(log["ticket_id"]))
    header(log)
    actions(log)
    other_runs(log, runs)
    run_summary(log, trace, errors)
    all_errors(errors)
    if trace.steps:
        ui.label("Steps").classes("text-h6")
        steps.build()
        if trace.truncated:
            ui.label("More steps than the page shows: download the raw log for all of them.").classes("text-grey-7")
    other_fields(log, payload, open_now=not trace.recognised)
    raw_json(log)


def other_fields(log: dict, payload, open_now: bool) -> None:
    """The payload as a generic tree: open when no adapter read it, else built on first open (for a
    recognised 1 MiB trace it would repeat the steps as text: 1.85 -> 1.63 s for a 5,000-step page, bench/detail_page.py)."""

    def build() -> None:
        trace_view.other_fields(payload)
        if log.get("extra"):
            trace_view.field("Extra top-level fields", log["extra"], code=True)

    with ui.expansion("Other payload fields", icon="list", value=open_now).classes("w-full") as expansion:
        holder = ui.column().classes("w-full")
        if open_now:
            with holder:
                build()

    def fill(event) -> None:
        if event.value and not holder.default_slot.children:
            with holder:
                build()

    expansion.on_value_change(guard.rechecked(fill))


def register(runtime) -> None:
    @guard.dashboard_page(runtime, "/logs/{log_id}", title="Ticket · Central Logger")
    async def detail_page(request: Request, user: guard.PageUser, log_id: str):
        ids = runtime.public_ids
        log, runs, nav = None, [], {}
        with guard.storage_outage() as outage:
            try:
                async with asyncio.timeout(LOAD_TIMEOUT):
                    log = await queries.get_log(runtime.db, ids, user.principal, log_id)
                    same_ticket = LogFilters(ticket_id=log["ticket_id"], client_id=log["client_id"])
                    runs = (await queries.list_logs(runtime.db, ids, user.principal, same_ticket, OTHER_RUNS + 1))["items"]
                    nav = await detail_nav.load(runtime, user, log["id"], request.query_params.get("from"))
            except (NotFound, AccessDenied, ValidationFailed):  # a malformed id names no log either
                log = None
        if log is not None and log["id"] != log_id:  # an admin's old integer URL: on to the public one
            return RedirectResponse(log_path(log["id"]))
        with layout.frame(runtime, user, "Ticket", "logs"):
            if outage.down:
                layout.storage_banner()
            elif log is None:
                not_found()
            else:
                body(log, runs, nav)
