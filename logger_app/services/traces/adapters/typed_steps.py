"""Typed step lists: a list under steps/trace/history/iterations/events/timeline of
{type|kind: "thought"|"llm"|"tool"|…, name, input, output|content, error, model, usage, duration,
children}. The generic shape of home-grown agents and tracers; nested `children` (or `steps`,
`spans`) become nested steps. Type names are matched loosely (tool_call, reasoning, final_answer …)."""

from __future__ import annotations

from ..bounds import MAX_DEPTH, MAX_STEPS, bounded, clip, clip_name
from ..fields import (
    content,
    error_info,
    json_or_text,
    model_name,
    pick,
    step_error,
    timing,
    tokens,
)
from ..model import KINDS, ErrorInfo, Step, Trace

NAME = "Typed steps"
KEYS = ("steps", "trace", "history", "iterations", "react_steps", "events", "timeline")
ALIASES = {
    "reasoning": "thought", "thinking": "thought", "plan": "thought",
    "llm_call": "llm", "generation": "llm", "completion": "llm", "chat": "llm", "model": "llm",
    "tool_call": "tool", "function_call": "tool", "action": "tool", "function": "tool",
    "retriever": "retrieval", "search": "retrieval", "handoff": "agent", "workflow": "chain",
    "exception": "error", "final_answer": "answer", "final": "answer",
}
RESULTS = {"observation", "tool_result", "function_result"}  # the result of the call before
TEXT_KINDS = {"thought", "message", "answer", "llm"}
CHILD_KEYS = ("children", "steps", "spans", "substeps")


def _kind(item) -> str | None:
    if not isinstance(item, dict):
        return None
    value = pick(item, "type", "kind")
    if not isinstance(value, str):
        return None
    value = value.lower()
    return value if value in KINDS or value in RESULTS else ALIASES.get(value)


def _steps_of(payload: dict) -> tuple[str, list] | None:
    for key in KEYS:
        items = payload.get(key)
        if isinstance(items, list) and any(_kind(item) for item in items[:20]):
            return key, items
    return None


def claims(payload: dict) -> bool:
    return _steps_of(payload) is not None


def read(payload: dict) -> Trace:
    key, items = _steps_of(payload) or ("", [])  # claims() saw the list already
    budget = [MAX_STEPS]
    steps = _read_list(items, f"payload.{key}", 0, budget)
    answer = next((s.output for s in reversed(steps) if s.kind == "answer"), None)
    final = pick(payload, "final_answer", "answer", "output", "result")
    return Trace(NAME, input=clip(pick(payload, "input", "question", "query", "task")), steps=steps,
                 final_answer=clip(final) if final is not None else answer)


def _read_list(items: list, path: str, depth: int, budget: list[int]) -> list[Step]:
    steps: list[Step] = []
    for index, item in enumerate(bounded(items)):
        if budget[0] <= 0:
            break
        budget[0] -= 1
        here = f"{path}[{index}]"
        kind = _kind(item)
        if kind in RESULTS:
            output = clip(pick(item, "output", "result", "observation", "content"))
            if steps and steps[-1].kind == "tool" and steps[-1].output is None:
                steps[-1].output, steps[-1].error = output, step_error(item, output)
                continue
            kind = "tool"
        steps.append(_step(item, kind or "other", here, depth, budget))
    return steps


def _step(item, kind: str, path: str, depth: int, budget: list[int]) -> Step:
    if not isinstance(item, dict):
        return Step("other", path, output=clip(item))
    raw_output = pick(item, "output", "result", "observation", "content", "text", "response", "completion")
    output = content(raw_output) if kind in TEXT_KINDS else json_or_text(raw_output)
    start, duration = timing(item)
    step = Step(kind, path, name=clip_name(pick(item, "name", "tool", "tool_name", "title")),
                input=json_or_text(pick(item, "input", "args", "arguments", "tool_input", "params", "prompt")),
                output=output, started_at=start, duration=duration, model=model_name(item))
    step.input_tokens, step.output_tokens = tokens(item)
    step.error = step_error(item, raw_output)
    if kind == "error" and step.error is None:
        step.error = error_info(pick(item, "message", "content", "text")) or ErrorInfo("error")
        step.name = step.name or step.error.type
    children = next((item[k] for k in CHILD_KEYS if isinstance(item.get(k), list)), None)
    if children and depth < MAX_DEPTH:  # one level more than kept, so the reader sees (and says) it was cut
        child_key = next(k for k in CHILD_KEYS if item.get(k) is children)
        step.children = _read_list(children, f"{path}.{child_key}", depth + 1, budget)
    return step
