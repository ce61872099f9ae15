"""Small helpers shared by the overview, logs and detail pages.

Everything that comes out of a log is untrusted: it is only ever shown through text elements
(ui.label / ui.code / table cells), which escape it. Nothing here produces HTML."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields, replace
from datetime import datetime, timezone, tzinfo
from typing import Any
from urllib.parse import urlencode

from fastapi.responses import JSONResponse
from nicegui import context, ui

from ..api.errors import service_error_response
from ..services.access.principal import Principal
from ..services.errors import ValidationFailed
from ..services.public_ids import is_public_id
from ..services.read.scope import LogFilters
from ..services.read.search import TRIAGE_NAMES, parse_triage
from ..services.rules import TICKET_ID_MAX
from ..services.timestamps import parse_bound
from .guard import rechecked

PREVIEW_CHARS = 2000  # shown at first
EXPANDED_CHARS = 50_000  # "show more" ships at most this much; the raw download has the rest
STATUS_COLORS = {"SUCCESS": "positive", "ERROR": "negative"}
DATE_LABELS = {"since": "From", "until": "To"}  # as the date controls on the pages are labelled
QUERY_FIELDS = ("status", "category", "environment", "ticket_id", "client_id", "since", "until")
# Search and the triage filters: declared, parsed and refused by services/read/search.py, as in the API.
TRIAGE_FIELDS = TRIAGE_NAMES


def to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, indent=2, default=str)
    except (TypeError, ValueError, RecursionError):
        return repr(value)


def long_text(value: Any, *, code: bool = False, limit: int = PREVIEW_CHARS, classes: str = "") -> None:
    """Text that may be huge: ship a preview, and more only when asked (never a whole MiB)."""
    text = to_text(value)
    shown = text[:limit]
    label = ui.label(shown).classes(f"whitespace-pre-wrap break-all {'font-mono text-xs' if code else ''} {classes}")
    if len(text) <= limit:
        return

    def more() -> None:
        rest = text[:EXPANDED_CHARS]
        if len(text) > EXPANDED_CHARS:
            rest += f"\n… {len(text) - EXPANDED_CHARS:,} more characters — download the raw log for all of it"
        label.text = rest
        button.delete()

    button = ui.button(f"show more ({len(text):,} characters)", on_click=rechecked(more)).props("flat dense size=sm")


def fmt_seconds(value: Any) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "—"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def fmt_number(value: Any, digits: int = 2) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "—"
    return f"{value:.{digits}f}"


# The page's time zone (the user's "time_zone" preference), kept on the NiceGUI client by
# guard.dashboard_page so event handlers and timers format like the page build did.
PAGE_ZONE_ATTR = "cl_time_zone"


def page_zone() -> tzinfo:
    try:
        client = context.client
    except RuntimeError:  # no page (a test calling a helper directly): UTC
        return timezone.utc
    return getattr(client, PAGE_ZONE_ATTR, None) or timezone.utc


def zone_label() -> str:
    zone = page_zone()
    return "UTC" if zone is timezone.utc else str(zone)


def fmt_when(iso: Any) -> str:
    if not isinstance(iso, str):
        return "—"
    try:
        moment = datetime.fromisoformat(iso).astimezone(page_zone())
    except ValueError:
        return iso
    return moment.strftime("%Y-%m-%d %H:%M:%S ") + (moment.tzname() or "UTC")


def status_badge(status: Any) -> None:
    text = str(status or "?")
    ui.badge(text, color=STATUS_COLORS.get(text, "grey"))


def metric(metrics: Any, key: str) -> Any:
    """metrics is a dict in well-behaved logs, but nothing guarantees it."""
    value = metrics.get(key) if isinstance(metrics, dict) else None
    return None if isinstance(value, bool) else value


def log_path(public_id: str) -> str:
    """The detail page of a log, by the public id the services gave it (never the row id)."""
    if not is_public_id(public_id):  # only ever server-made, but it becomes an href
        raise ValueError("not a public log id")
    return f"/logs/{public_id}"


def bad_request(exc: ValidationFailed) -> JSONResponse:
    """A URL filter the page cannot honour: the API's 400 body, naming the field."""
    return service_error_response(exc, headers={"Cache-Control": "no-store"})


def problem_text(exc: ValidationFailed, labels: dict[str, str]) -> str:
    """'To: out of range': a refused filter control, as a notification names it."""
    return "; ".join(f"{labels.get(d.field, d.field)}: {d.problem}" for d in exc.details) or exc.message


@dataclass(frozen=True)
class PageFilters:
    """The filters of the logs page exactly as they appear in the URL (so links are bookmarkable)."""

    status: str | None = None
    category: str | None = None
    environment: str | None = None
    ticket_id: str | None = None
    client_id: str | None = None
    since: str | None = None
    until: str | None = None
    q: str | None = None
    tool: str | None = None
    error_type: str | None = None
    model: str | None = None
    confidence_min: str | None = None
    confidence_max: str | None = None
    execution_time_min: str | None = None
    execution_time_max: str | None = None

    @classmethod
    def from_query(cls, params: Any, principal: Principal) -> PageFilters:
        """Raises ValidationFailed for a date it cannot honour; other odd values are dropped."""
        values = {f: (params.get(f) or "").strip() or None for f in QUERY_FIELDS}
        if values["status"] and values["status"].upper() not in STATUS_COLORS:
            values["status"] = None
        elif values["status"]:
            values["status"] = values["status"].upper()
        if not principal.is_admin:
            values["client_id"] = None  # a client user always sees exactly its own client
        # Dates get the API's own validation: junk or one beyond year 1..9999 in UTC is refused
        # (ValidationFailed naming the field), never silently dropped, which would widen an export.
        for f in ("since", "until"):
            if values[f]:
                parse_bound(values[f], f, end=f == "until")
        triage = {f: (str(params.get(f) or "")).strip() or None for f in TRIAGE_FIELDS}
        parse_triage(triage)  # an invalid search or filter is a 400 naming it, exactly as in the API
        return cls(**{k: v[:TICKET_ID_MAX] if v else None for k, v in values.items()}, **triage)

    def with_(self, **changes: Any) -> PageFilters:
        return replace(self, **{k: (v or None) for k, v in changes.items()})

    def log_filters(self) -> LogFilters:
        return LogFilters(
            status=self.status, category=self.category, environment=self.environment, ticket_id=self.ticket_id,
            client_id=self.client_id, since=parse_bound(self.since, "since") if self.since else None,
            until=parse_bound(self.until, "until", end=True) if self.until else None,
            **parse_triage({f: getattr(self, f) for f in TRIAGE_FIELDS}),
        )

    def query_string(self) -> str:
        pairs = [(f.name, getattr(self, f.name)) for f in fields(self) if getattr(self, f.name)]
        return urlencode(pairs)
