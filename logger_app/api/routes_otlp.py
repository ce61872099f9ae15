"""POST /v1/traces: OTLP/HTTP trace export, the front door for OpenTelemetry-instrumented agents.

Exporters append /v1/traces to OTEL_EXPORTER_OTLP_ENDPOINT, so the route sits at the root, not under
/api/v1. The order is the log routes': the key (before a byte of the body is read), the content
type, the body (bounded, gzip inflated under LOGGER_OTLP_MAX_BODY_BYTES), then services/otlp.

Replies follow the OTLP spec (specification/protocol/otlp.md, "OTLP/HTTP Response"): in the
request's encoding, an ExportTraceServiceResponse on success (partial_success when spans were
refused), and for every 4xx/5xx a google.rpc.Status: binary for protobuf requests, because an
exporter that sent protobuf parses the error body as protobuf (a peer that answered JSON there broke
exporters); for JSON requests the Status's code and message beside our usual {"error": {...}}
envelope, one object that both readers understand (OTLP/JSON readers ignore unknown fields)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from google.protobuf import json_format
from google.protobuf.any_pb2 import Any as AnyMessage
from google.rpc import code_pb2, error_details_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from ..runtime import Runtime
from ..services.errors import FieldProblem, ServiceError, UnsupportedMediaType
from ..services.otlp.ingest import ExportResult
from .body import body_timeout, read_body
from .deps import get_principal
from .errors import count_rejection, error_detail, retry_headers

router = APIRouter(tags=["otlp"])
PROTOBUF, JSON = "application/x-protobuf", "application/json"
ENCODINGS = {PROTOBUF: "protobuf", JSON: "json"}
# The spec leaves Status.code to the server (clients must not act on it): the gRPC code of each status.
GRPC_CODES = {400: code_pb2.INVALID_ARGUMENT, 401: code_pb2.UNAUTHENTICATED, 403: code_pb2.PERMISSION_DENIED,
              408: code_pb2.DEADLINE_EXCEEDED, 413: code_pb2.RESOURCE_EXHAUSTED, 415: code_pb2.INVALID_ARGUMENT,
              429: code_pb2.RESOURCE_EXHAUSTED, 503: code_pb2.UNAVAILABLE}
BODY = {"required": True, "content": {PROTOBUF: {"schema": {"type": "string", "format": "binary",
                                                             "description": "ExportTraceServiceRequest"}},
                                      JSON: {"schema": {"type": "object", "description": "ExportTraceServiceRequest (OTLP JSON mapping)"}}}}


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


@router.post(
    "/v1/traces",
    summary="Store OpenTelemetry traces (OTLP/HTTP): one log per trace",
    responses={200: {"description": "ExportTraceServiceResponse, in the request's encoding; committed"},
               **{code: {"description": "google.rpc.Status, in the request's encoding"} for code in (400, 401, 403, 408, 413, 415, 429, 503)}},
    openapi_extra={"requestBody": BODY},
)
async def export_traces(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    ctype = _content_type(request)
    encoding = ENCODINGS.get(ctype)
    try:
        caller = await get_principal(request, runtime)
        if encoding is None:
            raise UnsupportedMediaType(f"send Content-Type: {PROTOBUF} or {JSON}", [FieldProblem("content-type", f"is {ctype or 'missing'}")])
        with runtime.in_flight.reservation() as reservation:  # held until the export is committed
            raw = await read_body(request, runtime.settings.otlp_max_body_bytes, body_timeout(request), reservation)
            result = await runtime.otlp.export(caller, raw, encoding)
    except ServiceError as exc:
        count_rejection(request, exc)
        return _error(exc, encoding)
    return _success(result, encoding)


def _success(result: ExportResult, encoding: str) -> Response:
    reply = ExportTraceServiceResponse()
    if result.rejected_spans:
        reply.partial_success.rejected_spans = result.rejected_spans
        reply.partial_success.error_message = result.message or "some spans were refused"
    if encoding == "protobuf":
        return Response(reply.SerializeToString(), media_type=PROTOBUF)
    return JSONResponse(json_format.MessageToDict(reply))


def _error(exc: ServiceError, encoding: str | None) -> Response:
    code = GRPC_CODES.get(exc.status, code_pb2.UNKNOWN)
    headers = retry_headers(exc)
    if encoding == "protobuf":
        status = status_pb2.Status(code=code, message=exc.message)
        if exc.details:
            detail = AnyMessage()
            detail.Pack(error_details_pb2.BadRequest(field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=d.field, description=d.problem) for d in exc.details]))
            status.details.append(detail)
        return Response(status.SerializeToString(), status_code=exc.status, media_type=PROTOBUF, headers=headers)
    return JSONResponse({"code": code, "message": exc.message, "error": error_detail(exc)}, status_code=exc.status,
                        headers=headers or None)
