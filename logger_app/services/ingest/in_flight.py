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

from ..errors import FieldProblem, ServiceError


class Overloaded(ServiceError):
    status = 503
    code = "overloaded"
    reason: str | None = None  # not a refusal of the request's content: ingest health does not count it

    def __init__(self) -> None:
        super().__init__("this server is busy with other requests' bodies; retry shortly",
                         [FieldProblem("body", "more request bytes in flight than LOGGER_MAX_BYTES_IN_FLIGHT")])


class BytesInFlight:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0

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
        self.budget.held -= self.bytes
        self.bytes = 0

    def __enter__(self) -> Reservation:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
