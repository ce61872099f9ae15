"""Rendering payload fields generically (pages/waterfall.py renders the steps).

The payload is whatever the agent sent: any field may be missing,
null, a list where a dict is expected, or huge; every function here must degrade to plain text."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from .view_utils import long_text, to_text

MAX_ITEMS = 100
KNOWN_KEYS = {"react_iterations", "tool_calls", "errors", "final_answer"}
# Caps for the copy shipped to the JSON viewer (a 5 MB document hung the page, nicegui#1352).
VIEW_STRING, VIEW_LIST, VIEW_KEYS, VIEW_DEPTH, VIEW_NODES = 500, 50, 100, 12, 3000


def as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list:
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


def _number(value: Any) -> float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def field(label: str, value: Any, *, code: bool = False) -> None:
    if value is None or value == "" or value == {} or value == []:
        return
    if label:
        ui.label(label).classes("text-xs uppercase text-grey-7 mt-1")
    long_text(value, code=code or not isinstance(value, str))


def other_fields(payload: Any) -> None:
    """Keys the dashboard does not know: shown generically, one block per key."""
    if payload is None:
        ui.label("This log has no payload.").classes("text-grey-7")
        return
    if not isinstance(payload, dict):
        long_text(payload, code=True)
        return
    rest = [(k, v) for k, v in payload.items() if k not in KNOWN_KEYS]
    for key, value in rest[:MAX_ITEMS]:
        field(to_text(key)[:200], value if value is not None else "null", code=not isinstance(value, str))


def capped(value: Any, budget: list[int] | None = None, depth: int = 0) -> Any:
    """A bounded copy for the browser: long strings, lists and objects are cut with a visible marker."""
    budget = budget if budget is not None else [VIEW_NODES]
    budget[0] -= 1
    if budget[0] < 0 or depth > VIEW_DEPTH:
        return "…(cut: download the raw log)"
    if isinstance(value, str):
        return value if len(value) <= VIEW_STRING else value[:VIEW_STRING] + f"…(+{len(value) - VIEW_STRING} chars)"
    if isinstance(value, list):
        out = [capped(v, budget, depth + 1) for v in value[:VIEW_LIST]]
        if len(value) > VIEW_LIST:
            out.append(f"…(+{len(value) - VIEW_LIST} items)")
        return out
    if isinstance(value, dict):
        items = list(value.items())
        out = {str(k)[:VIEW_STRING]: capped(v, budget, depth + 1) for k, v in items[:VIEW_KEYS]}
        if len(items) > VIEW_KEYS:
            out["…"] = f"+{len(items) - VIEW_KEYS} keys"
        return out
    return value
