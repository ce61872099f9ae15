"""Read API: a client key sees its client, an admin key sees all."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from ..services import retention
from ..services.public_ids import PATTERN
from ..services.read import metrics, queries
from ..services.read.ingest_report import ingest_report
from ..services.read.sorting import SORT_NAMES, parse_sort
from ..services.rules import CLIENT_ID_PATTERN, TICKET_ID_MAX, anchored
from .deps import CallerDep, FiltersDep, ListFiltersDep, RuntimeDep, reject_unknown_query, timestamp_param
from .schemas import IngestReport, LogFull, LogPage, Overview, Timeseries, errors

router = APIRouter(prefix="/api/v1", tags=["read"], dependencies=[Depends(reject_unknown_query)])
ERRORS = errors(400, 401, 403, 429, 500, 503)
# A public id (services/public_ids.py). The pattern is documented, not enforced here, because
# admin keys may still use the old integer ids; scope.resolve_log_id refuses everything else (400).
LogId = Annotated[str, Path(max_length=64, json_schema_extra={"pattern": PATTERN},
                            description="public log id, `log_` + 16 lowercase hex digits (admin keys: the old integer id works too)")]


@router.get("/logs", response_model=LogPage, responses=ERRORS, summary="List logs, newest first (keyset pages)")
async def list_logs(
    runtime: RuntimeDep, caller: CallerDep, filters: ListFiltersDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200, description="next_cursor of the previous page")] = None,
    sort: Annotated[str | None, Query(max_length=32, json_schema_extra={"enum": list(SORT_NAMES)},
                                      description="order: -executed_at (default, newest first), executed_at, ±execution_time, "
                                                  "±confidence, ±iterations; '-' is descending, NULLs last; a cursor keeps its order")] = None,
):
    return await queries.list_logs(runtime.db, runtime.public_ids, caller, filters, limit, cursor, parse_sort(sort))


@router.get("/logs/{log_id}", response_model=LogFull, responses=errors(400, 401, 403, 404, 429, 500, 503),
            summary="One whole log, with payload")
async def get_log(log_id: LogId, runtime: RuntimeDep, caller: CallerDep):
    return await queries.get_log(runtime.db, runtime.public_ids, caller, log_id)


@router.delete("/logs/{log_id}", responses=errors(400, 401, 403, 404, 429, 500, 503), summary="Delete one log (admin keys; audit-logged)")
async def delete_log(log_id: LogId, runtime: RuntimeDep, caller: CallerDep):
    await retention.delete_log(runtime.db, runtime.public_ids, caller, log_id)
    return {"deleted": 1}


@router.delete("/logs", responses=ERRORS, summary="Delete every run of a ticket (admin keys; audit-logged)")
async def delete_ticket(
    runtime: RuntimeDep, caller: CallerDep,
    client_id: Annotated[str, Query(pattern=anchored(CLIENT_ID_PATTERN))],
    ticket_id: Annotated[str, Query(min_length=1, max_length=TICKET_ID_MAX)],
):
    return {"deleted": await retention.delete_ticket(runtime.db, caller, client_id, ticket_id)}


@router.get("/metrics/overview", response_model=Overview, responses=ERRORS, summary="Totals, rates, percentiles")
async def overview(runtime: RuntimeDep, caller: CallerDep, filters: FiltersDep):
    return await metrics.overview(runtime.db, caller, filters)


@router.get("/metrics/timeseries", response_model=Timeseries, responses=ERRORS, summary="Per hour or day")
async def timeseries(runtime: RuntimeDep, caller: CallerDep, filters: FiltersDep,
                     bucket: Literal["hour", "day"] = "hour"):
    return {"bucket": bucket, "items": await metrics.timeseries(runtime.db, caller, filters, bucket)}


@router.get("/metrics/ingest", response_model=IngestReport, responses=ERRORS,
            summary="Per client and hour: accepted, duplicates, rejected by reason")
async def ingest_metrics(
    runtime: RuntimeDep, caller: CallerDep,
    client_id: Annotated[str | None, Query(pattern=anchored(CLIENT_ID_PATTERN))] = None,
    from_: Annotated[str | None, Query(alias="from", max_length=64, json_schema_extra={"format": "date-time"},
                                       description="ISO-8601; default: 24 h ago")] = None,
):
    return {"items": await ingest_report(runtime.db, caller, timestamp_param(from_, "from"), client_id)}
