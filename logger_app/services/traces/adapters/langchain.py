"""LangChain AgentExecutor(return_intermediate_steps=True) output: {input, output,
intermediate_steps: [(AgentAction, observation), ...]} as JSON.

The action arrives in one of three forms, depending on how the caller serialised it:
- a dict {tool, tool_input, log[, type, message_log, tool_call_id]} (pydantic's model_dump);
- a list [tool, tool_input, log] (json.dumps of the NamedTuple AgentAction of langchain < 0.1);
- langchain's own dumpd(): {lc: 1, type: "constructor", id: [..., "AgentAction"], kwargs: {...}}.
A step may also be an AgentStep dict {action, observation}. The action `log` holds the model's text:
for ReAct agents the thought before "Action:", for tool-calling agents the text after "responded:".
The tool "_Exception" is how AgentExecutor(handle_parsing_errors=...) records an unparsable reply."""

from __future__ import annotations

from ..bounds import bounded, clip, clip_name
from ..fields import as_dict, content
from ..model import ErrorInfo, Step, Trace

NAME = "LangChain intermediate steps"
PARSE_ERROR_TOOL = "_Exception"


def claims(payload: dict) -> bool:
    return isinstance(payload.get("intermediate_steps"), list)


def read(payload: dict) -> Trace:
    steps: list[Step] = []
    for index, entry in enumerate(bounded(payload["intermediate_steps"])):
        path = f"payload.intermediate_steps[{index}]"
        action, observation = _pair(entry)
        if action is None:
            steps.append(Step("other", path, output=clip(entry)))
            continue
        tool, tool_input, log = action
        thought = _thought(log)
        if thought:
            steps.append(Step("thought", f"{path}.log", output=clip(thought)))
        if tool == PARSE_ERROR_TOOL:
            steps.append(Step("error", path, name="OutputParserException", input=clip(log),
                              output=clip(observation), error=ErrorInfo(clip(str(tool_input)), "OutputParserException")))
        else:
            steps.append(Step("tool", path, name=clip_name(tool), input=clip(tool_input), output=clip(observation)))
    return Trace(NAME, input=clip(payload.get("input")), steps=steps, final_answer=content(payload.get("output")))


def _pair(entry) -> tuple[tuple | None, object]:
    if isinstance(entry, dict) and "action" in entry:  # AgentStep
        return _action(entry["action"]), entry.get("observation")
    if isinstance(entry, (list, tuple)) and len(entry) == 2:
        return _action(entry[0]), entry[1]
    return None, None


def _action(value) -> tuple | None:
    if isinstance(value, (list, tuple)) and len(value) == 3:  # the old NamedTuple, as json.dumps wrote it
        return value[0], value[1], value[2]
    data = as_dict(value)
    if data.get("lc") == 1 and isinstance(data.get("kwargs"), dict):  # langchain_core.load.dumpd
        data = data["kwargs"]
    if "tool" not in data:
        return None
    return data.get("tool"), data.get("tool_input"), data.get("log")


def _thought(log) -> str | None:
    if not isinstance(log, str):
        return None
    text = log
    if "responded:" in text:  # tool-calling agents: "\nInvoking: `x` with `{…}`\nresponded: <text>\n\n"
        text = text.split("responded:", 1)[1]
    elif "Action:" in text:  # ReAct: "<thought>\nAction: Search\nAction Input: …"
        text = text.split("Action:", 1)[0]
    elif text.lstrip().startswith("Invoking:"):  # generated, no model text in it
        return None
    text = text.strip()
    if text.startswith("Thought:"):
        text = text[len("Thought:"):].strip()
    return text or None
