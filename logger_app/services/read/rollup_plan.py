"""How a rollup read splits a range (plan()): whole days from day rows, whole hours from hour rows,
and each boundary hour the range cuts on its smaller side from raw rows — the part inside (an
edge, added) or, when the part outside is smaller, the hour's rollup rows less the raw rows
outside (a minus range, subtracted). rollups.py reads what a plan says; docs/ROLLUPS.md "Reads"."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from ...db.rollup_scheme import DAY, HOUR, hour_of
from ...db.types import utcnow
from .scope import LogFilters, Segment

_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Plan:
    base: LogFilters  # the filters without their time bounds
    segments: tuple[Segment, ...]  # read from the rollups: whole days, whole hours
    edges: tuple[LogFilters, ...]  # the ragged parts inside the range (since and until both set): raw rows, added
    # The parts of a boundary hour that lie outside the range, when the segments read that hour
    # whole: raw rows, subtracted (below).
    minus: tuple[LogFilters, ...] = ()


def ceil_period(moment: datetime, period: str) -> datetime:
    floor = _floor_period(moment, period)
    return floor if floor == moment else floor + (_HOUR if period == HOUR else _DAY)


def _floor_period(moment: datetime, period: str) -> datetime:
    hour = hour_of(moment)
    return hour if period == HOUR else hour.replace(hour=0)


def _live(lo: datetime, hi: datetime, now: datetime) -> timedelta:
    """How much of [lo, hi) lies before now: a part of an hour after now holds no logs (but a
    clock-skewed client's), so it costs nothing to read."""
    return max(min(hi, now) - lo, timedelta(0))


def plan(filters: LogFilters, days: bool = True, now: datetime | None = None) -> Plan | None:
    """How to split `filters`' range: whole days from day rows (unless days=False: the hourly
    timeseries), the whole hours around them from hour rows, the rest from raw rows. None when no
    whole hour lies inside the range (the raw path is as cheap there) or it reaches the calendar's ends.

    A boundary hour the range cuts is read from raw rows on its smaller side (up to `now`): the part
    inside (an edge, added) or, when the part outside is smaller, the hour's rollup rows less the
    raw rows outside (minus). The hour's rows are rollups like any other (kept once closed), so a
    boundary costs at most half an hour of raw rows, not up to a whole one, and a range that ends
    now none (the current hour's rows less what lies after now): the raw rows are what grows with
    logs an hour (docs/PERFORMANCE.md: 10M logs, all clients, 24 h: ~2 h of raw rows were 136 ms of
    the page's 139). Two equal parts: the one inside, raw."""
    since, until = filters.since, filters.until
    now = now or utcnow()
    try:
        h_lo = ceil_period(since, HOUR) if since else None
        h_hi = _floor_period(until, HOUR) if until else None
        if h_lo is not None and h_hi is not None and h_lo >= h_hi:
            return None
        edges: list[LogFilters] = []
        minus: list[LogFilters] = []
        if since is not None and h_lo is not None and since < h_lo:
            floor = h_lo - _HOUR
            if _live(floor, since, now) < _live(since, h_lo, now):
                minus.append(replace(filters, since=floor, until=since))
                h_lo = floor
            else:
                edges.append(replace(filters, until=h_lo))
        if until is not None and h_hi is not None and h_hi < until:
            ceil = h_hi + _HOUR
            if _live(until, ceil, now) < _live(h_hi, until, now):
                minus.append(replace(filters, since=until, until=ceil))
                h_hi = ceil
            else:
                edges.append(replace(filters, since=h_hi))
        d_lo = ceil_period(h_lo, DAY) if h_lo is not None else None
        d_hi = _floor_period(h_hi, DAY) if h_hi is not None else None
    except OverflowError:
        return None
    segments: list[Segment] = []
    if days and not (d_lo is not None and d_hi is not None and d_lo >= d_hi):
        segments.append((DAY, d_lo, d_hi))
        if h_lo is not None and d_lo is not None and h_lo < d_lo:
            segments.append((HOUR, h_lo, d_lo))
        if h_hi is not None and d_hi is not None and d_hi < h_hi:
            segments.append((HOUR, d_hi, h_hi))
    else:
        segments.append((HOUR, h_lo, h_hi))
    return Plan(replace(filters, since=None, until=None), tuple(segments), tuple(edges), tuple(minus))


def ranges_of(p: Plan) -> list[tuple[LogFilters, int]]:
    """(range, sign): p's edges (1) and its minus ranges (-1), the raw rows a rollup read adds to
    its rollup rows and those it takes off."""
    return [(r, 1) for r in p.edges] + [(r, -1) for r in p.minus]
