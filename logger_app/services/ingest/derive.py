"""Columns derived at ingest from what a log holds: the trace's iterations, tools, error types and
models (the triage filters), and the text that search reads.

`derived(row)` is a function of the stored row's own values (ticket_id, category, metrics, payload,
extra), so whoever builds or rebuilds a row calls it and the columns can never disagree with the
JSON: validation's normalise_log on every ingest (and every OTLP update, which goes through it),
redaction again after it changed the payload or extra (the search text must hold the redacted
text, never the secret), and the backfill CLI for rows stored before these columns existed.

Bounded work, whatever the payload: the text walk stops after MAX_NODES JSON values or
MAX_SEARCH_CHARS characters, and a payload bigger than that is read as a trace from a copy of its
first MAX_NODES values only (see _head). Measured on this machine (bench/trace_of.py shapes):
a 1 KB demo log costs ~63 µs in trace_of plus ~15 µs here; a 1 MiB payload of 5,000 steps
cost 63 ms in trace_of alone, bounded here to ~6 ms (the first 20,000 values)."""

from __future__ import annotations

from itertools import islice
from typing import Any

from ..traces import trace_of
from ..traces.model import Trace

# Characters of text kept for search: a 1 KB demo log holds ~600; 32k keeps the whole of almost
# every real run while the trigram index stays bounded per log (docs/SEARCH.md).
MAX_SEARCH_CHARS = 32_768
# JSON values walked per log (strings, numbers, containers). Beyond this a payload is "big".
MAX_NODES = 20_000
MAX_NAMES = 50  # distinct tools / error types / models kept per log
NAME_CHARS = 200
SEP = "\n"  # between names in the tools/error_types/models columns (never inside a name)
# A step kind that ends a round of tool calls: the model thought or spoke again.
_ACT = frozenset({"tool", "retrieval"})
_TURN = frozenset({"thought", "llm", "message", "answer", "agent", "chain"})

DERIVED_COLUMNS = ("tools", "error_types", "models", "search_text")


def names_value(names: list[str]) -> str | None:
    """Names as one column value, "\\nsearch\\nget_order\\n": a filter for one name is then
    LIKE '%\\nget_order\\n%' on both backends (scope.py), with no array type SQLite lacks."""
    kept: dict[str, None] = {}
    for name in names:
        clean = " ".join(name.split())[:NAME_CHARS]
        if clean:
            kept.setdefault(clean)
        if len(kept) >= MAX_NAMES:
            break
    return SEP + SEP.join(kept) + SEP if kept else None


def clean_name(value: str) -> str:
    """A name as the columns store it (a filter value goes through this too)."""
    return " ".join(value.split())[:NAME_CHARS]


def iterations(trace: Trace) -> int | None:
    """Think-act-observe cycles: rounds of tool calls, a round being the tool (or retrieval) steps
    between two turns of the model (a thought, a model call, a message). Parallel calls of one
    turn are one round; the final answer is no round. This is what LangChain's AgentExecutor counts
    against max_iterations, and what the demo's metrics.iterations says. None for a shape the trace
    model does not recognise (nothing to count) or a trace cut at its step cap (an undercount)."""
    if not trace.recognised or trace.truncated:
        return None
    rounds, acting = 0, False
    for step in trace.walk():
        if step.kind in _ACT:
            if not acting:
                rounds += 1
            acting = True
        elif step.kind in _TURN:
            acting = False
    return rounds


def _texts(value: Any, out: list[str], budget: list[int]) -> None:
    """String and number values (not keys: "role" or "content" would match every log), depth
    first in document order, within the node and character budget."""
    stack = [value]
    while stack and budget[0] > 0 and budget[1] > 0:
        node = stack.pop()
        budget[0] -= 1
        t = type(node)
        if t is str:
            if node:
                out.append(node[:budget[1]])
                budget[1] -= len(node) + 1
        elif t is dict:
            stack.extend(reversed(list(islice(node.values(), budget[0]))))
        elif t is list:
            stack.extend(reversed(node[:budget[0]]))
        elif t is int or t is float:  # (bool is its own type: not here)
            out.append(str(node))  # an order number sent as a number is still searched for
            budget[1] -= 12


def _head(value: Any, budget: list[int]) -> Any:
    """A copy of the first budget[0] values of a JSON tree (lists and dicts cut): what a big
    payload is read as a trace from, so its cost is bounded like the text walk's."""
    budget[0] -= 1
    if budget[0] <= 0:
        return None
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if budget[0] <= 0:
                break
            out[key] = _head(item, budget)
        return out
    if isinstance(value, list):
        items = []
        for item in value:
            if budget[0] <= 0:
                break
            items.append(_head(item, budget))
        return items
    return value


def derived(row: dict[str, Any]) -> dict[str, Any]:
    """The derived columns of a normalised row (DERIVED_COLUMNS, plus iterations when metrics had
    none), to be merged into it."""
    payload, extra = row.get("payload"), row.get("extra")
    parts = [row["ticket_id"]]
    if row.get("category"):
        parts.append(row["category"])
    budget = [MAX_NODES, MAX_SEARCH_CHARS]
    if payload is not None:
        _texts(payload, parts, budget)
    big = budget[0] <= 0
    if extra is not None:
        _texts(extra, parts, [MAX_NODES, max(budget[1], 0)])
    text = SEP.join(parts)[:MAX_SEARCH_CHARS]
    trace = trace_of(_head(payload, [MAX_NODES]) if big else payload)
    out: dict[str, Any] = {
        "tools": names_value([s.name for s in trace.walk() if s.kind == "tool" and s.name]),
        "error_types": names_value([s.error.type for s in trace.walk() if s.error is not None and s.error.type]),
        "models": names_value(trace.models_used()),
        "search_text": text,
    }
    metrics = row.get("metrics")
    if not (isinstance(metrics, dict) and "iterations" in metrics):
        # Only where metrics does not say: the workflow's own count wins, even when it is not a
        # number (then the column stays empty, as before). A cut payload would undercount.
        out["iterations"] = None if big else iterations(trace)
    return out
