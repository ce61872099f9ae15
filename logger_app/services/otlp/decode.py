"""An OTLP ExportTraceServiceRequest (protobuf or the spec's JSON mapping) -> plain span dicts.

Decoding uses opentelemetry-proto's generated classes (protobuf's upb backend), never a parser of
our own. The JSON mapping differs from protobuf's standard one in one way json_format does not know:
trace and span ids are hex strings, not base64, so they are re-encoded before ParseDict. Enums are
ints and 64-bit ints strings or numbers, which ParseDict reads as is. Unknown fields are ignored,
as the spec requires of receivers."""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from ..errors import FieldProblem, ValidationFailed
from ..ingest.validation import parse_json

STATUS_NAMES = {0: "UNSET", 1: "OK", 2: "ERROR"}
KIND_NAMES = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
_ZERO_TRACE = bytes(16)
_ZERO_SPAN = bytes(8)
_ID_KEYS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")


@dataclass
class Decoded:
    """The spans of one request, grouped by trace id (hex), and the spans refused one by one."""

    traces: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)  # trace id -> first resource seen
    rejected: int = 0
    problems: list[str] = field(default_factory=list)


def _malformed(problem: str) -> ValidationFailed:
    return ValidationFailed("malformed OTLP export request", [FieldProblem("body", problem)])


def parse_protobuf(raw: bytes) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(raw)
    except (DecodeError, RuntimeError, ValueError) as exc:  # upb raises DecodeError; recursion limits RuntimeError
        raise _malformed(f"not a protobuf ExportTraceServiceRequest ({type(exc).__name__})")
    return request


def _hex_to_b64(value: Any, path: str) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return base64.b64encode(bytes.fromhex(value)).decode()
    except ValueError:
        raise _malformed(f"{path} is not a hex string")


def _ids_to_base64(body: Any) -> None:
    """Rewrite the hex ids of spans and links (the OTLP JSON deviation) in place, for ParseDict."""
    if not isinstance(body, dict):
        raise _malformed("must be a JSON object (ExportTraceServiceRequest)")
    for r, resource_spans in enumerate(_list(body, "resourceSpans", "resource_spans")):
        for s, scope_spans in enumerate(_list(resource_spans, "scopeSpans", "scope_spans")):
            for i, span in enumerate(_list(scope_spans, "spans")):
                path = f"resourceSpans[{r}].scopeSpans[{s}].spans[{i}]"
                _fix_ids(span, path)
                for j, link in enumerate(_list(span, "links")):
                    _fix_ids(link, f"{path}.links[{j}]")


def _list(obj: Any, *keys: str) -> list:
    if not isinstance(obj, dict):
        return []
    for key in keys:
        value = obj.get(key)
        if isinstance(value, list):
            return value
    return []


def _fix_ids(obj: Any, path: str) -> None:
    if isinstance(obj, dict):
        for key in _ID_KEYS:
            if key in obj:
                obj[key] = _hex_to_b64(obj[key], f"{path}.{key}")


def parse_json_request(raw: bytes) -> ExportTraceServiceRequest:
    body = parse_json(raw)  # the log route's parser: same refusals (NaN, bad UTF-8, depth) and errors
    _ids_to_base64(body)
    request = ExportTraceServiceRequest()
    try:
        json_format.ParseDict(body, request, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError, RecursionError) as exc:
        raise _malformed(str(exc)[:300] or "not an ExportTraceServiceRequest")
    return request


def any_value(value: Any) -> Any:
    """An AnyValue as plain JSON: arrays become lists, kvlists dicts, bytes base64 text."""
    which = value.WhichOneof("value")
    # Most attributes are text, then numbers: tested in that order (decoding was a quarter of an
    # export's CPU in the profile, most of it in this function).
    if which == "string_value":
        return value.string_value
    if which == "int_value":
        return value.int_value
    if which == "bool_value":
        return value.bool_value
    if which == "double_value":
        number = value.double_value
        return number if math.isfinite(number) else None  # JSON has no NaN; PostgreSQL's jsonb refuses it
    if which == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return None


def attributes(kvs: Any) -> dict[str, Any]:
    return {kv.key: any_value(kv.value) for kv in kvs}


def decode(request: ExportTraceServiceRequest) -> Decoded:
    """Spans as dicts with hex ids, ns times, flattened attribute values, events and status."""
    out = Decoded()
    for resource_spans in request.resource_spans:
        resource = attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope.name or None
            for span in scope_spans.spans:
                if len(span.trace_id) != 16 or span.trace_id == _ZERO_TRACE or len(span.span_id) != 8 or span.span_id == _ZERO_SPAN:
                    out.rejected += 1
                    if len(out.problems) < 5:
                        out.problems.append(f"span {span.name[:100]!r}: trace_id must be 16 bytes and span_id 8, not all zero")
                    continue
                trace_id = binascii.hexlify(span.trace_id).decode()
                parent = span.parent_span_id
                out.traces.setdefault(trace_id, []).append({
                    "span_id": binascii.hexlify(span.span_id).decode(),
                    "parent_span_id": binascii.hexlify(parent).decode() if len(parent) == 8 and parent != _ZERO_SPAN else None,
                    "name": span.name,
                    "span_kind": KIND_NAMES.get(span.kind, str(span.kind)),
                    "start_time_unix_nano": span.start_time_unix_nano,
                    "end_time_unix_nano": span.end_time_unix_nano,
                    "attributes": attributes(span.attributes),
                    "events": [{"name": e.name, "time_unix_nano": e.time_unix_nano, "attributes": attributes(e.attributes)}
                               for e in span.events],
                    "status": {"code": STATUS_NAMES.get(span.status.code, "UNSET"), "message": span.status.message or None},
                    "scope": scope,
                    "resource": resource,
                })
                out.resources.setdefault(trace_id, resource)
    return out
