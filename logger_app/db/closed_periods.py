"""Closed rollup periods: the contract between the writers, who say when they change one, and the
readers, who keep their sums (services/read/closed_rows.py).

An hour or a day of rollup rows (models.LogRollup) stops changing once it is over, except for a log
that arrives late (its executed_at in a period that ended), a delete (retention, an admin's, an
erasure), a rebuild or a dropped partition. So:

- a reader may keep the rows of a period that ended at least CLOSED_AFTER ago, with the generation
  it read *before* reading them, and reuse them while the database's generation is unchanged;
- every transaction that changes a rollup row of a period that ended at least LATE_AFTER before its
  own clock adds 1 to the generation, in that same transaction (rollup_delta's Delta.apply for
  ingest, deletes and updates; the rebuild; partitions.drop_before).

Why it holds: a reader keeps a period only at a moment >= its end + CLOSED_AFTER; a writer that
changes it without counting decided at a moment < its end + LATE_AFTER and commits within the
writer's timeout (LOGGER_DB_TIMEOUT_SECONDS, 5 s by default), so it committed before any reader
kept the period unless timeout + clock skew + replica lag exceed CLOSED_AFTER - LATE_AFTER (10
minutes). A committed change is in every later snapshot, and a reader reads the generation before
the rows: what it keeps is never older than the generation it keeps them with.

The generation lives in the database, so several processes (and a read replica, which replays the
counter with the rows) agree on it: nothing correct lives in one process's memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Select, Table, select

from .dialect import Dialect, upsert_add
from .models import RollupGeneration
from .rollup_scheme import hour_of

# 15 minutes: the hour just ended is read fresh for its first quarter of an hour, when late logs of
# it still come in (a run that started at 10:59 and logs at 11:02); the writers' 5 minutes leave
# 10 minutes for their timeout, clock skew and replica lag (above).
CLOSED_AFTER = timedelta(minutes=15)
LATE_AFTER = timedelta(minutes=5)
CLOSED = "closed"  # the generation's row

_LENGTH = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
_TABLE = cast(Table, RollupGeneration.__table__)

# One stretch of rollup rows: (period, first start, end) with None for unbounded; hour periods start
# and end on whole UTC hours, day periods on whole UTC days (scope.scoped_rollup_select reads them).
Segment = tuple[str, "datetime | None", "datetime | None"]


def period_end(period: str, start: datetime) -> datetime:
    return start + _LENGTH[period]


def is_late(period: str, start: datetime, now: datetime) -> bool:
    """Whether a change to (period, start)'s rollup rows, made at `now`, must count in the generation."""
    return period_end(period, start) <= now - LATE_AFTER


def closed_until(now: datetime, period: str) -> datetime:
    """The first start of `period` whose rows a reader at `now` must read fresh: a period is closed
    when it ended CLOSED_AFTER ago (start + length <= now - CLOSED_AFTER), i.e. when it starts
    before the period that holds now - CLOSED_AFTER."""
    hour = hour_of(now - CLOSED_AFTER)
    return hour if period == "hour" else hour.replace(hour=0)


def split(segments: Sequence[Segment], now: datetime) -> tuple[list[Segment], list[Segment]]:
    """segments -> (their closed parts, which a reader may keep; the rest), cut at closed_until."""
    closed: list[Segment] = []
    fresh: list[Segment] = []
    for period, lo, hi in segments:
        cut = closed_until(now, period)
        closed_hi = cut if hi is None or cut < hi else hi
        if lo is None or lo < closed_hi:
            closed.append((period, lo, closed_hi))
        fresh_lo = cut if lo is None or lo < cut else lo
        if hi is None or fresh_lo < hi:
            fresh.append((period, fresh_lo, hi))
    return closed, fresh


def bump_part() -> tuple[Table, tuple[str, ...], tuple[str, ...], list[tuple[Any, ...]]]:
    """The generation's +1 as a part of bulk_writes.upsert_add_rows (the writer's rollup statement)."""
    return (_TABLE, ("name",), ("n",), [(CLOSED, 1)])


def bump(dialect: Dialect) -> Any:
    """The generation's +1 as one statement (rebuild, partition drop)."""
    return upsert_add(dialect, _TABLE, {"name": CLOSED}, {"n": 1})


def generation() -> Select:
    """SELECT the generation (no row yet: none, read as 0)."""
    return select(_TABLE.c.n).where(_TABLE.c.name == CLOSED)
