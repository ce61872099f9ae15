"""FastAPI dependencies: the runtime, the caller (from the API key), the log filters."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query, Request

from ..runtime import Runtime
from ..services.access.principal import Principal
from ..services.errors import FieldProblem, ValidationFailed
from ..services.read.scope import LogFilters
from ..services.read.search import TRIAGE_PARAMS, parse_triage
from ..services.rules import CATEGORY_MAX, CLIENT_ID_PATTERN, ENVIRONMENT_PATTERN, TICKET_ID_MAX, StatusText, anchored
from ..services.timestamps import parse_timestamp


async def get_runtime(request: Request) -> Runtime:
    # async: a sync dependency would hop to the thread pool on every request (~10% of ingest CPU).
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def _query_names(dependant) -> set[str]:
    names: set[str] = set()
    stack = [dependant]
    while stack:
        current = stack.pop()
        names.update(p.alias for p in current.query_params)
        stack.extend(current.dependencies)
    return names


async def reject_unknown_query(request: Request) -> None:
    """A misspelt filter (`?stauts=ERROR`) must not silently return everything: name it, 400."""
    if not request.url.query:
        return
    route = request.scope.get("route")
    allowed = _query_names(route.dependant) if route is not None and hasattr(route, "dependant") else set()
    unknown = sorted({name for name in request.query_params.keys() if name not in allowed})
    if unknown:
        raise ValidationFailed("unknown query parameter", [FieldProblem(name or "(empty name)", "unknown query parameter") for name in unknown])


def presented_key(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def _authenticate(request: Request, runtime: Runtime) -> Principal:
    principal = await runtime.keys.authenticate(presented_key(request))
    request.state.client_id = principal.client_id  # whom a later refusal is counted for (api/errors.py)
    return principal


async def get_principal(request: Request, runtime: RuntimeDep) -> Principal:
    """The caller of an ingest route, checked before the body is read (a bad key is refused unread)."""
    principal = await _authenticate(request, runtime)
    await runtime.rate_limiter.admit(principal)  # 429 + Retry-After when LOGGER_RATE_LIMIT_PER_KEY is exceeded
    return principal


async def read_caller(request: Request, runtime: RuntimeDep) -> Principal:
    """The caller of every other /api/v1 route, under its own limit: reads are the expensive side."""
    principal = await _authenticate(request, runtime)
    await runtime.read_rate_limiter.admit(principal)  # 429 + Retry-After over LOGGER_READ_RATE_LIMIT_PER_KEY
    return principal


CallerDep = Annotated[Principal, Depends(read_caller)]


def timestamp_param(value: str | None, name: str) -> datetime | None:
    """ISO-8601 only (no epoch numbers, which pydantic would quietly accept); no offset means UTC."""
    return None if value is None else parse_timestamp(value, name)


def get_filters(
    status: Annotated[StatusText | None, Query(description="SUCCESS or ERROR, any case")] = None,
    category: Annotated[str | None, Query(max_length=CATEGORY_MAX)] = None,
    environment: Annotated[str | None, Query(pattern=anchored(ENVIRONMENT_PATTERN))] = None,
    ticket_id: Annotated[str | None, Query(max_length=TICKET_ID_MAX)] = None,
    from_: Annotated[str | None, Query(alias="from", max_length=64, json_schema_extra={"format": "date-time"},
                                       description="ISO-8601, inclusive; no offset means UTC")] = None,
    to: Annotated[str | None, Query(max_length=64, json_schema_extra={"format": "date-time"},
                                    description="ISO-8601, exclusive; no offset means UTC")] = None,
    client_id: Annotated[str | None, Query(pattern=anchored(CLIENT_ID_PATTERN), description="admin keys: any client; client keys: only their own")] = None,
) -> LogFilters:
    for name, value in (("category", category), ("ticket_id", ticket_id), ("client_id", client_id)):
        if value is not None and "\x00" in value:  # PostgreSQL cannot even compare text with NUL
            raise ValidationFailed(f"{name} contains a NUL character", [FieldProblem(name, "contains a NUL character")])
    return LogFilters(
        status=status.upper() if status else None, category=category, environment=environment,
        ticket_id=ticket_id, since=timestamp_param(from_, "from"), until=timestamp_param(to, "to"), client_id=client_id,
    )


FiltersDep = Annotated[LogFilters, Depends(get_filters)]


def _text(name: str) -> Any:
    param = next(p for p in TRIAGE_PARAMS if p.name == name)
    # Declared as text and parsed by search.parse_triage, exactly as the list page parses its URL.
    # A number parameter is documented as one (anyOf replaces the generated string|null schema), so a
    # client or fuzzer reads the rule the parser enforces, minimum included.
    number = {"anyOf": [{"type": "number", **({"minimum": param.minimum} if param.minimum is not None else {})}, {"type": "null"}]}
    return Query(max_length=param.max_length * 4, description=param.description,
                 json_schema_extra=number if param.kind == "number" else None)


def get_list_filters(
    base: FiltersDep,
    q: Annotated[str | None, _text("q")] = None,
    tool: Annotated[str | None, _text("tool")] = None,
    error_type: Annotated[str | None, _text("error_type")] = None,
    model: Annotated[str | None, _text("model")] = None,
    confidence_min: Annotated[str | None, _text("confidence_min")] = None,
    confidence_max: Annotated[str | None, _text("confidence_max")] = None,
    execution_time_min: Annotated[str | None, _text("execution_time_min")] = None,
    execution_time_max: Annotated[str | None, _text("execution_time_max")] = None,
) -> LogFilters:
    """The log list's filters: the common ones plus search and triage (services/read/search.py)."""
    given = dict(q=q, tool=tool, error_type=error_type, model=model, confidence_min=confidence_min,
                 confidence_max=confidence_max, execution_time_min=execution_time_min, execution_time_max=execution_time_max)
    return replace(base, **parse_triage(given))


ListFiltersDep = Annotated[LogFilters, Depends(get_list_filters)]
