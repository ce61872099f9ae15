"""The one validation of timestamps from outside: ISO-8601 text -> an aware UTC datetime, or a 400.

Every front door uses it (log bodies, API query parameters, keyset cursors, the dashboard's URL
filters), because the failure it guards against hides well: `0001-01-01T00:00:00+05:00` is valid
ISO-8601, yet names an instant before year 1, and datetime only notices when the value is turned
into UTC. Left to the database layer, that conversion is a 500; here it is a 400 naming the field."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from .errors import FieldProblem, ValidationFailed

MAX_CHARS = 64
OUT_OF_RANGE = "out of range"
EARLIEST = datetime.min.replace(tzinfo=timezone.utc)
LATEST = datetime.max.replace(tzinfo=timezone.utc)
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_DAY = timedelta(days=1)


def _fail(field: str, message: str, problem: str) -> ValidationFailed:
    return ValidationFailed(message, [FieldProblem(field, problem)])


def parse_timestamp(value: Any, field: str) -> datetime:
    """ISO-8601 only (no epoch numbers); no offset means UTC; the result is normalised to UTC."""
    if not isinstance(value, str) or len(value) > MAX_CHARS:
        raise _fail(field, f"{field} must be an ISO-8601 string", "must be an ISO-8601 string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _fail(field, f"{field} is not ISO-8601", "not an ISO-8601 timestamp")
    if parsed.tzinfo is None:  # documented: no offset means UTC
        return parsed.replace(tzinfo=timezone.utc)
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:
        raise _fail(field, f"{field} is out of range", OUT_OF_RANGE)


def parse_bound(value: Any, field: str, *, end: bool = False) -> datetime:
    """A range bound typed by a person: as the end of a range, a bare date (YYYY-MM-DD, what a date
    picker sends) includes that whole day, so it means midnight of the day after."""
    moment = parse_timestamp(value, field)
    if end and _DATE_ONLY.fullmatch(value):
        try:
            return moment + _DAY
        except OverflowError:  # 9999-12-31: the day after does not exist
            raise _fail(field, f"{field} is out of range", OUT_OF_RANGE)
    return moment


def shifted(moment: datetime, delta: timedelta) -> datetime:
    """moment + delta, clamped to what datetime can hold: period arithmetic (the previous period of
    equal length, a minimum window) may step past year 1 or 9999 even from valid bounds."""
    try:
        return moment + delta
    except OverflowError:
        return LATEST if delta > timedelta(0) else EARLIEST
