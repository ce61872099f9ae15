"""POST /api/v1/logs and /api/v1/logs/batch: the hot path."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ..runtime import Runtime
from ..services.access.principal import Principal
from ..services.errors import ServiceError
from ..services.ingest.in_flight import Reservation
from .body import read_json
from .deps import get_principal, reject_unknown_query
from .errors import error_detail
from .schemas import BatchResult, IngestResult, errors

router = APIRouter(prefix="/api/v1", tags=["ingest"])
ERRORS = errors(400, 401, 403, 408, 413, 415, 429, 500, 503)
BATCH_SCHEMA = {"type": "object", "required": ["logs"],
                "properties": {"logs": {"type": "array", "items": {"$ref": "#/components/schemas/LogIn"}}}}


async def _admit(request: Request, reservation: Reservation) -> tuple[Runtime, Principal, Any]:
    """The key (before a byte of the body is read), the query, then the body, its bytes held in
    `reservation` until the caller has its answer (the rows stay in memory until the commit).

    Resolved here rather than with Depends: same order and errors, no parameters either way in the
    OpenAPI document, and no dependency solving per request on the hot path."""
    runtime: Runtime = request.app.state.runtime
    caller = await get_principal(request, runtime)
    await reject_unknown_query(request)
    return runtime, caller, await read_json(request, runtime.settings.max_body_bytes, reservation)


def _reservation(request: Request) -> Reservation:
    return request.app.state.runtime.in_flight.reservation()


@router.post(
    "/logs",
    responses={200: {"model": IngestResult, "description": "Stored and committed"}, **ERRORS},
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LogIn"}}}},
                   "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string", "maxLength": 200}}]},
    summary="Store one workflow log",
)
async def ingest_log(request: Request) -> JSONResponse:
    with _reservation(request) as reservation:
        runtime, caller, body = await _admit(request, reservation)
        return JSONResponse(await runtime.ingestor.ingest_one(caller, body, request.headers.get("idempotency-key")))


@router.post(
    "/logs/batch",
    responses={200: {"model": BatchResult, "description": "All stored"},
               207: {"model": BatchResult, "description": "Some items rejected; the valid ones are stored"}, **ERRORS},
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": BATCH_SCHEMA}}}},
    summary="Store many workflow logs in one transaction",
)
async def ingest_batch(request: Request) -> JSONResponse:
    with _reservation(request) as reservation:
        runtime, caller, body = await _admit(request, reservation)
        results, all_ok = await runtime.ingestor.ingest_batch(caller, body)
    for item in results:
        if isinstance(item.get("error"), ServiceError):
            item["error"] = error_detail(item["error"])
    return JSONResponse({"results": results}, status_code=200 if all_ok else 207)
