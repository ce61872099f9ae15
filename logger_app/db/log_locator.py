"""Where a log is, by id and by idempotency key: what the partitioned table cannot say itself.

A partitioned table's unique indexes must contain the partition key (executed_at), but the
idempotency key must stay unique per client whatever executed_at a re-sent log carries (an OTLP
trace's moves earlier when its root span arrives), and a read by id must know executed_at to touch
one partition. So PostgreSQL keeps log_locator: one narrow row per log, (id) -> (executed_at,
client_id, idempotency_key), with the global unique index on (client_id, idempotency_key).
Statement triggers with transition tables on workflow_logs keep it in the same transaction for
every INSERT, UPDATE and DELETE through the parent (the writer, an OTLP merge, the chunked and
admin deletes, the backfill) without those paths knowing it exists, like the FTS5 triggers on
SQLite (db/search_index.py). A unique violation raised by the insert trigger is the IntegrityError
the writer already retries on. Dropped partitions take their locator rows out explicitly
(db/partitions.py drop_before); rows moved between partitions keep id and executed_at.

SQLite: no locator; workflow_logs keeps its unique index uq_logs_client_idempotency and reads by id
are its rowid. The functions here give each backend its statement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Column, MetaData, Select, String, Table, and_, select, tuple_

from .dialect import Dialect, locked
from .models import WorkflowLog
from .types import UtcDateTime

LOCATOR_TABLE = "log_locator"
UNIQUE_INDEX = "uq_log_locator_client_idempotency"

# Not in models.Base.metadata: the table exists on PostgreSQL only (migration 0008_partitions creates it).
LOCATOR = Table(
    LOCATOR_TABLE, MetaData(),
    Column("id", BigInteger, primary_key=True),
    Column("executed_at", UtcDateTime, nullable=False),
    Column("client_id", String(63), nullable=False),
    Column("idempotency_key", String(200), nullable=True),
)

_FUNCTIONS = {
    "log_locator_ai": "INSERT INTO log_locator (id, executed_at, client_id, idempotency_key) "
                      "SELECT id, executed_at, client_id, idempotency_key FROM new_rows",
    # Only rows whose located columns changed: a backfill's update of derived columns writes nothing.
    "log_locator_au": "UPDATE log_locator l SET executed_at = n.executed_at, client_id = n.client_id, "
                      "idempotency_key = n.idempotency_key FROM new_rows n WHERE l.id = n.id AND "
                      "(l.executed_at, l.client_id, l.idempotency_key) IS DISTINCT FROM "
                      "(n.executed_at, n.client_id, n.idempotency_key)",
    "log_locator_ad": "DELETE FROM log_locator l USING old_rows o WHERE l.id = o.id",
}
_EVENTS = {"log_locator_ai": ("INSERT", "NEW TABLE AS new_rows"),
           "log_locator_au": ("UPDATE", "NEW TABLE AS new_rows"),
           "log_locator_ad": ("DELETE", "OLD TABLE AS old_rows")}


def create_statements(fill: bool) -> list[str]:
    """PostgreSQL DDL: the table (filled from workflow_logs when `fill`), its unique index (built
    after the fill: faster than maintaining it row by row), the trigger functions and triggers."""
    statements = [
        f"CREATE TABLE {LOCATOR_TABLE} (id BIGINT PRIMARY KEY, executed_at TIMESTAMP WITH TIME ZONE NOT NULL, "
        "client_id VARCHAR(63) NOT NULL, idempotency_key VARCHAR(200))",
    ]
    if fill:
        statements.append(f"INSERT INTO {LOCATOR_TABLE} (id, executed_at, client_id, idempotency_key) "
                          "SELECT id, executed_at, client_id, idempotency_key FROM workflow_logs")
    statements.append(f"CREATE UNIQUE INDEX {UNIQUE_INDEX} ON {LOCATOR_TABLE} (client_id, idempotency_key) "
                      "WHERE idempotency_key IS NOT NULL")
    for name, body in _FUNCTIONS.items():
        event, referencing = _EVENTS[name]
        statements.append(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS "
                          f"$$ BEGIN {body}; RETURN NULL; END $$")
        statements.append(f"CREATE TRIGGER {name} AFTER {event} ON workflow_logs REFERENCING {referencing} "
                          f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()")
    return statements


def drop_statements() -> list[str]:
    return [*(f"DROP TRIGGER IF EXISTS {n} ON workflow_logs" for n in _FUNCTIONS),
            *(f"DROP FUNCTION IF EXISTS {n}()" for n in _FUNCTIONS),
            f"DROP TABLE IF EXISTS {LOCATOR_TABLE}"]


def is_locator_object(name: str | None) -> bool:
    return name in (LOCATOR_TABLE, UNIQUE_INDEX)


# -- statements -------------------------------------------------------------------------------------

def by_id(dialect: Dialect, log_id: int) -> Any:
    """A condition naming the log `log_id`. PostgreSQL adds its executed_at from the locator as an
    InitPlan, which prunes at run time: one partition's primary key is probed, the others are
    "never executed" (tests/test_partitions.py reads that from EXPLAIN ANALYZE). One round trip."""
    if dialect is not Dialect.POSTGRESQL:
        return WorkflowLog.id == log_id
    located = select(LOCATOR.c.executed_at).where(LOCATOR.c.id == log_id).scalar_subquery()
    return and_(WorkflowLog.id == log_id, WorkflowLog.executed_at == located)


def stored_keys(dialect: Dialect, idents: Sequence[tuple[str, str | None]]) -> Select:
    """(client_id, idempotency_key, id, executed_at) of the stored logs with these keys: from the
    locator's global unique index on PostgreSQL, from workflow_logs' own on SQLite."""
    table: Any = LOCATOR.c if dialect is Dialect.POSTGRESQL else WorkflowLog.__table__.c
    return select(table.client_id, table.idempotency_key, table.id, table.executed_at).where(
        tuple_(table.client_id, table.idempotency_key).in_(list(idents)))


def locked_keys(dialect: Dialect, idents: Sequence[tuple[str, str | None]]) -> Select:
    """stored_keys, locked until commit in key order (PostgreSQL: the locator rows FOR UPDATE), for
    the writer's merges. Locking the locator row, whose key never changes, is what serialises two
    merges into one trace: the log row's executed_at may change under a concurrent merge (a trace's
    moves earlier), and a lock taken by (id, executed_at) on the log row would then re-check to no
    row and lose the second merge's spans. After the wait, this returns the current executed_at."""
    table: Any = LOCATOR.c if dialect is Dialect.POSTGRESQL else WorkflowLog.__table__.c
    return locked(dialect, stored_keys(dialect, idents).order_by(table.client_id, table.idempotency_key))
