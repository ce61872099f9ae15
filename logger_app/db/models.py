"""Tables. Migrations in db/migrations must match these (a test compares them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .types import BigIntPK, JSONType, UtcDateTime, utcnow

# Named constraints let Alembic's batch mode on SQLite drop and recreate them by name.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Client(Base):
    __tablename__ = "clients"
    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # NULL client_id means a provider-level admin key that reads every client.
    client_id: Mapped[str | None] = mapped_column(ForeignKey("clients.id"), nullable=True)
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class WorkflowLog(Base):
    """One log. On PostgreSQL the table is partitioned by month on executed_at and its primary key is
    (id, executed_at) (migration 0008_partitions, db/partitions.py); the model keeps id alone as the identity,
    which it still is: one sequence numbers every row."""

    __tablename__ = "workflow_logs"
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(String(63))
    environment: Mapped[str] = mapped_column(String(32))
    ticket_id: Mapped[str] = mapped_column(String(256))
    executed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    execution_time_seconds: Mapped[float | None] = mapped_column(nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(128), nullable=True)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Copies of metrics["confidence"] / metrics["iterations"] when those are finite numbers (the
    # JSON stays as sent): plain columns can sit in the covering index, JSON paths cannot.
    confidence: Mapped[float | None] = mapped_column(Double, nullable=True)
    iterations: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Derived at ingest from the payload's trace (services/ingest/derive.py): tool, error-type and
    # model names as "\nname\nname\n" (filters match one name with LIKE), and the bounded text search
    # reads. Its index is not declared here: it differs per backend (an FTS5 table with triggers on
    # SQLite, a pg_trgm GIN index on PostgreSQL), so the migrations own it (db/search_index.py).
    tools: Mapped[str | None] = mapped_column(Text, nullable=True)
    error_types: Mapped[str | None] = mapped_column(Text, nullable=True)
    models: Mapped[str | None] = mapped_column(Text, nullable=True)
    search_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The first failed step's message (cut to derive.FIRST_ERROR_CHARS) and the run's input+output
    # tokens, for the list's triage columns; derive_version says which derive.py filled the row, so
    # the backfill finds rows stored before a column existed (NULL is also a real "no error").
    first_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    derive_version: Mapped[int | None] = mapped_column(Integer, nullable=True)

    __table_args__ = (
        # Newest-first keyset pages for one client, and for the provider across all clients.
        Index("ix_logs_client_time", "client_id", "executed_at", "id"),
        Index("ix_logs_time", "executed_at", "id"),
        Index("ix_logs_client_status_time", "client_id", "status", "executed_at", "id"),
        Index("ix_logs_client_ticket", "client_id", "ticket_id"),
        # Covers the overview, timeseries and distributions aggregates so they never touch the
        # heap (distributions read JSON from the heap: 2.1 s for one client at 1M rows).
        Index(
            "ix_logs_client_time_cover",
            "client_id",
            "executed_at",
            "status",
            "execution_time_seconds",
            "category",
            "environment",
            "confidence",
            "iterations",
        ),
        # SQLite only: on PostgreSQL the table is partitioned (db/partitions.py), a unique index there
        # would have to contain executed_at, so the global one is log_locator's (db/log_locator.py).
        Index(
            "uq_logs_client_idempotency",
            "client_id",
            "idempotency_key",
            unique=True,
            sqlite_where=text("idempotency_key IS NOT NULL"),
        ).ddl_if(dialect="sqlite"),
    )


class RateBucket(Base):
    """One token bucket per API key and limit kind ("ingest", "read"), shared by every process on
    PostgreSQL (services/access/ratelimit.py). Times are the database's clock, in epoch seconds, so
    processes on machines with skewed clocks still agree. Unused on SQLite (one process).
    UNLOGGED on PostgreSQL (migration 0003): no WAL flush per limited request."""

    __tablename__ = "rate_buckets"
    key_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    tokens: Mapped[float] = mapped_column(Double)
    updated_at: Mapped[float] = mapped_column(Double)
    allowed: Mapped[bool] = mapped_column(Boolean)


class IngestStat(Base):
    """Per client and hour: what the server accepted and what it refused, and why."""

    __tablename__ = "ingest_stats"
    # '' stands for requests whose key matched no client (we cannot attribute them).
    client_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    accepted: Mapped[int] = mapped_column(BigInteger, default=0)
    duplicates: Mapped[int] = mapped_column(BigInteger, default=0)
    rejected_auth: Mapped[int] = mapped_column(BigInteger, default=0)
    rejected_validation: Mapped[int] = mapped_column(BigInteger, default=0)
    rejected_too_large: Mapped[int] = mapped_column(BigInteger, default=0)
    rejected_unavailable: Mapped[int] = mapped_column(BigInteger, default=0)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))  # 'admin' or 'client'
    client_id: Mapped[str | None] = mapped_column(ForeignKey("clients.id"), nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    dark_mode: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # Dashboard preferences (services/access/preferences.py): e.g. the ticket list's columns.
    preferences: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class UserSession(Base):
    """Dashboard sessions live in the database so every process behind a proxy sees them."""

    __tablename__ = "sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class LoginAttempt(Base):
    __tablename__ = "login_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    success: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)


class AuditEvent(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(256))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)


class _RollupAmounts:
    """The additive columns of LogRollup and LogRollupAll (rollup_scheme.AMOUNTS, in this order),
    declared once; a mixin's columns follow the key columns of the class that uses it."""

    n: Mapped[int] = mapped_column(BigInteger, default=0)
    exec_n: Mapped[int] = mapped_column(BigInteger, default=0)  # logs with an execution time
    exec_sum: Mapped[float] = mapped_column(Double, default=0.0)
    # Confidence buckets [0, .1), ..., [.9, 1] (c0..c9) and iterations 0..14, 15+ (i0..i15), as the
    # distributions chart draws them; the outcome split is the key's status.
    c0: Mapped[int] = mapped_column(BigInteger, default=0)
    c1: Mapped[int] = mapped_column(BigInteger, default=0)
    c2: Mapped[int] = mapped_column(BigInteger, default=0)
    c3: Mapped[int] = mapped_column(BigInteger, default=0)
    c4: Mapped[int] = mapped_column(BigInteger, default=0)
    c5: Mapped[int] = mapped_column(BigInteger, default=0)
    c6: Mapped[int] = mapped_column(BigInteger, default=0)
    c7: Mapped[int] = mapped_column(BigInteger, default=0)
    c8: Mapped[int] = mapped_column(BigInteger, default=0)
    c9: Mapped[int] = mapped_column(BigInteger, default=0)
    i0: Mapped[int] = mapped_column(BigInteger, default=0)
    i1: Mapped[int] = mapped_column(BigInteger, default=0)
    i2: Mapped[int] = mapped_column(BigInteger, default=0)
    i3: Mapped[int] = mapped_column(BigInteger, default=0)
    i4: Mapped[int] = mapped_column(BigInteger, default=0)
    i5: Mapped[int] = mapped_column(BigInteger, default=0)
    i6: Mapped[int] = mapped_column(BigInteger, default=0)
    i7: Mapped[int] = mapped_column(BigInteger, default=0)
    i8: Mapped[int] = mapped_column(BigInteger, default=0)
    i9: Mapped[int] = mapped_column(BigInteger, default=0)
    i10: Mapped[int] = mapped_column(BigInteger, default=0)
    i11: Mapped[int] = mapped_column(BigInteger, default=0)
    i12: Mapped[int] = mapped_column(BigInteger, default=0)
    i13: Mapped[int] = mapped_column(BigInteger, default=0)
    i14: Mapped[int] = mapped_column(BigInteger, default=0)
    i15: Mapped[int] = mapped_column(BigInteger, default=0)


class LogRollup(_RollupAmounts, Base):
    """Per client, UTC hour (and UTC day), environment, category and status: what the dashboards add up.

    Every log is counted twice, in its hour's row and in its day's row (period 'hour' / 'day', start
    = the hour's or day's first instant): a 30-day read sums ~30 day rows per key instead of ~720
    hour rows, so its cost stops growing with the traffic once every key exists (docs/ROLLUPS.md).
    Kept true in the writer's transaction (services/ingest/rollup_delta.py), by deletes and by
    `logger-app rollups rebuild`. category is NULL-able on logs but a primary key column cannot be:
    '' plus no_category=True stands for NULL, so '' stays a category."""

    __tablename__ = "log_rollups"
    client_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    period: Mapped[str] = mapped_column(String(4), primary_key=True)  # 'hour' or 'day'
    start: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    environment: Mapped[str] = mapped_column(String(32), primary_key=True)
    category: Mapped[str] = mapped_column(String(128), primary_key=True)
    no_category: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)

    # Admin reads span every client: period and start first let them range-scan the window.
    # SQLite: WITHOUT ROWID makes the table its primary key's b-tree, so a client's range is one
    # sequential read instead of index entries plus a row lookup each.
    __table_args__ = (Index("ix_log_rollups_period_start", "period", "start"), {"sqlite_with_rowid": False})


class LogLatencyRollup(Base):
    """The execution-time histogram of LogRollup's logs, one row per non-empty log-scale bucket
    (db/rollup_scheme.py). Keyed without category: docs/ROLLUPS.md says why (and what falls back)."""

    __tablename__ = "log_latency_rollups"
    client_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    period: Mapped[str] = mapped_column(String(4), primary_key=True)
    start: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    environment: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (Index("ix_log_latency_rollups_period_start", "period", "start"), {"sqlite_with_rowid": False})


class LogRollupAll(_RollupAmounts, Base):
    """LogRollup summed over every client: what an admin's "all clients" dashboard adds up.

    At 1M logs over 20 clients the per-client rows hardly compress (~1 log a row: 1,011,965 rollup
    rows), so an all-clients 30-day page summed 23k main and 127k latency rows (PostgreSQL ~60 + 75
    ms, SQLite ~800 ms in all). Summed over clients it is ~1/20 of that. Maintained with the
    per-client rows in the same statement (services/ingest/rollup_delta.py), rebuilt from them by
    `rollups rebuild`; only scope.rollup_tables hands it out, to a caller who may see every client
    and asked for all of them."""

    __tablename__ = "log_rollups_all"
    period: Mapped[str] = mapped_column(String(4), primary_key=True)
    start: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    environment: Mapped[str] = mapped_column(String(32), primary_key=True)
    category: Mapped[str] = mapped_column(String(128), primary_key=True)
    no_category: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)

    __table_args__ = ({"sqlite_with_rowid": False},)


class LogLatencyRollupAll(Base):
    """LogLatencyRollup summed over every client and both outcomes: the dashboards' latency
    histograms never split by status (a read that filters on status uses LogLatencyRollup), and
    without status an all-clients month is ~30 x 3 environments x ~110 buckets rows."""

    __tablename__ = "log_latency_rollups_all"
    period: Mapped[str] = mapped_column(String(4), primary_key=True)
    start: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    environment: Mapped[str] = mapped_column(String(32), primary_key=True)
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = ({"sqlite_with_rowid": False},)


class RollupGeneration(Base):
    """A counter per kind of rollup change; one row today, 'closed': bumped by every transaction
    that changes a rollup row of a period that ended a while ago (db/closed_periods.py), so a process
    that keeps closed periods' sums can tell, from the database, whether they still hold."""

    __tablename__ = "rollup_generations"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, nullable=False)
