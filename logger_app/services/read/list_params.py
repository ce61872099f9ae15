"""The ticket list's URL parameters, checked one by one so that every bad one is named.

The rules are the API's (services/rules.py patterns and limits, timestamps.parse_bound for dates,
search.parse_triage for search and the triage filters, sorting.parse_sort): the page refuses what
GET /api/v1/logs refuses, and an unknown name (`?stauts=ERROR`) is refused like the API's
reject_unknown_query does, instead of quietly showing every ticket."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..errors import FieldProblem, ValidationFailed
from ..rules import CATEGORY_MAX, CLIENT_ID_RE, ENVIRONMENT_RE, STATUSES, TICKET_ID_MAX
from ..timestamps import parse_bound
from .search import TRIAGE_NAMES, parse_triage
from .sorting import parse_sort

FILTER_NAMES = ("status", "category", "environment", "ticket_id", "client_id", "since", "until", *TRIAGE_NAMES)
PAGE_SIZES = (25, 50, 100, 200)
# Paging and order: sort (sorting.py), size (rows per page), cursor (where the page starts, as the
# server issued it) and page (its number, for "51–100 of …"; a cursor without it is page 2+).
VIEW_NAMES = ("sort", "size", "cursor", "page")
MAX_PAGE = 1_000_000
CURSOR_MAX = 512


def _check(name: str, value: str) -> Any:
    """The value to keep, or ValueError/ValidationFailed saying what is wrong."""
    if "\x00" in value:
        raise ValueError("contains a NUL character")
    if name == "status":
        if value.upper() not in STATUSES:
            raise ValueError(f"must be one of {', '.join(STATUSES)}")
        return value.upper()
    if name == "environment" and not ENVIRONMENT_RE.fullmatch(value):
        raise ValueError("must be 1-32 characters: lower-case letters, digits, - and _")
    if name == "client_id" and not CLIENT_ID_RE.fullmatch(value):
        raise ValueError("is not a client id")
    if name == "category" and len(value) > CATEGORY_MAX:
        raise ValueError(f"must be at most {CATEGORY_MAX} characters")
    if name == "ticket_id" and len(value) > TICKET_ID_MAX:
        raise ValueError(f"must be at most {TICKET_ID_MAX} characters")
    if name in ("since", "until"):
        parse_bound(value, name, end=name == "until")
    if name in TRIAGE_NAMES:
        parse_triage({name: value})
    if name == "sort":
        parse_sort(value)
    if name == "size" and value not in {str(s) for s in PAGE_SIZES}:
        raise ValueError(f"must be one of {', '.join(map(str, PAGE_SIZES))}")
    if name == "page" and not (value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_PAGE):
        raise ValueError(f"must be a whole number from 1 to {MAX_PAGE:,}")
    if name == "cursor" and len(value) > CURSOR_MAX:
        raise ValueError("not a cursor this server issued")
    return value


def check_params(items: Iterable[tuple[str, str]]) -> tuple[dict[str, str], list[FieldProblem]]:
    """(the values that pass, a problem for every one that does not). Blank values mean "not set"."""
    known = set(FILTER_NAMES) | set(VIEW_NAMES)
    seen: dict[str, list[str]] = {}
    for name, value in items:
        seen.setdefault(name, []).append(value)
    clean: dict[str, str] = {}
    problems: list[FieldProblem] = []
    for name, values in seen.items():
        if name not in known:
            problems.append(FieldProblem(name[:64] or "(empty name)", "unknown parameter"))
            continue
        if len(values) > 1:
            problems.append(FieldProblem(name, "given more than once"))
            continue
        value = values[0].strip()
        if not value:
            continue
        try:
            clean[name] = _check(name, value)
        except ValidationFailed as exc:
            problems.extend(FieldProblem(name, d.problem) for d in exc.details)
        except ValueError as exc:
            problems.append(FieldProblem(name, str(exc)))
    # The pair rules (a minimum above its maximum) once both halves passed on their own.
    try:
        parse_triage({k: v for k, v in clean.items() if k in TRIAGE_NAMES})
    except ValidationFailed as exc:
        for d in exc.details:
            clean.pop(d.field, None)
            problems.append(d)
    return clean, problems
