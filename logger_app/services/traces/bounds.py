"""The caps that keep reading one payload cheap, whatever it holds.

A payload is at most LOGGER_MAX_BODY_BYTES of JSON, but that is still room for a million tiny steps
or one string of a million characters; the page renders what the model holds, so the model holds
bounded copies only. Every cut leaves a visible marker that points at the raw download."""

from __future__ import annotations

from contextvars import ContextVar
from itertools import islice
from typing import Any

MAX_STEPS = 10_000  # steps in one trace, children included
MAX_DEPTH = 32  # nesting of steps (children of children …)
MAX_TEXT = 10_000  # characters per text field
MAX_NAME = 200  # characters of a tool, model or error-type name
# One structured field (a tool's input or result): a copy of at most this much.
VALUE_DEPTH, VALUE_ITEMS, VALUE_NODES, VALUE_CHARS = 12, 200, 2_000, 20_000
CUT = "…(cut: download the raw log)"
# A sketch is a trace read for its names, kinds, errors, models and tokens only (what ingest derives
# columns from, services/ingest/derive.py), never shown: clip() hands containers back uncopied
# rather than building the bounded copy a page needs. Strings are still clipped and nothing else
# changes, so every decision an adapter takes on a clipped value (None or not, a string or not, an
# "error" key) comes out the same; tests/test_derive.py checks sketch == full read on every real
# shape. The copies were ~15 % of a demo log's read and ~30 % of an OTLP trace's (cProfile, 500 logs).
# A ContextVar, not a global: the OTLP front door reads in a worker thread while pages read on the loop.
SKETCH: ContextVar[bool] = ContextVar("trace_sketch", default=False)


def clip_text(text: str, limit: int = MAX_TEXT) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…(+{len(text) - limit:,} characters: download the raw log)"


def clip_name(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return clip_text(value if isinstance(value, str) else str(value), MAX_NAME)


def clip(value: Any) -> Any:
    """A bounded copy of a JSON value (strings cut, containers cut in length, depth and size)."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return clip_text(value)
    if SKETCH.get():
        return value
    return _copy(value, [VALUE_NODES, VALUE_CHARS], 0)


def _copy(value: Any, budget: list[int], depth: int) -> Any:
    budget[0] -= 1
    if budget[0] < 0 or depth > VALUE_DEPTH:
        return CUT
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        room = max(0, min(MAX_TEXT, budget[1]))
        budget[1] -= min(len(value), room)
        return clip_text(value, room)
    if isinstance(value, dict):
        out = {}
        for key, item in islice(value.items(), VALUE_ITEMS):
            out[clip_text(str(key), MAX_NAME)] = _copy(item, budget, depth + 1)
        if len(value) > VALUE_ITEMS:
            out["…"] = f"+{len(value) - VALUE_ITEMS:,} keys: download the raw log"
        return out
    if isinstance(value, (list, tuple)):
        items = [_copy(item, budget, depth + 1) for item in islice(value, VALUE_ITEMS)]
        if len(value) > VALUE_ITEMS:
            items.append(f"…(+{len(value) - VALUE_ITEMS:,} items: download the raw log)")
        return items
    return clip_text(repr(value), MAX_NAME)  # not JSON: only reachable when called from Python


def bounded(items: Any) -> Any:
    """At most MAX_STEPS entries of a list (each entry makes a few steps; trace_of prunes the rest)."""
    return islice(items, MAX_STEPS) if isinstance(items, list) else ()
