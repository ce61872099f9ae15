"""The overview's triage panels: what is failing (error types and tools of failed runs, with the
trend against the previous period) and, for the provider, the error rate per client. Every row
links to the ticket list filtered to it; every name from the data is a label (text), never markup."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

from .view_utils import to_text

Link = Callable[..., str]  # OverviewView.list_link(**filters) -> "/logs?..."


def _trend(now: int, before: int) -> tuple[str, str]:
    if before == 0:
        return ("new" if now else "—"), "text-negative" if now else "text-grey-7"
    change = (now - before) / before * 100
    return f"{change:+.0f} %", "text-negative" if change > 0 else ("text-positive" if change < 0 else "text-grey-7")


def what_is_failing(box: ui.column, data: dict, link: Link) -> None:
    box.clear()
    with box:
        if not data["error_types"] and not data["tools"]:
            ui.label("Nothing failed in this period.").classes("text-grey-7")
            return
        with ui.row().classes("w-full gap-6 no-wrap items-start max-md:flex-wrap"):
            with ui.column().classes("flex-1 gap-1 min-w-0").mark("failing-error-types"):
                ui.label("Error types").classes("text-xs uppercase text-grey-7")
                for item in data["error_types"]:
                    with ui.row().classes("w-full items-center gap-2 no-wrap"):
                        ui.link(to_text(item["name"])[:80], link(status="ERROR", error_type=item["name"])) \
                            .classes("text-negative truncate").mark("failing-error-type")
                        ui.space()
                        ui.label(f"{item['count']:,}").classes("font-bold")
                        text, colour = _trend(item["count"], item["previous"])
                        ui.label(text).classes(f"text-xs w-12 text-right {colour}").tooltip(f"previous period: {item['previous']:,}")
            with ui.column().classes("flex-1 gap-1 min-w-0").mark("failing-tools"):
                ui.label("Tools in failed runs").classes("text-xs uppercase text-grey-7")
                for item in data["tools"]:
                    with ui.row().classes("w-full items-center gap-2 no-wrap"):
                        ui.link(to_text(item["name"])[:80], link(status="ERROR", tool=item["name"])) \
                            .classes("truncate").mark("failing-tool")
                        ui.space()
                        ui.label(f"{item['count']:,}").classes("font-bold")
                        ui.label(f"{item['failure_rate'] * 100:.0f} % of {item['runs']:,}").classes("text-xs text-grey-7") \
                            .tooltip("failed runs that called it, of all runs that called it")
                        text, colour = _trend(item["count"], item["previous"])
                        ui.label(text).classes(f"text-xs w-12 text-right {colour}")
        if data["sampled"]:
            ui.label("From the newest 5,000 runs of the period.").classes("text-xs text-grey-7")


def client_error_rates(box: ui.column, rows: list[dict], link: Link) -> None:
    box.clear()
    with box:
        if not rows:
            ui.label("No runs in this period.").classes("text-grey-7")
            return
        with ui.row().classes("w-full gap-2 no-wrap text-xs uppercase text-grey-7"):
            for title, width in (("Client", "w-48"), ("Runs", "w-24 text-right"), ("Errors", "w-24 text-right"),
                                 ("Error rate", "w-24 text-right")):
                ui.label(title).classes(width)
        for row in rows:
            with ui.row().classes("w-full gap-2 no-wrap items-center").mark(f"client-rate-{row['client_id']}"):
                ui.link(to_text(row["client_id"]), link(client_id=row["client_id"])).classes("w-48 font-mono")
                ui.label(f"{row['total']:,}").classes("w-24 text-right")
                ui.link(f"{row['errors']:,}", link(client_id=row["client_id"], status="ERROR")) \
                    .classes("w-24 text-right " + ("text-negative" if row["errors"] else "text-grey-7"))
                ui.label(f"{row['error_rate'] * 100:.1f} %").classes("w-24 text-right" + (" text-negative font-bold"
                                                                                           if row["error_rate"] >= 0.1 else ""))
