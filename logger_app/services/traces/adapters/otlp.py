"""OpenTelemetry spans as Central Logger stores an OTLP trace (services/otlp): payload.otel.spans,
one entry per span with span_id/parent_span_id, name, kind (openinference.span.kind or
gen_ai.operation.name), ns start/end, status, model, tokens, tool, input, output, exceptions,
attributes and events. The spans nest by parent id into Steps with their real offsets and durations.

Tokens go on LLM-call steps only: agent spans (invoke_agent, AGENT) carry the run's totals, and
Trace.token_totals() sums the steps."""

from __future__ import annotations

from collections import deque
from typing import Any

from ...otlp.spans import is_llm, step_kind
from ..bounds import SKETCH, bounded, clip, clip_name, clip_text
from ..fields import as_dict, content, count, json_or_text
from ..model import ErrorInfo, Step, Trace

NAME = "OpenTelemetry spans"


def claims(payload: dict) -> bool:
    otel = payload.get("otel")
    return isinstance(otel, dict) and isinstance(otel.get("spans"), list)


def read(payload: dict) -> Trace:
    entries = [as_dict(e) for e in bounded(payload["otel"]["spans"])]
    steps = [_step(entry, f"payload.otel.spans[{i}]") for i, entry in enumerate(entries)]
    ids = {e.get("span_id"): i for i, e in enumerate(entries) if isinstance(e.get("span_id"), str)}
    children: dict[int, list[int]] = {}
    roots: list[int] = []
    for i, entry in enumerate(entries):
        parent = ids.get(entry.get("parent_span_id")) if isinstance(entry.get("parent_span_id"), str) else None
        if parent is None or parent == i:
            roots.append(i)  # the root, or a span whose parent was never exported: shown at the top
        else:
            children.setdefault(parent, []).append(i)
    top = _attach(steps, roots, children)
    root = next((entries[i] for i in roots if not entries[i].get("parent_span_id")), entries[roots[0]] if roots else {})
    return Trace(NAME, input=_value(root.get("input")), steps=top, final_answer=_value(root.get("output")))


def _attach(steps: list[Step], roots: list[int], children: dict[int, list[int]]) -> list[Step]:
    """Each span under its parent, breadth first from the roots; a span reached twice (parent ids that
    form a cycle, which only a hostile export can send) is attached once, so the tree stays a tree."""
    seen: set[int] = set()
    top: list[Step] = []
    for start in [*roots, *range(len(steps))]:  # then whatever a cycle kept from every root
        if start in seen:
            continue
        seen.add(start)
        top.append(steps[start])
        queue = deque([start])
        while queue:
            node = queue.popleft()
            for child in children.get(node, ()):
                if child not in seen:
                    seen.add(child)
                    steps[node].children.append(steps[child])
                    queue.append(child)
    return top


def _value(value: Any) -> Any:
    if SKETCH.get():  # a span's errors come from its events and status, never from its input/output
        return value
    return json_or_text(value) if isinstance(value, str) else content(value)


def _kind(entry: dict) -> str:
    kind = step_kind(entry.get("kind"))
    if kind == "other" and entry.get("tool"):
        return "tool"
    if kind == "other" and entry.get("model") and (entry.get("input_tokens") is not None or entry.get("output_tokens") is not None):
        return "llm"  # an instrumentation that names no kind but reports a model call
    return kind


def _errors(entry: dict) -> list[ErrorInfo]:
    found = []
    for exc in entry.get("exceptions") or []:
        exc = as_dict(exc)
        message = exc.get("message") or exc.get("type") or "exception"
        trace = exc.get("stacktrace")
        found.append(ErrorInfo(clip_text(str(message)), clip_name(exc.get("type")),
                               clip_text(trace) if isinstance(trace, str) else None))
    status = as_dict(entry.get("status"))
    if not found and status.get("code") == "ERROR":
        found.append(ErrorInfo(clip_text(str(status.get("message") or "the span's status is ERROR"))))
    return found


def _step(entry: dict, path: str) -> Step:
    kind = _kind(entry)
    start, end = entry.get("start_time_unix_nano"), entry.get("end_time_unix_nano")
    started = duration = None
    if isinstance(start, int) and start > 0:
        started = start / 1e9
        duration = (end - start) / 1e9 if isinstance(end, int) and end >= start else None
    name = entry.get("tool") if kind == "tool" and entry.get("tool") else entry.get("name")
    step = Step(kind, path, name=clip_name(name), input=_value(entry.get("input", entry.get("input_messages"))),
                output=_value(entry.get("output", entry.get("output_messages"))), started_at=started, duration=duration,
                model=clip_name(entry.get("model")) if isinstance(entry.get("model"), str) else None)
    if is_llm(entry) or kind == "llm":
        step.input_tokens, step.output_tokens = count(entry.get("input_tokens")), count(entry.get("output_tokens"))
    errors = _errors(entry)
    if errors:
        step.error = errors[0]
        # Every further exception of the span (a retried call that failed twice) is a step of its own.
        step.children.extend(Step("error", path, name=e.type, error=e) for e in errors[1:])
    if step.input is None and step.output is None and entry.get("attributes"):
        step.input = clip(entry["attributes"])  # no input/output convention: what the span says
    return step
