"""Search (`q`) and the triage filters (tool, error type, model, confidence and execution-time
ranges), declared once: the API's query parameters (api/deps.py) and the list page's URL
(pages/view_utils.py) both parse them with `parse_triage`, so both refuse the same values with
the same 400 naming the field. scope.scoped_select applies them (`conditions`).

What `q` matches: a log whose search text (derived at ingest, services/ingest/derive.py: ticket id,
category, every text and number value of the payload and of `extra`) contains q, ignoring case.
The ticket id comes first in that text, so a ticket-id prefix is found like any other substring.
Queries of 3+ characters use the index (FTS5 trigram / pg_trgm); 1-2 character queries (a Japanese
word is often two) cannot, and scan the caller's scope instead (docs/SEARCH.md has the cost)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...db import search_index
from ...db.dialect import Dialect
from ...db.models import WorkflowLog
from ..errors import FieldProblem, ValidationFailed
from ..ingest.derive import NAME_CHARS, SEP, clean_name

Q_MAX = 200  # characters of a search query
SNIPPET_BEFORE, SNIPPET_CHARS = 40, 160  # the text shown around the first match in the list


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # "text" or "number"
    description: str
    max_length: int = NAME_CHARS
    minimum: float | None = None


TRIAGE_PARAMS: tuple[Param, ...] = (
    Param("q", "text", "search: ticket id prefix or any text of the log (category, payload, extra), any case", Q_MAX),
    Param("tool", "text", "a tool the run called (exact name, any case)"),
    Param("error_type", "text", "an error type the run raised, e.g. TimeoutError (exact, any case)"),
    Param("model", "text", "a model the run used (exact name, any case)"),
    Param("confidence_min", "number", "metrics.confidence >= this"),
    Param("confidence_max", "number", "metrics.confidence <= this"),
    Param("execution_time_min", "number", "execution_time_seconds >= this", minimum=0),
    Param("execution_time_max", "number", "execution_time_seconds <= this", minimum=0),
)
TRIAGE_NAMES = tuple(p.name for p in TRIAGE_PARAMS)
_RANGES = (("confidence_min", "confidence_max"), ("execution_time_min", "execution_time_max"))


def _problem(field: str, problem: str) -> ValidationFailed:
    return ValidationFailed(f"{field} {problem}", [FieldProblem(field, problem)])


def parse_triage(values: Mapping[str, Any]) -> dict[str, Any]:
    """{name: value} of the TRIAGE_PARAMS given (blank means not given): text stripped, numbers as
    floats; ValidationFailed naming the first bad field."""
    out: dict[str, Any] = {}
    for param in TRIAGE_PARAMS:
        raw = values.get(param.name)
        if raw is None or (text := str(raw).strip()) == "":
            continue
        if "\x00" in text:  # PostgreSQL cannot even compare text with NUL
            raise _problem(param.name, "contains a NUL character")
        if len(text) > param.max_length:
            raise _problem(param.name, f"must be at most {param.max_length} characters")
        if param.kind == "text":
            out[param.name] = text
            continue
        try:
            number = float(text)
        except ValueError:
            raise _problem(param.name, "must be a number") from None
        if not math.isfinite(number):
            raise _problem(param.name, "must be a finite number")
        if param.minimum is not None and number < param.minimum:
            raise _problem(param.name, f"must be >= {param.minimum:g}")
        out[param.name] = number
    for low, high in _RANGES:
        if low in out and high in out and out[low] > out[high]:
            raise _problem(high, f"must be >= {low}")
    return out


def _name_condition(column: Any, name: str) -> Any:
    # Columns hold "\nname\nname\n" (derive.names_value); ILIKE is lower() LIKE lower() on SQLite.
    return column.ilike(f"%{SEP}{search_index.like_escape(clean_name(name))}{SEP}%", escape="\\")


def conditions(filters: Any, dialect: Dialect | None) -> list[Any]:
    """The WHERE conditions of filters' triage fields (a LogFilters)."""
    out = []
    if filters.q:
        if dialect is None:
            raise ValueError("a search needs the database's dialect")  # a programming error, never input
        out.append(search_index.text_search(dialect, WorkflowLog.id, WorkflowLog.search_text, filters.q))
    for column, name in ((WorkflowLog.tools, filters.tool), (WorkflowLog.error_types, filters.error_type),
                         (WorkflowLog.models, filters.model)):
        if name:
            out.append(_name_condition(column, name))
    if filters.confidence_min is not None:
        out.append(WorkflowLog.confidence >= filters.confidence_min)
    if filters.confidence_max is not None:
        out.append(WorkflowLog.confidence <= filters.confidence_max)
    if filters.execution_time_min is not None:
        out.append(WorkflowLog.execution_time_seconds >= filters.execution_time_min)
    if filters.execution_time_max is not None:
        out.append(WorkflowLog.execution_time_seconds <= filters.execution_time_max)
    return out


def match_of(text: str | None, q: str) -> dict[str, str] | None:
    """Where q is in a window of the search text, as three plain strings (before, match, after):
    the list shows the middle one highlighted as text, never as HTML. None when the window does
    not hold it (a case the database folds and Python does not)."""
    if not text:
        return None
    at = text.casefold().find(q.casefold())
    if at < 0 or len(text.casefold()) != len(text):  # folding changed lengths: positions differ
        at = text.lower().find(q.lower())
        if at < 0 or len(text.lower()) != len(text):
            return None
    start = max(0, at - SNIPPET_BEFORE)
    end = min(len(text), at + len(q) + SNIPPET_CHARS - SNIPPET_BEFORE)
    before = ("…" if start > 0 else "") + text[start:at]
    after = text[at + len(q):end] + ("…" if end < len(text) else "")
    return {"before": " ".join(before.split(SEP)), "match": text[at:at + len(q)], "after": " ".join(after.split(SEP))}
