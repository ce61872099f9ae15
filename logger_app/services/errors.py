"""Errors the services raise; each front door renders them its own way."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FieldProblem:
    field: str
    problem: str


class ServiceError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, details: list[FieldProblem] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []


class ValidationFailed(ServiceError):
    status = 400
    code = "validation_error"


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class TooLarge(ServiceError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(ServiceError):
    status = 415
    code = "unsupported_media_type"


class StorageUnavailable(ServiceError):
    status = 503
    code = "storage_unavailable"


class Conflict(ServiceError):
    status = 409
    code = "conflict"



class RequestTimeout(ServiceError):
    status = 408
    code = "request_timeout"
