"""This project's own shape (logger_app/demo.py, and the README's examples): payload.react_iterations
[{iteration, thought, action: {tool, input}, observation, duration_seconds}], payload.tool_calls
[{tool, input, output, duration_seconds}], payload.errors, payload.final_answer."""

from __future__ import annotations

from ..bounds import bounded, clip, clip_name
from ..fields import as_dict, error_info, number, pick, step_error
from ..model import ErrorInfo, Step, Trace

NAME = "Central Logger ReAct iterations"


def claims(payload: dict) -> bool:
    return isinstance(payload.get("react_iterations"), list) or (
        isinstance(payload.get("tool_calls"), list) and "messages" not in payload and "role" not in payload)


def read(payload: dict) -> Trace:
    iterations = payload.get("react_iterations")
    if isinstance(iterations, list):
        steps = [s for i, item in enumerate(bounded(iterations)) for s in _iteration(item, f"payload.react_iterations[{i}]")]
    else:  # only the flat list of calls: the same calls, without the thoughts
        steps = [_call(item, f"payload.tool_calls[{i}]") for i, item in enumerate(bounded(payload.get("tool_calls")))]
    return Trace(NAME, input=clip(payload.get("input")), steps=steps, final_answer=clip(payload.get("final_answer")))


def _iteration(item, path: str) -> list[Step]:
    if not isinstance(item, dict):
        return [Step("other", path, output=clip(item))]
    steps = []
    if item.get("thought") is not None:
        steps.append(Step("thought", f"{path}.thought", output=clip(item["thought"])))
    action, observation = item.get("action"), item.get("observation")
    if action is not None or observation is not None:
        act = as_dict(action)
        step = Step("tool", path, name=clip_name(act.get("tool")) if act else clip_name(action),
                    input=clip(act.get("input")) if act else None, output=clip(observation),
                    duration=number(item.get("duration_seconds")))
        step.error = step_error(item, observation) or _error_observation(observation)
        steps.append(step)
    return steps or [Step("other", path, output=clip(item))]


def _call(item, path: str) -> Step:
    if not isinstance(item, dict):
        return Step("other", path, output=clip(item))
    output = item.get("output")
    return Step("tool", path, name=clip_name(pick(item, "tool", "name")), input=clip(item.get("input")),
                output=clip(output), duration=number(item.get("duration_seconds")),
                error=step_error(item, output) or error_info(as_dict(output).get("error")))


def _error_observation(observation) -> ErrorInfo | None:
    # The demo (and the page before this model) marks a failed tool by an observation "error: …".
    if isinstance(observation, str) and observation[:6].lower() == "error:":
        return ErrorInfo(clip(observation))
    return None
