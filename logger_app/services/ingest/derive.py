"""Columns derived at ingest from what a log holds: the trace's iterations, tools, error types and
models (the triage filters), and the text that search reads.

`derived(row)` is a function of the stored row's own values (ticket_id, category, metrics, payload,
extra), so whoever builds or rebuilds a row calls it and the columns can never disagree with the
JSON: validation's normalise_log on every ingest (and every OTLP update, which goes through it),
redaction again after it changed the payload or extra (the search text must hold the redacted
text, never the secret), and the backfill CLI for rows stored before these columns existed.

Bounded work, whatever the payload: the text walk stops after MAX_NODES JSON values or
MAX_SEARCH_CHARS characters, and a payload bigger than that is read as a trace from a copy of its
first HEAD_NODES values only (see _head). Measured on this machine: a 1 KB demo log costs ~63 µs
in trace_of plus ~25 µs here (quiet machine; numbers double when the other cores are busy); a
1.2 MB payload of 5,000 steps cost 84 ms in trace_of alone, bounded here to ~10 ms."""

from __future__ import annotations

from itertools import islice
from typing import Any

from ..traces import trace_of
from ..traces.model import Trace

# Characters of text kept for search: a 1 KB demo log holds ~600; 32k keeps the whole of almost
# every real run while the trigram index stays bounded per log (docs/SEARCH.md).
MAX_SEARCH_CHARS = 32_768
# JSON values walked per log for the search text (strings, numbers, containers). A payload whose
# text walk stops early is "big", and is read as a trace from a copy of its first HEAD_NODES values
# only: trace_of costs ~17 µs a step, and 3,000 values are a few hundred steps (~8 ms at most).
MAX_NODES = 20_000
HEAD_NODES = 3_000
MAX_NAMES = 50  # distinct tools / error types / models kept per log
NAME_CHARS = 200
SEP = "\n"  # between names in the tools/error_types/models columns (never inside a name)
# A step kind that ends a round of tool calls: the model thought or spoke again.
_ACT = frozenset({"tool", "retrieval"})
_TURN = frozenset({"thought", "llm", "message", "answer", "agent", "chain"})

# Keys whose values are a trace's plumbing, never what an operator types into the search box: span
# ids, nanosecond timestamps, the OTel span kind and the SDK's own description (the OTLP payload's
# spans and resource, docs/TRACE_SHAPES.md).
# Measured on bench/otlp.py's 8-span traces: they were 45 % of the search text (1,108 -> 615
# characters without them) and 37 % of its distinct trigrams (374 -> 236), each of which is an entry
# in PostgreSQL's trigram index (~200 µs a trace with them); and "1796420511" matched every trace
# through its timestamps. The trace id stays (an operator pastes one from their own logs), as do
# every attribute, name, input, output and message.
STRUCTURAL_KEYS = frozenset({
    "span_id", "parent_span_id", "root_span_id",
    "start_time_unix_nano", "end_time_unix_nano", "time_unix_nano",
    "span_kind",
    "telemetry.sdk.language", "telemetry.sdk.name", "telemetry.sdk.version",
})

FIRST_ERROR_CHARS = 300  # of the first error's message, for the list's triage column (the detail page has it all)
TOKENS_MAX = 2**31 - 1  # the column is a 32-bit integer, like iterations
# Bumped whenever derived() starts filling another column: `logger-app search backfill` re-derives
# every row stored under an older version (2: first_error and tokens, migration 0006; 3: the search
# text without the values of STRUCTURAL_KEYS).
DERIVE_VERSION = 3

DERIVED_COLUMNS = ("tools", "error_types", "models", "search_text", "first_error", "tokens", "derive_version")


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


def _first_error(trace: Trace) -> str | None:
    step = trace.first_error()
    if step is None or step.error is None:
        return None
    text = " ".join(str(step.error.message or step.error.type or "").split())
    return text[:FIRST_ERROR_CHARS] or None


def _tokens(trace: Trace) -> int | None:
    """Input plus output tokens of the run (Trace.token_totals: the steps', or the run's own totals)."""
    parts = [t for t in trace.token_totals() if isinstance(t, int) and not isinstance(t, bool) and t >= 0]
    return min(sum(parts), TOKENS_MAX) if parts else None


def _read_trace(trace: Trace) -> tuple[list[str], list[str], list[str], int | None]:
    """Tools, error types, models and iterations in one walk of the steps (four walks were 15 % of
    derived's time).

    Iterations are think-act-observe cycles: rounds of tool calls, a round being the tool (or
    retrieval) steps between two turns of the model (a thought, a model call, a message). Parallel
    calls of one turn are one round; the final answer is no round. This is what LangChain's
    AgentExecutor counts against max_iterations, and what the demo's metrics.iterations says. None
    for a shape the trace model does not recognise (nothing to count) or a trace cut at its step
    cap (an undercount)."""
    tools: list[str] = []
    errors: list[str] = []
    models: list[str] = []
    rounds, acting = 0, False
    for step in trace.walk():
        kind = step.kind
        if kind in _ACT:
            if not acting:
                rounds += 1
            acting = True
            if kind == "tool" and step.name:
                tools.append(step.name)
        elif kind in _TURN:
            acting = False
        if step.error is not None and step.error.type:
            errors.append(step.error.type)
        if step.model:
            models.append(step.model)
    if trace.model:
        models.append(trace.model)  # after the steps' own, as Trace.models_used orders them
    counted = rounds if trace.recognised and not trace.truncated else None
    return tools, errors, models, counted


def _texts(value: Any, out: list[str], budget: list[int]) -> bool:
    """String and number values (not keys: "role" or "content" would match every log) into `out`,
    within budget = [values, characters], which it spends. True when it stopped before the end.
    The values of STRUCTURAL_KEYS are left out (ids and clocks, not text).

    A container's children are taken in order, nested containers after their siblings (a stack):
    the order matters only for which match the list shows first. 22 µs for a demo log; a version
    visiting every value through the stack took 58 µs."""
    stack = [value]
    seen: set[str] = set()  # a ReAct log repeats its thoughts, tool names and inputs: index each once
    pop, push, add, saw = stack.pop, stack.append, out.append, seen.add
    while stack:
        node = pop()
        if type(node) is dict:
            # isdisjoint walks the dict's keys in C: ~free for the dicts that have none of them
            children = node.values() if STRUCTURAL_KEYS.isdisjoint(node) else [v for k, v in node.items() if k not in STRUCTURAL_KEYS]
        else:
            children = node
        if len(children) > budget[0]:  # a huge container: only as many as the budget has left
            children = list(islice(children, max(budget[0], 0)))
        budget[0] -= len(children) + 1
        for child in children:
            t = type(child)
            if t is str:
                if child in seen:
                    continue
                saw(child)
                add(child if len(child) <= budget[1] else child[:max(budget[1], 0)])
                budget[1] -= len(child) + 1
            elif t is dict or t is list:
                push(child)
            elif t is int:  # an order number sent as a number is still searched for (not floats:
                add(str(child))  # durations and scores, which nobody searches for)
                budget[1] -= 12
        if budget[0] <= 0 or budget[1] <= 0:
            return True
    return False


def _head(value: Any, budget: list[int]) -> Any:
    """A copy of the first budget[0] values of a JSON tree (lists and dicts cut): what a big
    payload is read as a trace from, so its cost is bounded like the text walk's. budget[0] < 0
    afterwards when something was cut."""
    budget[0] -= 1
    if type(value) is dict:
        out = {}
        for key, item in value.items():
            if budget[0] <= 0:
                budget[0] -= 1
                break
            out[key] = _head(item, budget)
        return out
    if type(value) is list:
        items = []
        for item in value:
            if budget[0] <= 0:
                budget[0] -= 1
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
    big = payload is not None and _texts(payload, parts, budget)
    if extra is not None:
        _texts(extra, parts, [MAX_NODES, max(budget[1], 0)])
    text = SEP.join(parts)[:MAX_SEARCH_CHARS]
    cut = False
    if big:  # stopped early: read the trace from a bounded copy of the payload's beginning
        head_budget = [HEAD_NODES]
        payload = _head(payload, head_budget)
        cut = head_budget[0] < 0
    trace = trace_of(payload, sketch=True)
    tools, errors, models, rounds = _read_trace(trace)
    out: dict[str, Any] = {
        "tools": names_value(tools),
        "error_types": names_value(errors),
        "models": names_value(models),
        "search_text": text,
        "first_error": _first_error(trace),
        "tokens": _tokens(trace),
        "derive_version": DERIVE_VERSION,
    }
    metrics = row.get("metrics")
    if not (isinstance(metrics, dict) and "iterations" in metrics):
        # Only where metrics does not say: the workflow's own count wins, even when it is not a
        # number (then the column stays empty, as before). A cut payload would undercount.
        out["iterations"] = None if cut else rounds
    return out
