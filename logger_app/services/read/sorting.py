"""The orders a log list can be read in, and their keyset cursors (declared once: the list page's
`sort` URL parameter and services/read/queries.py both use these).

`-executed_at` (newest first) is the default and keeps scope.py's cursor, the one the API and the
exports issue. Every other order is (key, id) in the key's direction with NULLs last, and its cursor
carries the sort's name, the last row's key (None for a NULL) and its public id, so a cursor of one
order is refused under another instead of silently skipping rows. Ties on the key are broken by the
id, in the same direction, which makes every order total: no row is shown twice or skipped.

Cost: the time orders seek ix_logs_*_time; the others sort the filtered rows (no index has them
first). A filtered list of a client's month is a few thousand rows; at 1M logs in one scope a
sorted page is a full scan, which bench/sorted_list.py measures."""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, or_

from ...db.models import WorkflowLog
from ..errors import FieldProblem, ValidationFailed
from ..public_ids import PublicIds
from ..timestamps import parse_timestamp
from .scope import after_cursor, encode_cursor

# The `sort` URL parameter's key names and their columns; a leading '-' is descending.
SORT_KEYS: dict[str, Any] = {
    "executed_at": WorkflowLog.executed_at,
    "execution_time": WorkflowLog.execution_time_seconds,
    "confidence": WorkflowLog.confidence,
    "iterations": WorkflowLog.iterations,
}
DEFAULT_SORT = "-executed_at"
SORT_NAMES = tuple(f"{sign}{key}" for key in SORT_KEYS for sign in ("-", ""))


@dataclass(frozen=True)
class Sort:
    key: str = "executed_at"
    descending: bool = True

    @property
    def name(self) -> str:
        return ("-" if self.descending else "") + self.key

    @property
    def is_default(self) -> bool:
        return self.name == DEFAULT_SORT

    @property
    def column(self) -> Any:
        return SORT_KEYS[self.key]


def parse_sort(value: Any) -> Sort:
    """'-confidence' is confidence, highest first; 'confidence' lowest first. Blank: the default."""
    text = str(value or "").strip() or DEFAULT_SORT
    if text not in SORT_NAMES:
        raise ValidationFailed("invalid sort", [FieldProblem("sort", f"must be one of {', '.join(SORT_NAMES)}")])
    return Sort(text.lstrip("-"), text.startswith("-"))


def order_by(sort: Sort) -> tuple[Any, ...]:
    col, row_id = sort.column, WorkflowLog.id
    if sort.key == "executed_at":  # never NULL: the plain order the time indexes serve
        return (col.desc(), row_id.desc()) if sort.descending else (col.asc(), row_id.asc())
    if sort.descending:
        return col.desc().nulls_last(), row_id.desc()
    return col.asc().nulls_last(), row_id.asc()


def encode(ids: PublicIds, sort: Sort, row: Any) -> str:
    """The cursor after `row` (which has executed_at, id and the sort's column)."""
    if sort.is_default:
        return encode_cursor(ids, row.executed_at, row.id)
    value = getattr(row, sort.column.key)
    if sort.key == "executed_at":
        value = value.isoformat()
    raw = json.dumps([sort.name, value, ids.encode(row.id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _refused() -> ValidationFailed:
    return ValidationFailed("invalid cursor", [FieldProblem("cursor", "not a cursor this server issued for this sort")])


def _decode(ids: PublicIds, sort: Sort, cursor: str) -> tuple[Any, int]:
    try:
        decoded = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()))
        if not isinstance(decoded, list) or len(decoded) != 3 or decoded[0] != sort.name:
            raise ValueError
        _, value, public_id = decoded
        if sort.key == "executed_at":
            value = parse_timestamp(value, "cursor")
        elif value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)):
            raise ValueError
        log_id = ids.decode(public_id, "cursor")
        if log_id is None:
            raise ValueError
        return value, log_id
    except Exception:
        raise _refused() from None


def after(ids: PublicIds, sort: Sort, query: Select, cursor: str | None) -> Select:
    """query limited to the rows after `cursor` in `sort`'s order."""
    if not cursor:
        return query
    if sort.is_default:
        return after_cursor(ids, query, cursor)
    value, log_id = _decode(ids, sort, cursor)
    col, row_id = sort.column, WorkflowLog.id
    later_id = (row_id < log_id) if sort.descending else (row_id > log_id)
    if value is None:  # in the NULLs, which come last in both directions
        return query.where(col.is_(None), later_id)
    beyond = (col < value) if sort.descending else (col > value)
    if sort.key == "executed_at":
        return query.where(or_(beyond, and_(col == value, later_id)))
    return query.where(or_(beyond, and_(col == value, later_id), col.is_(None)))
