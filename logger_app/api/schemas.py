"""Response and request shapes, for the OpenAPI document (the hot path builds plain dicts)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from ..services.public_ids import PATTERN
from ..services.rules import (
    CATEGORY_MAX,
    DEFAULT_ENVIRONMENT,
    ENVIRONMENT_PATTERN,
    IDEMPOTENCY_KEY_MAX,
    TICKET_ID_MAX,
    StatusText,
    anchored,
)

# Logs are named by an opaque public id, never by the row id (which would reveal other clients' volume).
PUBLIC_ID: dict[str, Any] = {"pattern": PATTERN, "description": "public log id: `log_` + 16 lowercase hex digits", "examples": ["log_3f9c0a12be4d7781"]}


class ErrorDetail(BaseModel):
    field: str
    problem: str


class ErrorInfo(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail]


class ErrorBody(BaseModel):
    error: ErrorInfo


class LogIn(BaseModel):
    """One workflow run. Unknown top-level fields are kept in `extra`."""

    model_config = {"extra": "allow"}
    ticket_id: str = Field(min_length=1, max_length=TICKET_ID_MAX)
    status: StatusText
    executed_at: str | None = Field(None, description="ISO-8601; default: time received; no offset means UTC")
    execution_time_seconds: float | None = Field(None, ge=0)
    environment: str = Field(DEFAULT_ENVIRONMENT, pattern=anchored(ENVIRONMENT_PATTERN))
    category: str | None = Field(None, max_length=CATEGORY_MAX)
    metrics: dict[str, Any] | None = None
    payload: dict[str, Any] | None = None
    client_id: str | None = Field(None, description="if given, must equal the key's client")
    idempotency_key: str | None = Field(None, max_length=IDEMPOTENCY_KEY_MAX)


class IngestResult(BaseModel):
    id: str = Field(**PUBLIC_ID)
    duplicate: bool


class BatchItemResult(BaseModel):
    index: int
    id: str | None = Field(None, **PUBLIC_ID)
    duplicate: bool | None = None
    error: ErrorInfo | None = None


class BatchResult(BaseModel):
    results: list[BatchItemResult]


class LogSummary(BaseModel):
    id: str = Field(**PUBLIC_ID)
    client_id: str
    environment: str
    ticket_id: str
    executed_at: str
    execution_time_seconds: float | None
    status: str
    category: str | None
    metrics: dict[str, Any] | None
    created_at: str


class SearchMatch(BaseModel):
    """Where `q` was found: the text before it, the matching text, the text after (plain text)."""

    before: str
    match: str
    after: str


class LogListItem(LogSummary):
    match: SearchMatch | None = Field(None, description="with `q` only: the first match in the log's search text")


class LogFull(LogSummary):
    payload: dict[str, Any] | None
    extra: dict[str, Any] | None
    idempotency_key: str | None


class LogPage(BaseModel):
    items: list[LogListItem]
    next_cursor: str | None = Field(description="opaque; pass as `cursor` for the next page; null on the last")


class CategoryStat(BaseModel):
    category: str | None
    count: int
    errors: int
    error_rate: float | None


class Overview(BaseModel):
    total: int
    success: int
    errors: int
    success_rate: float | None
    avg_execution_time_seconds: float | None
    p50_execution_time_seconds: float | None
    p95_execution_time_seconds: float | None
    by_category: list[CategoryStat]


class Bucket(BaseModel):
    bucket: str
    total: int
    errors: int
    avg_execution_time_seconds: float | None
    p50_execution_time_seconds: float | None
    p95_execution_time_seconds: float | None


class Timeseries(BaseModel):
    bucket: Literal["hour", "day"]
    items: list[Bucket]


class IngestHour(BaseModel):
    client_id: str | None
    hour: str
    accepted: int
    duplicates: int
    rejected: dict[str, int]


class IngestReport(BaseModel):
    items: list[IngestHour]


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {400: "Invalid input (names the field)", 401: "Missing, unknown or revoked API key",
            403: "Disabled client or another client's data", 404: "Not found (also another client's log)",
            408: "Body not received in time", 413: "Body or batch too large", 415: "Content type is not JSON",
            429: "Rate limit for this key exceeded; retry after Retry-After seconds",
            503: "Storage unavailable; retry after Retry-After seconds", 500: "Unexpected; carries a request id"}
    return {c: {"model": ErrorBody, "description": text[c]} for c in codes}
