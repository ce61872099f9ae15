"""What each client's workflows delivered and what the server refused, per hour.

Counting happens in memory on the hot path and is added to the table every few seconds, so a
rejected request costs no database write (and counting still works while the database is down)."""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from datetime import datetime, timezone
from typing import cast

from sqlalchemy import Table

from ...db.dialect import upsert_add
from ...db.engine import Database
from ...db.models import IngestStat
from ...db.types import utcnow
from ...telemetry.metrics import count_logs

log = logging.getLogger("logger_app.ingest_stats")

REASONS = ("auth", "validation", "too_large", "unavailable")
COLUMNS = ("accepted", "duplicates") + tuple(f"rejected_{r}" for r in REASONS)
UNKNOWN_CLIENT = ""  # requests whose key matched no client


def hour_of(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)


class IngestCounter:
    def __init__(self, db: Database):
        self.db = db
        self._pending: dict[tuple[str, datetime], Counter] = defaultdict(Counter)

    def count(self, client_id: str | None, column: str, n: int = 1) -> None:
        if n:
            self._pending[(client_id or UNKNOWN_CLIENT, hour_of(utcnow()))][column] += n
            count_logs(client_id or UNKNOWN_CLIENT, column, n)

    def reject(self, client_id: str | None, reason: str) -> None:
        if reason in REASONS:  # a reason without a column (rate_limited) is not stored
            self.count(client_id, f"rejected_{reason}")
        else:  # ...but an operator still sees it in the metrics
            count_logs(client_id or UNKNOWN_CLIENT, f"rejected_{reason}", 1)

    async def flush(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, defaultdict(Counter)
        table = cast(Table, IngestStat.__table__)
        try:
            async with self.db.writer.begin() as conn:
                for (client_id, hour), counts in pending.items():
                    amounts = {c: counts.get(c, 0) for c in COLUMNS}
                    await conn.execute(upsert_add(self.db.dialect, table, {"client_id": client_id, "hour": hour}, amounts))
        except Exception as exc:
            # Keep the counts for the next try rather than losing what the outage itself caused.
            for key, counts in pending.items():
                self._pending[key].update(counts)
            log.warning("could not store ingest counters yet: %s", type(exc).__name__)
