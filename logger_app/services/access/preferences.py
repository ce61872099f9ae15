"""Per-user dashboard preferences (users.preferences, a JSON object), e.g. the ticket list's columns.

Stored in the database, not the browser, so a choice follows the user to another browser or machine
and every process behind a proxy sees it. Only declared keys with values of their declared shape are
stored: the object is read back into pages, so nothing a request made up may land in it."""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update

from ...db.engine import Database
from ...db.models import User
from ..errors import FieldProblem, ValidationFailed

_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
MAX_NAMES = 32


def _names(value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_NAMES or not all(isinstance(v, str) and _NAME.fullmatch(v) for v in value):
        raise ValueError(f"a list of at most {MAX_NAMES} column names")
    return list(dict.fromkeys(value))


def _page_size(value: Any) -> int:
    if value not in (25, 50, 100, 200) or isinstance(value, bool):
        raise ValueError("one of 25, 50, 100, 200")
    return int(value)


def _time_zone(value: Any) -> str:
    """"UTC" or an IANA zone name the server knows (what the browser's Intl API reports)."""
    if value == "UTC":
        return value
    if not isinstance(value, str) or len(value) > 64 or value not in _zones():
        raise ValueError('"UTC" or an IANA time zone name such as Europe/Berlin')
    return value


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


# key -> the check that returns the value to store (ValueError naming the rule)
DECLARED: dict[str, Callable[[Any], Any]] = {
    "ticket_columns": _names,  # the ticket list's optional columns the user chose (pages/ticket_columns.py)
    "ticket_page_size": _page_size,
    "time_zone": _time_zone,  # how the dashboard shows times (pages/view_utils.py page_zone); default UTC
}


async def get_preferences(db: Database, user_id: int) -> dict[str, Any]:
    """The user's preferences; a key whose stored value no longer fits its rule is left out."""
    async with db.read() as session:
        stored = (await session.execute(select(User.preferences).where(User.id == user_id))).scalar_one_or_none()
    out: dict[str, Any] = {}
    for key, value in (stored or {}).items() if isinstance(stored, dict) else ():
        if key in DECLARED:
            try:
                out[key] = DECLARED[key](value)
            except ValueError:
                continue
    return out


async def set_preference(db: Database, user_id: int, key: str, value: Any) -> None:
    """Store one preference (ValidationFailed naming it when the key or value is not declared)."""
    if key not in DECLARED:
        raise ValidationFailed("unknown preference", [FieldProblem(key, "unknown preference")])
    try:
        clean = DECLARED[key](value)
    except ValueError as exc:
        raise ValidationFailed(f"invalid {key}", [FieldProblem(key, f"must be {exc}")]) from None
    async with db.write() as session:
        # Read and write in one transaction: another key set meanwhile (another tab) is kept.
        stored = (await session.execute(select(User.preferences).where(User.id == user_id))).scalar_one_or_none()
        merged = {**(stored if isinstance(stored, dict) else {}), key: clean}
        await session.execute(update(User).where(User.id == user_id).values(preferences=merged))
        await session.commit()
