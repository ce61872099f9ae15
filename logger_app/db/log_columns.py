"""The columns of workflow_logs, once: what the writer inserts, what a summary shows, what a CSV holds.

The table itself is db/models.py's WorkflowLog (and the migrations); tests/test_log_columns.py checks
that this spec names the same columns, in the same order, of the same kinds, so a column added there
and not here fails a test instead of being silently left out of the inserts or the exports.

Derived from it, as names (KIND gives each name's Kind):
  INSERT_COLUMNS   the writer's statements and parameters on both backends (db/bulk_writes.py insert_logs)
  SUMMARY_COLUMNS  a log in list pages and exports (services/read/queries.py summary())
  CSV_COLUMNS      the CSV export's header, in its order (pages/exports.py)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    """How a value is encoded on its way in and out (the SQL types are models.py's)."""

    # The row id: assigned by the database on insert, never sent; it leaves the services as a
    # public id (services/public_ids.py), never as the number.
    ID = "id"
    # Text as sent (String(n) columns; the length limits are validation's).
    TEXT = "text"
    # UtcDateTime: aware UTC datetimes; naive-UTC text on SQLite, timestamptz on PostgreSQL; ISO 8601
    # in summaries.
    TIME = "time"
    # Double precision on both backends.
    FLOAT = "float"
    # A 32-bit integer (iterations is clamped to it on ingest).
    INT = "int"
    # Any JSON value: JSONB on PostgreSQL, JSON text on SQLite, where None is stored as 'null'.
    JSON = "json"


@dataclass(frozen=True)
class LogColumn:
    name: str
    kind: Kind
    # In summary(): list pages, exports, the first part of a full log.
    summary: bool
    # Position in the CSV export (1 = first), None when the CSV leaves it out.
    csv: int | None


LOG_COLUMNS: tuple[LogColumn, ...] = (
    # In models.py's order, which is the table's.
    #         name                      kind        summary csv
    LogColumn("id",                     Kind.ID,    True,   1),
    LogColumn("client_id",              Kind.TEXT,  True,   4),
    LogColumn("environment",            Kind.TEXT,  True,   5),
    LogColumn("ticket_id",              Kind.TEXT,  True,   2),
    LogColumn("executed_at",            Kind.TIME,  True,   10),
    LogColumn("execution_time_seconds", Kind.FLOAT, True,   9),
    LogColumn("status",                 Kind.TEXT,  True,   3),
    LogColumn("category",               Kind.TEXT,  True,   6),
    # Summaries carry the metrics JSON; payload and extra (up to ~1 MiB) only a full log.
    LogColumn("metrics",                Kind.JSON,  True,   None),
    LogColumn("payload",                Kind.JSON,  False,  None),
    LogColumn("extra",                  Kind.JSON,  False,  None),
    LogColumn("idempotency_key",        Kind.TEXT,  False,  None),
    LogColumn("created_at",             Kind.TIME,  True,   11),
    # Copies of metrics["confidence"] / ["iterations"] (models.py says why). The CSV has columns of
    # these names, which pages/exports.py fills from the metrics JSON (summaries do not carry these).
    LogColumn("confidence",             Kind.FLOAT, False,  7),
    LogColumn("iterations",             Kind.INT,   False,  8),
    # Derived from the payload at ingest (services/ingest/derive.py) for the triage filters and
    # search; neither summaries nor exports carry them (the payload they come from is in a full log).
    LogColumn("tools",                  Kind.TEXT,  False,  None),
    LogColumn("error_types",            Kind.TEXT,  False,  None),
    LogColumn("models",                 Kind.TEXT,  False,  None),
    LogColumn("search_text",            Kind.TEXT,  False,  None),
    LogColumn("first_error",            Kind.TEXT,  False,  None),
    LogColumn("tokens",                 Kind.INT,   False,  None),
    LogColumn("derive_version",         Kind.INT,   False,  None),
)

# By name: how the writer encodes a value and summary() shows it.
KIND: dict[str, Kind] = {c.name: c.kind for c in LOG_COLUMNS}
# Every column but the id, which the database assigns: what an ingested row (validation's
# normalise_log) holds and the writer stores, in table order.
INSERT_COLUMNS: tuple[str, ...] = tuple(c.name for c in LOG_COLUMNS if c.kind is not Kind.ID)
# What list pages select (services/read/queries.py), in table order, which is the summaries' key order.
SUMMARY_COLUMNS: tuple[str, ...] = tuple(c.name for c in LOG_COLUMNS if c.summary)
# The CSV export's header (pages/exports.py), in the order of the spec's csv positions.
CSV_COLUMNS: tuple[str, ...] = tuple(c.name for c in sorted((c for c in LOG_COLUMNS if c.csv is not None),
                                                            key=lambda c: c.csv or 0))
