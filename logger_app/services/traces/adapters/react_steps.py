"""Flat ReAct step lists, the shape hand-written agents and LlamaIndex's ReActAgent log: a list under
iterations/steps/react_steps/trace/history of {thought|reasoning, action (a tool name, or
{tool|name, input|args}), action_input|tool_input|input, observation|result|output, error}.

LlamaIndex dumps each reasoning step on its own: {thought, action, action_input}, then
{observation}, then {thought, response}; an observation alone completes the call before it."""

from __future__ import annotations

from ..bounds import bounded, clip, clip_name
from ..fields import as_dict, json_or_text, model_name, pick, step_error, timing, tokens
from ..model import Step, Trace

NAME = "ReAct steps"
KEYS = ("iterations", "steps", "react_steps", "trace", "history")
REACT_KEYS = {"thought", "reasoning", "action", "action_input", "tool_input", "observation"}
ANSWER_KEYS = ("final_answer", "answer", "response")


def _steps_of(payload: dict) -> tuple[str, list] | None:
    for key in KEYS:
        items = payload.get(key)
        if isinstance(items, list) and any(_is_react(item) for item in items[:20]):
            return key, items
    return None


def _is_react(item) -> bool:
    # A step with a "type" belongs to the typed-step adapter, unless it also speaks ReAct.
    return isinstance(item, dict) and (not REACT_KEYS.isdisjoint(item) or ("tool" in item and "type" not in item))


def claims(payload: dict) -> bool:
    return _steps_of(payload) is not None


def read(payload: dict) -> Trace:
    key, items = _steps_of(payload) or ("", [])  # claims() saw the list already
    steps: list[Step] = []
    answer = None
    for index, item in enumerate(bounded(items)):
        path = f"payload.{key}[{index}]"
        if not isinstance(item, dict):
            steps.append(Step("other", path, output=clip(item)))
            continue
        made = _step(item, path, steps)
        steps.extend(made)
        answer = next((s.output for s in made if s.kind == "answer"), answer)
    final = pick(payload, "final_answer", "answer", "output", "result")
    return Trace(NAME, input=clip(pick(payload, "input", "question", "query", "task")), steps=steps,
                 final_answer=clip(final) if final is not None else answer)


def _step(item: dict, path: str, before: list[Step]) -> list[Step]:
    made = []
    thought = pick(item, "thought", "reasoning")
    if thought is not None:
        made.append(Step("thought", f"{path}.thought", output=clip(thought)))
    action = item.get("action")
    act = as_dict(action)
    name = pick(act, "tool", "name") if act else (action if action is not None else item.get("tool"))
    raw_input = pick(act, "input", "args", "arguments") if act else None
    if raw_input is None:
        raw_input = pick(item, "action_input", "tool_input", "input", "args")
    output = pick(item, "observation", "result", "output")
    start, duration = timing(item)
    if name is not None:
        step = Step("tool", path, name=clip_name(name), input=json_or_text(raw_input), output=clip(output),
                    started_at=start, duration=duration, model=model_name(item))
        step.input_tokens, step.output_tokens = tokens(item)
        step.error = step_error(item, output)
        made.append(step)
    elif output is not None and _open_call(before):  # LlamaIndex: the observation of the call before
        before[-1].output, before[-1].error = clip(output), step_error(item, output)
    elif (answer := pick(item, *ANSWER_KEYS)) is not None:
        made.append(Step("answer", path, output=clip(answer), started_at=start, duration=duration))
    elif (error := step_error(item)) is not None:
        made.append(Step("error", path, name=error.type, error=error, started_at=start, duration=duration))
    elif not made:
        made.append(Step("other", path, output=clip(item), started_at=start, duration=duration))
    return made


def _open_call(before: list[Step]) -> bool:
    return bool(before) and before[-1].kind == "tool" and before[-1].output is None
