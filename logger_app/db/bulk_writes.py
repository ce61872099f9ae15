"""The writer's bulk statements, at driver level, for each backend: the group commit's log inserts
and the rollups' additive upserts (services/ingest/writer.py, rollup_delta.py, the demo loader).

SQLAlchemy's statement building and bind processing were most of the writer's event-loop time
(docs/PERFORMANCE.md): these send fixed SQL, built once per shape, with the parameters built here
as SQLAlchemy would have bound them — per-column arrays through asyncpg on PostgreSQL, one trip to
aiosqlite's thread on SQLite (db/sqlite_thread.py). What differs between the backends otherwise
is in db/dialect.py."""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncConnection

from .dialect import Dialect
from .log_columns import INSERT_COLUMNS, KIND, Kind
from .sqlite_thread import run_in_sqlite_thread

# -- the writer's inserts -------------------------------------------------------------------------

async def insert_logs(dialect: Dialect, conn: AsyncConnection, rows: list[dict[str, Any]]) -> list[int]:
    """Insert `rows` (dicts of INSERT_COLUMNS, as validation's normalise_log makes them) within
    `conn`'s transaction; the ids they got, in the order of `rows`."""
    if dialect is Dialect.POSTGRESQL:
        return await _insert_logs_postgres(conn, rows)
    return await _insert_logs_sqlite(conn, rows)


# The array type each column is sent as: JSON as text (encoded here by _pg_json), parsed into jsonb
# by the SELECT's ::jsonb; text as varchar, what the String(n) columns are.
_PG_ARRAYS = {Kind.TEXT: "varchar", Kind.TIME: "timestamptz", Kind.FLOAT: "float8", Kind.INT: "int4", Kind.JSON: "text"}
# One fixed statement for any number of rows, so asyncpg prepares it once per connection (the
# VALUES lists SQLAlchemy generates differ with every batch size and are prepared again each time).
# Ids come from the sequence in ORDER BY order, so sorting them restores the rows' order: the
# same guarantee SQLAlchemy's own "insertmanyvalues" relies on for PostgreSQL.
_PG_INSERT_LOGS = text(
    "INSERT INTO workflow_logs ({cols}) SELECT {sel} FROM unnest({arrays}) WITH ORDINALITY AS t({cols}, ord) "
    "ORDER BY ord RETURNING id".format(
        cols=", ".join(INSERT_COLUMNS),
        sel=", ".join(f"{c}::jsonb" if KIND[c] is Kind.JSON else c for c in INSERT_COLUMNS),
        arrays=", ".join(f"CAST(:{c} AS {_PG_ARRAYS[KIND[c]]}[])" for c in INSERT_COLUMNS),
    )
)


def _json_text(value: Any) -> str:
    # orjson: 5.4 % of the SQLite batch profile was json.dumps' encoder, ~6x slower. json for what
    # orjson refuses (integers beyond 64 bits). The text differs from json.dumps' (no spaces, UTF-8
    # instead of \u escapes) and nothing depends on it: every reader parses it (the JSON type's
    # json.loads, SQLite's json_extract, PostgreSQL's jsonb), and rows written before keep theirs.
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


def _pg_json(value: Any) -> str | None:
    # JSONB parses the text, so its formatting does not matter.
    return None if value is None else _json_text(value)


async def _insert_logs_postgres(conn: AsyncConnection, rows: list[dict[str, Any]]) -> list[int]:
    order = list(range(len(rows)))
    if any(r["idempotency_key"] is not None for r in rows):
        # Concurrent flushers take unique-index locks in one global order: no deadlocks. (The
        # unique index is log_locator's, db/log_locator.py: its trigger inserts in this order too,
        # reading the statement's rows as they were inserted.)
        order.sort(key=lambda i: (rows[i]["idempotency_key"] is None, rows[i]["client_id"],
                                  rows[i]["idempotency_key"] or ""))
    ordered = [rows[i] for i in order]
    params = {c: [_pg_json(r[c]) for r in ordered] if KIND[c] is Kind.JSON else [r[c] for r in ordered]
              for c in INSERT_COLUMNS}
    inserted = sorted((await conn.execute(_PG_INSERT_LOGS, params)).scalars())
    if len(inserted) != len(rows):  # pragma: no cover - would mean the statement above is wrong
        raise RuntimeError(f"inserted {len(inserted)} rows for {len(rows)}")
    ids = [0] * len(rows)
    for position, new_id in zip(order, inserted):
        ids[position] = new_id
    return ids


# Driver-level SQL (sqlite3's ? placeholders) for exec_driver_sql (_sqlite_insert_rows): the
# parameters built below, no SQLAlchemy bind processing per row.
_UTC = timezone.utc  # without the attribute lookup: twice per row on the ingest path


def _sqlite_time(value: datetime | None) -> str | None:
    # What UtcDateTime and SQLite's DATETIME bind: naive UTC in one fixed width (microseconds always
    # written), so comparing the text compares the times.
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(_UTC)
    return (f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
            f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}")


# Per column, what turns a row's value into the parameter SQLAlchemy would have bound; None: as is.
# JSON as text, None included (stored as 'null', as the JSON type's own serializer does).
_SQLITE_ENCODE: dict[Kind, Callable[[Any], Any]] = {Kind.TIME: _sqlite_time, Kind.JSON: _json_text}
_SQLITE_PARAMS = tuple((c, _SQLITE_ENCODE.get(KIND[c])) for c in INSERT_COLUMNS)


def _sqlite_params(row: dict[str, Any]) -> tuple:
    return tuple([row[c] if encode is None else encode(row[c]) for c, encode in _SQLITE_PARAMS])


@lru_cache(maxsize=16)
def _sqlite_insert_rows(count: int) -> str:
    row = "(" + ", ".join("?" * len(INSERT_COLUMNS)) + ")"
    return "INSERT INTO workflow_logs ({}) VALUES {}".format(", ".join(INSERT_COLUMNS), ", ".join([row] * count))


_SQLITE_CHUNK = 512  # rows per statement: 512 x 18 columns stays far below SQLite's 32,766 parameters


async def _insert_logs_sqlite(conn: AsyncConnection, rows: list[dict[str, Any]]) -> list[int]:
    # INSERT ... RETURNING with sort_by_parameter_order runs one statement per row on SQLite
    # (SQLAlchemy cannot order a multi-row RETURNING there). Multi-row INSERTs instead, then the
    # ids: this transaction holds SQLite's write lock, so nothing else inserts in between and
    # each row got max(rowid) + 1, i.e. they are consecutive and end at last_insert_rowid().
    # Not executemany, which runs one statement per row: the search index's FTS5 trigger
    # (db/search_index.py) then flushed FTS5's pending terms to a new segment at every statement,
    # 240-280 µs a row against 50-60 µs for one statement of 500 rows. Chunks of powers of two, so
    # a handful of statements is prepared and cached whatever the batch size.
    # The parameters are built here, what insert(WorkflowLog) binds (the JSON as text, None as
    # 'null', by _json_text; UtcDateTime + SQLite DATETIME's text form): SQLAlchemy's per-row bind
    # processing was ~5% of the single-log ingest profile. All of it in one trip to the
    # connection's thread (db/sqlite_thread.py says why).
    def work(connection: sqlite3.Connection) -> list[int]:
        position = 0
        while position < len(rows):
            size = min(_SQLITE_CHUNK, 1 << ((len(rows) - position).bit_length() - 1))
            params = [value for r in rows[position:position + size] for value in _sqlite_params(r)]
            connection.execute(_sqlite_insert_rows(size), params)
            position += size
        last = connection.execute("SELECT last_insert_rowid()").fetchone()[0]
        return list(range(last - len(rows) + 1, last + 1))

    return await run_in_sqlite_thread(conn, work)


# (table, key columns, amount columns, rows: tuples of keys + amounts in that order, each key once)
UpsertPart = tuple[Table, Sequence[str], Sequence[str], Sequence[Sequence[Any]]]


async def upsert_add_rows(dialect: Dialect, conn: AsyncConnection, parts: Sequence[UpsertPart]) -> None:
    """upsert_add for many rows of one or more tables: PostgreSQL gets one statement for all of them
    (a data-modifying CTE per table but the last, one round trip), SQLite one executemany per table,
    all in one trip to the connection's thread (db/sqlite_thread.py).

    Driver-level SQL fixed per shape, like insert_logs: building and compiling the SQLAlchemy
    upsert cost ~2 ms per call (bench/rollup_upsert.py: single-log commits went from 1.5 to 5.3 ms
    on SQLite), and on PostgreSQL SQLAlchemy's handling of the 41 array parameters and a second
    round trip cost another ~0.8 ms per commit."""
    parts = [p for p in parts if p[3]]
    if not parts:
        return
    if dialect is Dialect.POSTGRESQL:
        sql = _pg_upsert_sql(tuple((t, tuple(k), tuple(a)) for t, k, a, _ in parts))
        args = [[row[i] for row in rows] for t, k, a, rows in parts for i in range(len(k) + len(a))]
        await conn.exec_driver_sql(sql, tuple(args))
        return
    statements = [(_sqlite_upsert_sql(table, tuple(keys), tuple(amounts)), _sqlite_times(table, tuple(keys), tuple(amounts)), rows)
                  for table, keys, amounts, rows in parts]

    def work(connection: sqlite3.Connection) -> None:  # one trip for every table (db/sqlite_thread.py)
        for sql, times, rows in statements:
            if times:
                rows = [tuple(_sqlite_time(v) if i in times else v for i, v in enumerate(r)) for r in rows]
            connection.executemany(sql, rows)

    await run_in_sqlite_thread(conn, work)


@functools.cache
def _sqlite_times(table: Table, keys: tuple[str, ...], amounts: tuple[str, ...]) -> frozenset[int]:
    """Positions of the timestamp columns among keys + amounts (bound as SQLite's DATETIME text)."""
    return frozenset(i for i, c in enumerate((*keys, *amounts)) if _kind_of(table.c[c]) == "timestamptz")


def _kind_of(column: Any) -> str:
    """The PostgreSQL array element type a column's values travel as."""
    name = type(column.type).__name__
    return {"UtcDateTime": "timestamptz", "Boolean": "bool", "BigInteger": "int8", "Integer": "int4",
            "Double": "float8", "Float": "float8"}.get(name, "varchar")


def _on_conflict(table: Table, keys: tuple[str, ...], amounts: tuple[str, ...]) -> str:
    update = ", ".join(f"{c} = {table.name}.{c} + excluded.{c}" for c in amounts)
    return f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {update}"


@functools.cache
def _sqlite_upsert_sql(table: Table, keys: tuple[str, ...], amounts: tuple[str, ...]) -> str:
    cols = (*keys, *amounts)
    return (f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
            + _on_conflict(table, keys, amounts))


@functools.cache
def _pg_upsert_sql(shape: tuple[tuple[Table, tuple[str, ...], tuple[str, ...]], ...]) -> str:
    statements, n = [], 0
    for i, (table, keys, amounts) in enumerate(shape):
        cols = (*keys, *amounts)
        arrays = ", ".join(f"${n + j + 1}::{_kind_of(table.c[c])}[]" for j, c in enumerate(cols))
        n += len(cols)
        # WITH ORDINALITY ... ORDER BY: rows lock in the order the caller sorted them. The WHERE
        # on the previous part's rows (an InitPlan, run once before this part's first row) makes
        # the parts run in the caller's order: left alone, PostgreSQL runs the main statement
        # before the CTEs it does not read, so the order of tables would depend on which parts a
        # transaction has (one with no latency rows would lock the tables in another order than
        # one with all of them: a deadlock between concurrent flushers). In the caller's order,
        # every transaction locks rollup rows in one global order, table by table.
        after = f"WHERE (SELECT count(*) FROM u{i - 1}) >= 0 " if i else ""
        returning = " RETURNING 1" if i < len(shape) - 1 else ""
        statements.append(f"INSERT INTO {table.name} ({', '.join(cols)}) SELECT {', '.join(cols)} FROM "
                          f"unnest({arrays}) WITH ORDINALITY AS t({', '.join(cols)}, ord) {after}ORDER BY ord "
                          + _on_conflict(table, keys, amounts) + returning)
    ctes = ", ".join(f"u{i} AS ({sql})" for i, sql in enumerate(statements[:-1]))
    return (f"WITH {ctes} " if ctes else "") + statements[-1]
