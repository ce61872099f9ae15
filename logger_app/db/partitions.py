"""PostgreSQL: workflow_logs as monthly range partitions on executed_at, and what keeps them.

Migration 0008_partitions makes the table partitioned (PARTITION BY RANGE (executed_at), primary key
(id, executed_at)); SQLite keeps its plain table, and every function here is a no-op there, so
services call them without asking which backend they talk to (db/dialect.py's rule).

  workflow_logs_pYYYYMM   one UTC calendar month, [first instant, first instant of the next)
  workflow_logs_default   the safety net: rows of a month that has no partition

Partitions are created ahead (migration: this month to AHEAD_MONTHS ahead; start-up: from last
month) and on demand, when the writer meets a month it has not seen (ensure_for, before its
transaction), for months within WINDOW_PAST_MONTHS back and WINDOW_AHEAD_MONTHS ahead. Rows further out (a client
sending 1970 or 2999) land in the default partition instead of one partition each: any timestamp
is accepted and the number of partitions stays bounded. How rows get out of the default partition:
creating a month's partition moves that month's rows out of it first (PostgreSQL refuses to attach
a range the default still holds rows of), and retention's chunked delete removes its old rows.
So for every attached month partition, the default holds none of its rows, which is what makes
dropping a partition plus its months' rollup rows exact (drop_before).

Retention detaches and drops whole months wholly older than the cutoff (drop_before) and leaves
the boundary month to services/retention.py's chunked delete. The locator (db/log_locator.py)
loses the dropped rows in the same step."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from datetime import datetime, timezone

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from . import closed_periods
from .dialect import Dialect
from .engine import Database

log = logging.getLogger("logger_app.partitions")

PARENT = "workflow_logs"
DEFAULT_PARTITION = "workflow_logs_default"
_MONTHLY = re.compile(r"^workflow_logs_p(\d{4})(\d{2})$")
AHEAD_MONTHS = 3
WINDOW_PAST_MONTHS = 24
WINDOW_AHEAD_MONTHS = 12
# An ATTACH/DETACH waits for running statements on the parent; past this the step is skipped (the
# row goes to the default partition, the month stays to the chunked delete) rather than making
# every query queued behind it wait too.
LOCK_TIMEOUT = "2s"
# pg_advisory_xact_lock key serialising partition DDL across processes (arbitrary, fixed).
_DDL_LOCK = 7_230_612

Month = tuple[int, int]  # (year, month)

# Per database URL, the months this process knows to have a partition (or to belong to the default
# one): the writer's check costs a set lookup per batch instead of a catalogue query.
_KNOWN: dict[str, set[Month]] = {}


def partition_name(month: Month) -> str:
    return f"workflow_logs_p{month[0]:04d}{month[1]:02d}"


def month_of(moment: datetime) -> Month:
    if moment.tzinfo is not timezone.utc:
        moment = moment.astimezone(timezone.utc)
    return moment.year, moment.month


def shift(month: Month, months: int) -> Month:
    index = month[0] * 12 + month[1] - 1 + months
    return index // 12, index % 12 + 1


def bounds(month: Month) -> tuple[datetime, datetime]:
    """[first instant, first instant of the next month), in UTC."""
    nxt = shift(month, 1)
    return (datetime(month[0], month[1], 1, tzinfo=timezone.utc), datetime(nxt[0], nxt[1], 1, tzinfo=timezone.utc))


def in_window(month: Month, now: datetime) -> bool:
    here = month_of(now)
    return shift(here, -WINDOW_PAST_MONTHS) <= month <= shift(here, WINDOW_AHEAD_MONTHS)


def is_partition_object(name: str | None) -> bool:
    """The partitions themselves (not the parent): what a schema comparison with models.py skips."""
    return bool(name) and (name == DEFAULT_PARTITION or _MONTHLY.match(str(name)) is not None)


def _lock_timeout(exc: DBAPIError) -> bool:
    """PostgreSQL's lock_not_available (55P03): LOCK_TIMEOUT passed."""
    return getattr(exc.orig, "sqlstate", None) == "55P03" or "lock timeout" in str(exc)


# -- creating ---------------------------------------------------------------------------------------

async def attached(conn: AsyncConnection) -> dict[str, tuple[datetime, datetime] | None]:
    """The attached partitions: name -> month bounds (None for the default partition)."""
    rows = await conn.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = CAST(:parent AS regclass)"), {"parent": PARENT})
    out: dict[str, tuple[datetime, datetime] | None] = {}
    for (name,) in rows:
        match = _MONTHLY.match(name)
        out[name] = bounds((int(match[1]), int(match[2]))) if match else None
    return out


async def create_month(conn: AsyncConnection, month: Month) -> bool:
    """Attach `month`'s partition in `conn`'s transaction, moving the month's rows out of the default
    partition first; False when it was attached already. Serialised by an advisory lock, so two
    processes meeting the same new month create it once."""
    await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _DDL_LOCK})
    name = partition_name(month)
    if name in await attached(conn):
        return False
    if (await conn.execute(text("SELECT to_regclass(:name)"), {"name": name})).scalar() is not None:
        # A detached leftover of an interrupted retention run (drop_before finishes it): its rows
        # are retention's, so this month's new rows stay in the default partition meanwhile.
        return False
    lo, hi = bounds(month)
    # Not CREATE TABLE ... PARTITION OF: with rows of this month in the default partition that
    # fails. A plain table, the rows moved into it, then ATTACH (SHARE UPDATE EXCLUSIVE on the
    # parent: inserts and reads of other partitions go on; the default partition is locked while
    # PostgreSQL checks it holds no row of the new range). The indexes are built by ATTACH.
    await conn.execute(text(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS)"))
    params = {"lo": lo, "hi": hi}
    # Moved rows keep their ids and times: the locator (db/log_locator.py) and the rollups stay
    # right without being touched (statement triggers on the parent do not fire for the partitions).
    await conn.execute(text(
        f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE executed_at >= :lo AND executed_at < :hi "
        f"RETURNING *) INSERT INTO {name} SELECT * FROM moved"), params)
    await conn.execute(text(f"ALTER TABLE {PARENT} ATTACH PARTITION {name} FOR VALUES FROM "
                            f"('{lo.isoformat()}') TO ('{hi.isoformat()}')"))
    return True


async def ensure_for(db: Database, times: Iterable[datetime]) -> None:
    """Before the writer inserts rows with these executed_at: a partition for each month in the
    window that has none yet. Each month in its own short transaction; a month whose DDL cannot get
    its lock in LOCK_TIMEOUT is left to the default partition (and tried again next batch)."""
    if db.dialect is not Dialect.POSTGRESQL:
        return
    known = _KNOWN.setdefault(db.url, set())
    wanted = {month_of(t) for t in times} - known
    if not wanted:
        return
    now = datetime.now(timezone.utc)
    for month in sorted(wanted):
        if not in_window(month, now):
            known.add(month)  # the default partition's: nothing to create
            continue
        try:
            async with db.writer.begin() as conn:
                await conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
                if await create_month(conn, month):
                    log.info("created partition %s", partition_name(month))
        except DBAPIError as exc:
            if not _lock_timeout(exc):
                raise
            log.warning("partition %s not created (lock timeout): its rows go to the default partition",
                        partition_name(month))
            continue
        known.add(month)


async def ensure_ahead(db: Database, now: datetime | None = None) -> list[str]:
    """At start-up: last month to AHEAD_MONTHS ahead, and every window month with rows in the default
    partition (they move into their new partition). The names created."""
    if db.dialect is not Dialect.POSTGRESQL:
        return []
    now = now or datetime.now(timezone.utc)
    here = month_of(now)
    # From last month: late logs and the demo's week often reach back into it.
    months = {shift(here, i) for i in range(-1, AHEAD_MONTHS + 1)}
    async with db.reader.connect() as conn:
        stranded = await conn.execute(text(
            f"SELECT DISTINCT CAST(extract(year FROM executed_at AT TIME ZONE 'UTC') AS int), "
            f"CAST(extract(month FROM executed_at AT TIME ZONE 'UTC') AS int) FROM {DEFAULT_PARTITION}"))
        months |= {(y, m) for y, m in stranded if in_window((y, m), now)}
    created = []
    for month in sorted(months):
        async with db.writer.begin() as conn:
            if await create_month(conn, month):
                created.append(partition_name(month))
        _KNOWN.setdefault(db.url, set()).add(month)
    return created


# -- dropping (retention) -------------------------------------------------------------------------

async def drop_before(db: Database, cutoff: datetime) -> tuple[int, list[str]]:
    """Retention on PostgreSQL: detach and drop every month partition wholly older than `cutoff`,
    with its rows' rollup and locator rows. (logs dropped, partition names); (0, []) on SQLite.

    Two transactions per month. 1: DETACH (ACCESS EXCLUSIVE on the parent, held only until this
    commit, at most LOCK_TIMEOUT waited for) and DELETE the month's hour and day rollup rows: the
    partition holds every log of the month (the default holds none of an attached month's rows), so
    this takes out exactly what those logs added, and months start on UTC days. 2: the detached
    table's locator rows, then DROP. An interruption between them leaves a detached
    workflow_logs_pYYYYMM table, which the next run finishes (its rollups are already gone)."""
    if db.dialect is not Dialect.POSTGRESQL:
        return 0, []
    from .log_locator import LOCATOR_TABLE
    from .models import LogLatencyRollup, LogLatencyRollupAll, LogRollup, LogRollupAll

    async with db.reader.connect() as conn:
        parts = await attached(conn)
        leftovers = [n for (n,) in await conn.execute(text(
            "SELECT relname FROM pg_class WHERE relkind = 'r' AND NOT relispartition "
            "AND relname ~ '^workflow_logs_p[0-9]{6}$'"))]
    old = sorted(n for n, b in parts.items() if b is not None and b[1] <= cutoff)
    detached = list(leftovers)
    for name in old:
        lo, hi = parts[name] or (cutoff, cutoff)
        try:
            async with db.writer.begin() as conn:
                await conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _DDL_LOCK})
                if name not in await attached(conn):  # another prune took it meanwhile
                    continue
                started = time.perf_counter()
                await conn.execute(text(f"ALTER TABLE {PARENT} DETACH PARTITION {name}"))
                rollup_rows = 0
                for table in (LogRollup.__tablename__, LogLatencyRollup.__tablename__, LogRollupAll.__tablename__,
                              LogLatencyRollupAll.__tablename__):
                    rollup_rows += (await conn.execute(text(f"DELETE FROM {table} WHERE period IN ('hour', 'day') "
                                                            "AND start >= :lo AND start < :hi"), {"lo": lo, "hi": hi})).rowcount
                await conn.execute(closed_periods.bump(Dialect.POSTGRESQL))  # those months' kept sums are gone too
            # How long the parent was locked (commit included): ingest and reads waited this long.
            log.info("detached %s with %d rollup rows in %.0f ms", name, rollup_rows, (time.perf_counter() - started) * 1000)
        except DBAPIError as exc:
            if not _lock_timeout(exc):
                raise
            log.warning("partition %s not detached (lock timeout): the chunked delete prunes it", name)
            continue
        detached.append(name)
        match = _MONTHLY.match(name)
        if match:
            _KNOWN.get(db.url, set()).discard((int(match[1]), int(match[2])))
    total = 0
    for name in detached:
        async with db.writer.begin() as conn:
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _DDL_LOCK})
            if (await conn.execute(text("SELECT to_regclass(:name)"), {"name": name})).scalar() is None:
                continue  # another prune dropped it meanwhile
            total += int((await conn.execute(text(f"SELECT count(*) FROM {name}"))).scalar_one())
            await conn.execute(text(f"DELETE FROM {LOCATOR_TABLE} l USING {name} p WHERE l.id = p.id"))
            await conn.execute(text(f"DROP TABLE {name}"))
        log.info("dropped partition %s", name)
    return total, detached
