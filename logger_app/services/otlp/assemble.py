"""The stored entries of one trace's spans -> one raw log body, the shape POST /api/v1/logs takes.

Pure and deterministic: the same set of spans gives the same body whatever order or export they came
in (entries are sorted by start time, then span id), so rebuilding a stored trace with a re-sent
span changes nothing, and the writer can rebuild a trace from the union of stored and new spans."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ..rules import DEFAULT_ENVIRONMENT, ENVIRONMENT_RE
from .spans import is_llm

ENVIRONMENT_KEYS = ("deployment.environment.name", "deployment.environment")
# Spans kept per trace: the trace model shows at most 10,000 steps (traces/bounds.MAX_STEPS), and
# every export of a trace rewrites its whole log, so an endless trace must not grow without bound.
MAX_SPANS_PER_TRACE = 10_000
IDEMPOTENCY_PREFIX = "otlp:"


def idempotency_key(trace_id: str) -> str:
    return IDEMPOTENCY_PREFIX + trace_id


def _sort_key(entry: dict[str, Any]) -> tuple:
    return (entry.get("start_time_unix_nano") or 0, entry.get("span_id") or "")


def union(stored: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """Stored entries plus the new spans they lack (by span id); None when nothing is new."""
    known = {e.get("span_id") for e in stored}
    fresh = [e for e in new if e.get("span_id") not in known]
    if not fresh:
        return None
    seen: set = set()
    unique = []
    for entry in fresh:  # one export may carry a span twice
        if entry.get("span_id") not in seen:
            seen.add(entry.get("span_id"))
            unique.append(entry)
    return stored + unique


def _environment(resource: dict[str, Any]) -> str:
    for key in ENVIRONMENT_KEYS:
        value = resource.get(key)
        if isinstance(value, str) and value.strip():
            # The log rule ([a-z0-9_-]{1,32}): lower case, other characters as "-", at most 32.
            text = "".join(c if c.isascii() and (c.isalnum() or c in "_-") else "-" for c in value.strip().lower())[:32]
            if ENVIRONMENT_RE.fullmatch(text):
                return text
    return DEFAULT_ENVIRONMENT


def _iso(ns: int) -> str:
    seconds, rest = divmod(int(ns), 1_000_000_000)
    moment = datetime.fromtimestamp(seconds, timezone.utc).replace(microsecond=rest // 1000)
    return moment.isoformat()


def _root(entries: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((e for e in entries if not e.get("parent_span_id")), None)


def _first(root: dict[str, Any] | None, entries: list[dict[str, Any]], key: str) -> Any:
    if root is not None and root.get(key) is not None:
        return root[key]
    return next((e[key] for e in entries if e.get(key) is not None), None)


def _failed(entry: dict[str, Any]) -> bool:
    status = entry.get("status") or {}
    return status.get("code") == "ERROR" or bool(entry.get("exceptions"))


def _sum(values: list[Any]) -> int | None:
    present = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
    return sum(present) if present else None


def assemble(trace_id: str, entries: list[dict[str, Any]], resource: dict[str, Any]) -> dict[str, Any]:
    """One log body (ticket_id, status, times, environment, category, metrics, payload)."""
    spans = sorted(entries, key=_sort_key)[:MAX_SPANS_PER_TRACE]
    root = _root(spans)
    starts = [e["start_time_unix_nano"] for e in spans if e.get("start_time_unix_nano")]
    ends = [e["end_time_unix_nano"] for e in spans if e.get("end_time_unix_nano")]
    base = min(starts) if starts else 0
    if root is not None and root.get("start_time_unix_nano"):
        start, end = root["start_time_unix_nano"], root.get("end_time_unix_nano") or 0
    else:  # the root has not arrived (yet): the extent of what has
        start, end = base, max(ends) if ends else 0
    llm = [e for e in spans if is_llm(e)]
    metrics: dict[str, Any] = {"spans": len(spans)}
    confidence = _first(root, spans, "confidence")
    if confidence is not None:
        metrics["confidence"] = confidence
    iterations = _first(root, spans, "iterations")
    metrics["iterations"] = iterations if iterations is not None else len(llm)
    for name in ("input_tokens", "output_tokens"):
        total = _sum([e.get(name) for e in llm])
        if total is not None:
            metrics[name] = total
    stored = []
    for entry in spans:
        entry = dict(entry)
        began, ended = entry.get("start_time_unix_nano") or 0, entry.get("end_time_unix_nano") or 0
        # Derived for readers of the raw log; recomputed on every rebuild (an earlier span may arrive).
        entry["offset_seconds"] = round((began - base) / 1e9, 9) if began else None
        entry["duration_seconds"] = round((ended - began) / 1e9, 9) if began and ended >= began else None
        stored.append(entry)
    body: dict[str, Any] = {
        "ticket_id": _first(root, spans, "ticket_id") or trace_id,
        "status": "ERROR" if any(_failed(e) for e in spans) else "SUCCESS",
        "environment": _environment(resource),
        "metrics": metrics,
        "payload": {"otel": {"trace_id": trace_id, "root_span_id": root["span_id"] if root else None,
                             "resource": resource, "spans": stored}},
    }
    if start:
        body["executed_at"] = _iso(start)
        body["execution_time_seconds"] = max(0.0, (end - start) / 1e9) if end else None
    category = _first(root, spans, "category")
    if category is not None:
        body["category"] = category
    if len(entries) > MAX_SPANS_PER_TRACE:
        body["payload"]["otel"]["dropped_spans"] = len(entries) - MAX_SPANS_PER_TRACE
    return body
