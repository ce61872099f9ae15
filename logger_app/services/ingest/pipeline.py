"""Ingest: validate, redact, store (group commit), count. The HTTP layer only moves bytes in and out.

Refusals are raised, never counted here: each front door counts a refused request once, from the
error's `reason` (api/errors.py). What is counted here are outcomes of requests that got in:
accepted, duplicates, and the items of a batch that were refused while the rest was stored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...db.types import utcnow
from ..access.principal import Principal
from ..errors import FieldProblem, ReadOnlyKey, ServiceError, TooLarge, ValidationFailed
from ..public_ids import PublicIds
from .counters import IngestCounter
from .redaction import Redactor
from .validation import normalise_log
from .writer import LogWriter, Merge, Stored


@dataclass
class Ingestor:
    writer: LogWriter
    counter: IngestCounter
    max_batch_items: int
    public_ids: PublicIds  # results name logs by public id; the row id stays inside
    redactor: Redactor | None = None

    @staticmethod
    def client_of(principal: Principal) -> str:
        if principal.client_id is None:
            # Logs always belong to a client, and the client comes from the key: provider keys read.
            raise ReadOnlyKey("admin keys are read-only; ingest with a client's key")
        return principal.client_id

    async def ingest_one(self, principal: Principal, body: Any, idempotency_key: str | None) -> dict[str, Any]:
        """{"id": public id, "duplicate": bool}, once committed."""
        client_id = self.client_of(principal)
        row = normalise_log(body, client_id, utcnow(), idempotency_key)
        (stored,) = await self._write(client_id, [row])
        return {"id": self.public_ids.encode(stored.id), "duplicate": stored.duplicate}

    async def ingest_batch(self, principal: Principal, body: Any) -> tuple[list[dict], bool]:
        """Store every valid item in one transaction; returns per-item results and whether all passed.

        A refused item's result holds its ServiceError under "error" (the front door renders it)."""
        client_id = self.client_of(principal)
        if not isinstance(body, dict) or not isinstance(body.get("logs"), list):
            raise ValidationFailed("body must be {\"logs\": [...]}", [FieldProblem("logs", "must be an array of log objects")])
        items = body["logs"]
        if len(items) > self.max_batch_items:
            raise TooLarge(f"at most {self.max_batch_items} logs per batch",
                           [FieldProblem("logs", f"has {len(items)} items, the limit is {self.max_batch_items}")])
        now = utcnow()
        results: list[dict] = [{} for _ in items]
        rows, positions = [], []
        for index, item in enumerate(items):
            try:
                rows.append(normalise_log(item, client_id, now, prefix=f"logs[{index}]."))
                positions.append(index)
            except ServiceError as exc:
                results[index] = {"index": index, "error": exc}
        rejected = len(items) - len(rows)
        if rejected:
            self.counter.count(client_id, "rejected_validation", rejected)
        if rows:
            for index, stored in zip(positions, await self._write(client_id, rows)):
                results[index] = {"index": index, "id": self.public_ids.encode(stored.id), "duplicate": stored.duplicate}
        return results, rejected == 0

    def redact(self, row: dict) -> dict:
        return self.redactor.apply(row) if self.redactor is not None else row

    async def store(self, client_id: str, rows: list[dict], merge: Merge | None = None) -> list[Stored]:
        """Rows already validated and redacted (other front doors, e.g. OTLP traces) -> stored and
        counted like posted logs. `merge` rebuilds a row whose idempotency key is stored already
        (writer.LogWriter.write); a merge that adds something counts as accepted."""
        stored = await self.writer.write(rows, merge)
        dupes = sum(s.duplicate for s in stored)
        self.counter.count(client_id, "accepted", len(stored) - dupes)
        self.counter.count(client_id, "duplicates", dupes)
        return stored

    async def _write(self, client_id: str, rows: list[dict]) -> list[Stored]:
        if self.redactor is not None:
            rows = [self.redactor.apply(row) for row in rows]
        stored = await self.writer.write(rows)
        dupes = sum(s.duplicate for s in stored)
        self.counter.count(client_id, "accepted", len(stored) - dupes)
        self.counter.count(client_id, "duplicates", dupes)
        return stored

