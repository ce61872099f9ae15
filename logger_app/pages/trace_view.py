"""Rendering one log's ReAct trace. The payload is whatever the agent sent: any field may be missing,
null, a list where a dict is expected, or huge; every function here must degrade to plain text."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from .view_utils import fmt_seconds, long_text, to_text

MAX_STEPS = 200  # more iterations than this is a runaway agent; the raw download has them all
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


def timeline(steps: Any) -> None:
    steps = as_list(steps)
    if not steps:
        ui.label("No ReAct iterations recorded.").classes("text-grey-7")
        return
    with ui.timeline(side="right", layout="dense").classes("w-full"):
        for index, step in enumerate(steps[:MAX_STEPS], start=1):
            if not isinstance(step, dict):
                with ui.timeline_entry(title=f"Step {index}", icon="help_outline"):
                    long_text(step, code=True)
                continue
            action = step.get("action")
            tool = as_dict(action).get("tool") if isinstance(action, dict) else None
            failed = isinstance(step.get("observation"), str) and step["observation"].lower().startswith("error")
            number = step.get("iteration") if isinstance(step.get("iteration"), int) else index
            title = f"Iteration {number}" + (f" · {to_text(tool)[:80]}" if tool is not None else "")
            duration = _number(step.get("duration_seconds"))
            with ui.timeline_entry(title=title, subtitle=fmt_seconds(duration) if duration is not None else None,
                                   icon="error" if failed else "psychology", color="negative" if failed else None):
                field("Thought", step.get("thought"))
                if isinstance(action, dict):
                    field("Action input", action.get("input"), code=True)
                    rest = {k: v for k, v in action.items() if k not in ("tool", "input")}
                    field("Action (other fields)", rest or None, code=True)
                else:
                    field("Action", action, code=True)
                field("Observation", step.get("observation"))
                others = {k: v for k, v in step.items()
                          if k not in ("iteration", "thought", "action", "observation", "duration_seconds")}
                field("Other fields", others or None, code=True)
    if len(steps) > MAX_STEPS:
        ui.label(f"… {len(steps) - MAX_STEPS} more iterations — download the raw log").classes("text-grey-7")


def tool_calls(calls: Any) -> None:
    calls = as_list(calls)
    if not calls:
        ui.label("No tool calls recorded.").classes("text-grey-7")
        return
    for index, call in enumerate(calls[:MAX_ITEMS], start=1):
        with ui.card().classes("w-full").props("flat bordered"):
            if not isinstance(call, dict):
                long_text(call, code=True)
                continue
            with ui.row().classes("items-center gap-2"):
                ui.label(f"#{index}").classes("text-grey-7")
                ui.label(to_text(call.get("tool", call.get("name", "tool")))[:200]).classes("font-bold")
                duration = _number(call.get("duration_seconds"))
                if duration is not None:
                    ui.label(fmt_seconds(duration)).classes("text-grey-7")
            field("Input", call.get("input"), code=True)
            field("Output", call.get("output"), code=True)
            others = {k: v for k, v in call.items() if k not in ("tool", "name", "input", "output", "duration_seconds")}
            field("Other fields", others or None, code=True)
    if len(calls) > MAX_ITEMS:
        ui.label(f"… {len(calls) - MAX_ITEMS} more tool calls — download the raw log").classes("text-grey-7")


def errors(items: Any) -> None:
    for item in as_list(items)[:MAX_ITEMS]:
        with ui.card().classes("w-full bg-red-1 dark:bg-red-10").props("flat bordered"):
            if not isinstance(item, dict):
                long_text(item, code=True)
                continue
            with ui.row().classes("items-center gap-2"):
                ui.icon("error", color="negative")
                ui.label(to_text(item.get("type") or "Error")[:200]).classes("font-bold text-negative")
            long_text(item.get("message"))
            field("Traceback", item.get("traceback"), code=True)
            others = {k: v for k, v in item.items() if k not in ("type", "message", "traceback")}
            field("Other fields", others or None, code=True)


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
