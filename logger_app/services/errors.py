"""Every error a service raises, declared once: HTTP status, machine code, and the ingest
rejection `reason` it is counted under (None: not an ingest rejection).

The front doors render them (api/errors.py builds the one JSON envelope; pages show `message`),
and the API counts a rejection from `reason` in one place, so no layer maps statuses back to
reasons. The reasons are the ingest_stats columns (`rejected_<reason>`)."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class FieldProblem:
    field: str
    problem: str


class ServiceError(Exception):
    status: int = 500
    code: str = "internal_error"
    reason: str | None = None

    def __init__(self, message: str, details: list[FieldProblem] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []


class ValidationFailed(ServiceError):
    status = 400
    code = "validation_error"
    reason: str | None = "validation"


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"
    reason: str | None = "auth"


class Forbidden(ServiceError):
    """A key or account that may not do this at all (e.g. a disabled client's key)."""

    status = 403
    code = "forbidden"
    reason: str | None = "auth"


class ReadOnlyKey(Forbidden):
    """An admin (provider) key tried to ingest: not a failed authentication, so not counted."""

    reason: str | None = None


class AdminOnly(Forbidden):
    """A client's key asked for something only the provider may see (GET /metrics)."""

    reason: str | None = None

    def __init__(self, what: str):
        super().__init__(f"{what} needs an admin API key")


class AccessDenied(Forbidden):
    """The principal asked for a client it may not see."""

    reason: str | None = None

    def __init__(self, client_id: str = ""):
        super().__init__("this key may not read that client", [FieldProblem("client_id", "not your client")])
        self.client_id = client_id


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class RequestTimeout(ServiceError):
    status = 408
    code = "request_timeout"
    reason: str | None = "validation"  # counted with malformed requests, as a body that never arrived whole


class TooLarge(ServiceError):
    status = 413
    code = "payload_too_large"
    reason: str | None = "too_large"


class UnsupportedMediaType(ServiceError):
    status = 415
    code = "unsupported_media_type"
    reason: str | None = "validation"


class RateLimited(ServiceError):
    """Over a per-key rate limit; `retry_after` whole seconds until the bucket has a token again."""

    status = 429
    code = "rate_limited"
    reason: str | None = "rate_limited"  # no ingest_stats column: the counter ignores it (docs/RELIABILITY.md)

    def __init__(self, retry_after: float):
        seconds = max(1, math.ceil(retry_after))
        super().__init__(f"too many requests for this API key; retry after {seconds} s",
                         [FieldProblem("api_key", "rate limit exceeded")])
        self.retry_after = seconds


class LoginBusy(ServiceError):
    """More password checks at once than this process runs (sessions.MAX_CONCURRENT_VERIFIES)."""

    status = 429
    code = "rate_limited"

    def __init__(self) -> None:
        super().__init__("too many sign-ins at once; try again in a moment")


class StorageUnavailable(ServiceError):
    status = 503
    code = "storage_unavailable"
    reason: str | None = "unavailable"
