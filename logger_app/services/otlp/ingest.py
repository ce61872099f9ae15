"""An OTLP export -> one log per trace, through the ingest pipeline of POST /api/v1/logs.

Each trace of the request becomes a raw log body (assemble.py), then a row through validation's
normalise_log and the redactor, and goes to the same group-commit writer, keyed by
idempotency_key "otlp:<trace id>" within the client. When the writer finds that key stored, it calls
merge() below inside its transaction, with the stored row locked: the union of stored and new spans
is rebuilt by the same pure functions, so a trace split across exports is one log and a re-sent
batch changes nothing. The reply is sent only after that transaction committed."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ...db.types import utcnow
from ..access.principal import Principal
from ..errors import ServiceError
from ..ingest.pipeline import Ingestor
from ..ingest.validation import normalise_log
from .assemble import assemble, idempotency_key, union
from .decode import Decoded, decode, parse_json_request, parse_protobuf
from .spans import entry_of

log = logging.getLogger("logger_app.otlp")

# Decoding, assembling, validating and redacting cost ~30 µs a span (15 ms for the SDK's 512-span
# batch, measured on the shared 2-core machine). A request larger than this is prepared in a worker
# thread so a 16 MiB export (~100k spans, seconds of CPU) cannot stall the event loop for everyone;
# smaller ones stay on the loop, as the log batch route parses its 1 MiB bodies: the GIL gives a
# thread no parallelism, only the hop and a second request preparing beside this one.
THREAD_ABOVE_BYTES = 256 * 1024


@dataclass
class ExportResult:
    accepted_spans: int
    rejected_spans: int
    message: str | None = None


class OtlpIngestor:
    def __init__(self, ingestor: Ingestor):
        self.ingestor = ingestor

    async def export(self, principal: Principal, raw: bytes, encoding: str) -> ExportResult:
        client_id = self.ingestor.client_of(principal)  # before any work: admin keys are read-only
        now = utcnow()
        if len(raw) > THREAD_ABOVE_BYTES:
            rows, decoded, problems = await asyncio.to_thread(self._prepare, raw, encoding, client_id, now)
        else:
            rows, decoded, problems = self._prepare(raw, encoding, client_id, now)
        rejected = decoded.rejected + sum(n for n, _ in problems)
        messages = decoded.problems + [text for _, text in problems]
        # Ingest health counts each refused trace (and each span refused for its ids) once.
        self.ingestor.counter.count(client_id, "rejected_validation", len(problems) + decoded.rejected)
        if rows:
            await self.ingestor.store(client_id, [row for row, _ in rows], merge=self._merge)
        accepted = sum(n for _, n in rows)
        message = "; ".join(messages[:5]) if rejected else None
        return ExportResult(accepted, rejected, message)

    def _prepare(self, raw: bytes, encoding: str, client_id: str, now: datetime):
        request = parse_protobuf(raw) if encoding == "protobuf" else parse_json_request(raw)
        decoded: Decoded = decode(request)
        rows: list[tuple[dict[str, Any], int]] = []
        problems: list[tuple[int, str]] = []
        for trace_id, spans in decoded.traces.items():
            resource = decoded.resources.get(trace_id, {})
            try:
                rows.append((self._row(trace_id, [entry_of(s, resource) for s in spans], resource, client_id, now), len(spans)))
            except ServiceError as exc:
                detail = exc.details[0] if exc.details else None
                problems.append((len(spans), f"trace {trace_id}: {detail.field} {detail.problem}" if detail else f"trace {trace_id}: {exc.message}"))
        return rows, decoded, problems

    def _row(self, trace_id: str, entries: list[dict[str, Any]], resource: dict[str, Any], client_id: str,
             now: datetime) -> dict[str, Any]:
        body = assemble(trace_id, entries, resource)
        row = normalise_log(body, client_id, now, idempotency_key(trace_id))
        return self.ingestor.redact(row)

    def _merge(self, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any] | None:
        """The stored row of a trace + a new row of it -> the row rebuilt from both, or None when the
        new one brings no span the stored one lacks (then nothing is written)."""
        old_otel = (old.get("payload") or {}).get("otel") or {}
        new_otel = (new.get("payload") or {}).get("otel") or {}
        spans = union(_strip(old_otel.get("spans")), _strip(new_otel.get("spans")))
        if spans is None:
            return None
        trace_id = str(new_otel.get("trace_id") or old_otel.get("trace_id") or "")
        resource = old_otel.get("resource") or new_otel.get("resource") or {}
        try:
            row = self._row(trace_id, spans, resource, new["client_id"], new["created_at"])
        except ServiceError as exc:  # each part passed alone; keep the stored row rather than fail the batch
            log.warning("could not merge spans into trace %s: %s", trace_id, exc.message)
            return None
        row["created_at"] = old.get("created_at") or row["created_at"]  # first received, as for any log
        return row


def _strip(spans: Any) -> list[dict[str, Any]]:
    if not isinstance(spans, list):
        return []
    return [{k: v for k, v in s.items() if k not in ("offset_seconds", "duration_seconds")} for s in spans if isinstance(s, dict)]
