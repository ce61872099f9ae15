"""Reading an untrusted body: content type, size limit (before reading it all), gzip, time limit."""

from __future__ import annotations

import asyncio
import zlib
from typing import Any

from fastapi import Request

from ..services.errors import FieldProblem, RequestTimeout, TooLarge, UnsupportedMediaType, ValidationFailed
from ..services.ingest.in_flight import Reservation
from ..services.ingest.validation import parse_json

BODY_TIMEOUT_SECONDS = 30.0


def _too_large(limit: int) -> TooLarge:
    return TooLarge(f"body larger than {limit} bytes", [FieldProblem("body", f"exceeds {limit} bytes")])


def check_content_type(request: Request) -> None:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json" and not (ctype.startswith("application/") and ctype.endswith("+json")):
        raise UnsupportedMediaType(
            "send Content-Type: application/json", [FieldProblem("content-type", f"is {ctype or 'missing'}")]
        )


async def read_body(request: Request, limit: int, timeout: float = BODY_TIMEOUT_SECONDS,
                    reservation: Reservation | None = None) -> bytes:
    """The body, refused past `limit` (after inflating) or `timeout`; its bytes taken from
    `reservation` (the process's bytes in flight) as they arrive: the declared length first, so a
    body that cannot be held is refused before it is read, then whatever inflating adds."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise _too_large(limit)  # refused without reading a byte of it
        except ValueError:
            raise ValidationFailed("bad Content-Length", [FieldProblem("content-length", "not a number")])
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip", ""):
        raise UnsupportedMediaType("unsupported Content-Encoding", [FieldProblem("content-encoding", f"{encoding} is not supported; use gzip or none")])
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding == "gzip" else None
    chunks: list[bytes] = []
    size = 0
    if reservation is not None and declared is not None:
        reservation.take(int(declared))
    try:
        async with asyncio.timeout(timeout):  # a body trickled byte by byte must not hold a slot forever
            async for chunk in request.stream():
                if inflater is not None:
                    # max_length bounds the output, so a gzip bomb inflates no further than the limit.
                    chunk = inflater.decompress(chunk, limit + 1 - size)
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                if reservation is not None and size > reservation.bytes:
                    reservation.take(size - reservation.bytes)  # inflated past, or no Content-Length
                chunks.append(chunk)
    except TimeoutError:
        raise RequestTimeout("body not received in time", [FieldProblem("body", f"not complete within {timeout:.0f} s")])
    except zlib.error:
        raise ValidationFailed("invalid gzip body", [FieldProblem("body", "not valid gzip")])
    return b"".join(chunks)


def body_timeout(request: Request) -> float:
    """settings.body_timeout_seconds of the serving app (LOGGER_BODY_TIMEOUT_SECONDS)."""
    runtime = getattr(request.app.state, "runtime", None)
    return getattr(getattr(runtime, "settings", None), "body_timeout_seconds", BODY_TIMEOUT_SECONDS)


async def read_json(request: Request, limit: int, reservation: Reservation | None = None) -> Any:
    check_content_type(request)
    return parse_json(await read_body(request, limit, body_timeout(request), reservation))
