"""One error shape for every API failure: {"error": {"code", "message", "details": [...]}}.

Built here and nowhere else (the dashboard's downloads use it too). Never a stack trace, SQL, DSN
or key in a body: unexpected errors are logged server-side under a request id that the response
carries instead. Refused ingest requests are counted here, once, from the error's `reason`."""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..services.errors import ServiceError
from ..services.faults import is_bad_input, is_storage_error

log = logging.getLogger("logger_app.api")

RETRY_AFTER_SECONDS = "5"
HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    408: "request_timeout", 413: "payload_too_large", 415: "unsupported_media_type", 429: "rate_limited",
    503: "storage_unavailable",
}


# Refusals of these requests are ingest rejections (ingest health); an unknown key is one anywhere.
INGEST_ROUTES = {("POST", "/api/v1/logs"), ("POST", "/api/v1/logs/batch"), ("POST", "/v1/traces")}


def envelope(status: int, code: str, message: str, details: list | None = None, headers: dict | None = None) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details or []}}
    return JSONResponse(body, status_code=status, headers=headers)


def error_detail(exc: ServiceError) -> dict:
    """The inner object of the envelope (also each refused item of a batch)."""
    return {"code": exc.code, "message": exc.message, "details": [{"field": d.field, "problem": d.problem} for d in exc.details]}


def retry_headers(exc: ServiceError) -> dict:
    """Retry-After on 503 (storage) and 429 (a rate-limited key learns when its bucket has a token again)."""
    if exc.status == 503:
        return {"Retry-After": RETRY_AFTER_SECONDS}
    if exc.status == 429:
        return {"Retry-After": str(getattr(exc, "retry_after", 1))}
    return {}


def service_error_response(exc: ServiceError, headers: dict | None = None) -> JSONResponse:
    headers = {**(headers or {}), **retry_headers(exc)}
    return JSONResponse({"error": error_detail(exc)}, status_code=exc.status, headers=headers or None)


def count_rejection(request: Request, exc: ServiceError) -> None:
    if exc.reason is None:
        return
    if exc.reason != "auth" and (request.method, request.scope.get("path", "")) not in INGEST_ROUTES:
        return
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is not None:
        # The caller's client once the key was accepted (api/deps.py); unattributed before that.
        runtime.counter.reject(getattr(request.state, "client_id", None), exc.reason)


def _field_of(loc: tuple) -> str:
    # ('query', 'limit') -> 'limit'; ('body', 'logs', 3) -> 'logs[3]'
    parts = [str(p) for p in loc if p not in ("query", "path", "body", "header")]
    return ".".join(parts) or "request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service(request: Request, exc: ServiceError):
        count_rejection(request, exc)
        return service_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError):
        # FastAPI would answer 422 and echo the input; we answer 400 and only name the fields.
        details = [{"field": _field_of(tuple(e.get("loc", ()))), "problem": e.get("msg", "invalid")} for e in exc.errors()]
        return envelope(400, "validation_error", "invalid request parameters", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException):
        code = HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code
        return envelope(exc.status_code, code, message, headers=getattr(exc, "headers", None))

    async def _unexpected(request: Request, exc: Exception):
        if is_storage_error(exc):
            log.warning("storage unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__)
            return envelope(503, "storage_unavailable", "storage unavailable, retry later",
                            headers={"Retry-After": RETRY_AFTER_SECONDS})
        if is_bad_input(exc):
            # Only the exception's type is logged: its text would carry SQL and the parameters.
            log.warning("database refused a value on %s %s: %s", request.method, request.url.path, type(exc).__name__)
            return envelope(400, "validation_error", "a value in the request cannot be stored or searched",
                            [{"field": "request", "problem": "contains a value the database refuses"}])
        request_id = uuid.uuid4().hex
        log.exception("unexpected error %s on %s %s", request_id, request.method, request.url.path)
        return envelope(500, "internal_error", f"unexpected error; request id {request_id}",
                        headers={"X-Request-ID": request_id})

    # Database and network failures are expected during outages: handle them in the exception
    # middleware, which answers and stops there. A handler for bare Exception runs in Starlette's
    # ServerErrorMiddleware, which re-raises after answering, so every request during an outage
    # would also log a full traceback (and the ASGI test transport would raise).
    for cls in (SQLAlchemyError, OSError, TimeoutError, UnicodeEncodeError, RecursionError, OverflowError):
        app.add_exception_handler(cls, _unexpected)
    app.add_exception_handler(Exception, _unexpected)
