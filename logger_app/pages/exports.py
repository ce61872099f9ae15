"""Downloads for dashboard users: CSV/JSONL of a filtered log list, and one raw log.

These are plain HTTP routes on the NiceGUI app (a browser download cannot ride the websocket),
so each request re-checks the session cookie and the caller's scope itself."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from ..api.errors import HTTP_CODES, envelope
from ..db.log_columns import CSV_COLUMNS
from ..db.types import utcnow
from ..services.errors import AccessDenied, NotFound, ValidationFailed
from ..services.read import queries
from . import guard
from .view_utils import PageFilters, bad_request, metric

log = logging.getLogger("logger_app")
FULL_PAGE = 100  # full rows carry payloads (up to ~1 MiB each): smaller keyset pages bound memory


def _plain(status: int, message: str) -> Response:
    return envelope(status, HTTP_CODES.get(status, "error"), message, headers={"Cache-Control": "no-store"})


def _unavailable() -> Response:
    return _plain(503, "the database is not reachable right now")


def _csv_cell(value: Any) -> Any:
    # Spreadsheets execute cells starting with these as formulas (CSV injection); logs are untrusted.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_line(values: list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([_csv_cell(v) for v in values])
    return buffer.getvalue()


def csv_row(item: dict[str, Any]) -> list[Any]:
    metrics = item.get("metrics")
    derived = {"confidence": metric(metrics, "confidence"), "iterations": metric(metrics, "iterations")}
    return [derived[c] if c in derived else item.get(c) for c in CSV_COLUMNS]


async def _stream(first: dict | None, rest: AsyncIterator[dict], render) -> AsyncIterator[bytes]:
    if first is not None:
        yield render(first).encode()
    try:
        async for item in rest:
            yield render(item).encode()
    except Exception:
        # Headers are gone already; a truncated file is all we can signal (and the log says why).
        log.warning("export stopped early", exc_info=True)


def register(runtime) -> None:
    from nicegui import app as ui_app

    async def authorise(request: Request):
        """(user, error response): the session is re-checked on every download."""
        user = None
        with guard.storage_outage() as outage:
            user = await guard.page_user(request, runtime)
        if outage.down:
            return None, _unavailable()
        return (user, None) if user is not None else (None, _plain(401, "log in first"))

    async def export(request: Request, fmt: str) -> Response:
        user, refused = await authorise(request)
        if refused is not None:
            return refused
        try:
            filters = PageFilters.from_query(request.query_params, user.principal).log_filters()
        except ValidationFailed as exc:  # a dropped filter would export more than was asked for
            return bad_request(exc)
        rows = queries.iter_logs(runtime.db, runtime.public_ids, user.principal, filters, full_rows=fmt == "jsonl",
                                 page=FULL_PAGE if fmt == "jsonl" else 500)
        # Pull the first row before answering, so an outage is a 503 and not an empty "success".
        first = None
        with guard.storage_outage() as outage:
            try:
                first = await anext(rows, None)
            except AccessDenied:
                return _plain(404, "not found")
        if outage.down:
            return _unavailable()
        stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
        if fmt == "csv":
            async def body() -> AsyncIterator[bytes]:
                yield csv_line(list(CSV_COLUMNS)).encode()
                async for chunk in _stream(first, rows, lambda item: csv_line(csv_row(item))):
                    yield chunk
            media, name = "text/csv; charset=utf-8", f"logs-{stamp}.csv"
        else:
            def body() -> AsyncIterator[bytes]:
                return _stream(first, rows, lambda item: json.dumps(item, ensure_ascii=False, default=str) + "\n")
            media, name = "application/x-ndjson", f"logs-{stamp}.jsonl"
        return StreamingResponse(body(), media_type=media, headers={
            "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})

    @ui_app.get("/export/logs.csv", include_in_schema=False)
    async def export_csv(request: Request) -> Response:
        return await export(request, "csv")

    @ui_app.get("/export/logs.jsonl", include_in_schema=False)
    async def export_jsonl(request: Request) -> Response:
        return await export(request, "jsonl")

    @ui_app.get("/export/log/{log_id}.json", include_in_schema=False)
    async def raw_log(request: Request, log_id: str) -> Response:
        user, refused = await authorise(request)
        if refused is not None:
            return refused
        item: dict = {}
        with guard.storage_outage() as outage:
            try:
                item = await queries.get_log(runtime.db, runtime.public_ids, user.principal, log_id)
            except (NotFound, AccessDenied, ValidationFailed):  # a malformed id names no log either
                return _plain(404, "log not found")
        if outage.down:
            return _unavailable()
        body = json.dumps(item, ensure_ascii=False, indent=2, default=str)
        return Response(body, media_type="application/json", headers={
            "Content-Disposition": f'attachment; filename="{item["id"]}.json"', "Cache-Control": "no-store"})
