"""How many request-body bytes this process holds at once, between reading a body and committing it.

A 1 MiB batch is ~6 MiB of Python objects while it is parsed, validated, redacted, encoded and
waits for its commit, and CPython keeps most of what it once allocated: measured here, 32
concurrent 1 MiB batches took the server from 107 MiB idle to 231-306 MiB, and it stayed at
259-290 MiB idle afterwards (docs/PERFORMANCE.md). So the ingest front doors (the log routes and
OTLP) reserve each body's bytes as they read them, and a body that would take the total past the
limit is refused with 503 + Retry-After, which every client we ship or test against retries (the
shipper, the OpenTelemetry exporters). A body is always admitted when nothing else is held, so any
body within the size limits gets through on its own.

Per process on purpose: what it guards is this process's memory, not a shared quota. Check and take
run without an await between them, so two requests on the event loop cannot both pass one check."""

from __future__ import annotations

import ctypes
import ctypes.util
import time
from collections.abc import Callable

from ..errors import FieldProblem, ServiceError

TRIM_EVERY_SECONDS = 2.0  # at most this often, and only when no body is held


def _malloc_trim() -> Callable[[], object] | None:
    """glibc's malloc_trim(0): hands the heap's free pages back to the system. CPython frees a parsed
    batch's objects, but glibc keeps the pages, so a burst of batches left the process at its
    high-water mark for good (measured: 294 MiB idle after 32 concurrent 1 MiB batches). None where
    there is no glibc (musl, macOS): there the budget alone bounds the peak."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return lambda: trim(0)


class Overloaded(ServiceError):
    status = 503
    code = "overloaded"
    reason: str | None = None  # not a refusal of the request's content: ingest health does not count it

    def __init__(self) -> None:
        super().__init__("this server is busy with other requests' bodies; retry shortly",
                         [FieldProblem("body", "more request bytes in flight than LOGGER_MAX_BYTES_IN_FLIGHT")])


class BytesInFlight:
    def __init__(self, limit: int, trim: Callable[[], object] | None = _malloc_trim()) -> None:
        self.limit = limit
        self.held = 0
        self._trim = trim
        self._trimmed_at = 0.0

    def idle(self) -> None:
        """Nothing is held: give freed memory back, at most every TRIM_EVERY_SECONDS (~1 ms a call)."""
        now = time.monotonic()
        if self._trim is not None and now - self._trimmed_at >= TRIM_EVERY_SECONDS:
            self._trimmed_at = now
            self._trim()

    def reservation(self) -> Reservation:
        return Reservation(self)


class Reservation:
    """One request's share; `take` as bytes arrive, `close` when the request is answered."""

    def __init__(self, budget: BytesInFlight) -> None:
        self.budget = budget
        self.bytes = 0

    def take(self, n: int) -> None:
        budget = self.budget
        if budget.held + n > budget.limit and budget.held > self.bytes:  # others hold bytes: wait for them
            raise Overloaded()
        budget.held += n
        self.bytes += n

    def close(self) -> None:
        budget = self.budget
        budget.held -= self.bytes
        if self.bytes and not budget.held:
            budget.idle()
        self.bytes = 0

    def __enter__(self) -> Reservation:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
