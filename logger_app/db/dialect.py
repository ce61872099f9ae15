"""What differs between SQLite and PostgreSQL, in one place.

The backend is decided once, when the Database is made (db/engine.py: `db.dialect`); code that must
say something differently to each backend passes that Dialect to a function here instead of
comparing dialect names or importing sqlalchemy.dialects.* itself.

  locked                                   rows the writer merges into (OTLP traces): FOR UPDATE
  upsert_add                               counters that add up (services/ingest/counters.py)
  period_floor, ensure_sqlite_math         the rollups' rebuild (db/rollup_scheme.py)
  (the writer's bulk statements)           insert_logs, upsert_add_rows: db/bulk_writes.py
  (aggregates)                             time_bucket, percentiles, read_prelude: db/aggregates.py
  (rate limits)                            the shared token bucket's statement: db/rate_buckets.py
  (search)                                 the search index and its queries: db/search_index.py
  (partitions)                             PostgreSQL's monthly partitions of workflow_logs: db/partitions.py
                                           (no-ops on SQLite); where a log is by id and by
                                           idempotency key: db/log_locator.py
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, Table, func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.dml import Insert


class Dialect(StrEnum):
    """The two supported backends, by the names SQLAlchemy gives them.

    A StrEnum rather than a plain Enum: SQLAlchemy's own APIs name dialects by these strings
    (`engine.dialect.name`, `with_variant(..., "postgresql")`), and a comparison with the bare string
    that some branch not merged yet still makes keeps its meaning instead of turning silently false.
    Compare members with `is`."""

    # The embedded default: one writer connection, readers beside it thanks to WAL, timestamps
    # stored as naive-UTC text, no percentile_cont or date_trunc.
    SQLITE = "sqlite"
    # Production: pooled connections, JSONB, percentile_cont and date_trunc, concurrent writers.
    POSTGRESQL = "postgresql"

    @classmethod
    def of(cls, bind: Any) -> Dialect:
        """The backend of an engine or connection (sync or async: all of them have `.dialect`)."""
        return cls._named(bind.dialect.name)

    @classmethod
    def of_url(cls, url: str) -> Dialect:
        """The backend a database URL names, before any engine exists ("sqlite+aiosqlite:///..." is
        SQLITE: the driver after the + does not matter)."""
        return cls._named(make_url(url).get_backend_name())

    @classmethod
    def _named(cls, name: str) -> Dialect:
        try:
            return cls(name)
        except ValueError:
            raise ValueError(f"unsupported database backend {name!r}: use SQLite or PostgreSQL") from None


def locked(dialect: Dialect, query: Select) -> Select:
    """`query` with its rows locked until commit: FOR UPDATE on PostgreSQL; as is on SQLite, whose
    single writer connection already serialises every writing transaction (and which has no FOR UPDATE)."""
    return query.with_for_update() if dialect is Dialect.POSTGRESQL else query


# -- counters -------------------------------------------------------------------------------------

def upsert_add(dialect: Dialect, table: Table, keys: Mapping[str, Any], amounts: Mapping[str, Any]) -> Insert:
    """INSERT the row of `table` whose primary key is `keys`, with `amounts` in their columns; if
    that row exists already, add `amounts` to it instead (SET col = col + excluded.col).

    One statement, so two processes counting into the same row both count (a read-then-write would
    lose one of them). Both backends spell it ON CONFLICT ... DO UPDATE, but SQLAlchemy has it only
    on each dialect's own insert(), hence the choice here."""
    insert = pg_insert if dialect is Dialect.POSTGRESQL else sqlite_insert
    stmt = insert(table).values(**keys, **amounts)
    return stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={c: table.c[c] + stmt.excluded[c] for c in amounts},
    )


def ensure_sqlite_math(sync_conn: Any) -> None:
    """The rollup backfill buckets with ln() and ceil(), which SQLite has only when built with
    SQLITE_ENABLE_MATH_FUNCTIONS (3.35+; Python's usual builds are): without them, register
    Python's, which call the same libm functions the writer's bucketing does."""
    if Dialect.of(sync_conn) is not Dialect.SQLITE:
        return
    try:
        sync_conn.exec_driver_sql("SELECT ln(2.0), ceil(1.5)")
    except DBAPIError:
        raw = sync_conn.connection.dbapi_connection
        raw.create_function("ln", 1, math.log, deterministic=True)
        raw.create_function("ceil", 1, math.ceil, deterministic=True)


def period_floor(dialect: Dialect, column: Any, period: str) -> Any:
    """The start of `column`'s UTC hour or day ('hour' / 'day'), as the column's own type stores it
    (a timestamptz on PostgreSQL; on SQLite the naive-UTC text with microseconds that UtcDateTime
    binds), so it can be INSERTed into a UtcDateTime column and compared with bound datetimes."""
    if dialect is Dialect.POSTGRESQL:
        return func.timezone("UTC", func.date_trunc(period, func.timezone("UTC", column)))
    return func.strftime("%Y-%m-%d %H:00:00.000000" if period == "hour" else "%Y-%m-%d 00:00:00.000000", column)
