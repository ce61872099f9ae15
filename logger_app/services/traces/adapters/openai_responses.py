"""OpenAI Responses API items, as a response's `output`, a request's `input`, the Agents SDK's
result.to_input_list() (`items`) or its result.new_items / RunState.to_json()["generated_items"]
(each item wrapped as {type: "tool_call_item", raw_item: {...}, agent: {name}}).

Items: function_call {name, arguments (JSON string), call_id}, function_call_output {call_id,
output}, reasoning {summary: [{text}]} (or content: [{text}]), message {role, content: [{type:
"output_text", text}]}, and the hosted tools (web_search_call, file_search_call, mcp_call, …)."""

from __future__ import annotations

from ..bounds import bounded, clip, clip_name
from ..fields import as_dict, content, json_or_text, pick, step_error, tag
from ..model import ErrorInfo, Step, Trace
from .transcript import Transcript

NAME = "OpenAI Responses / Agents SDK items"
HISTORIES = ("items", "generated_items")  # whole histories: they already hold the input
LISTS = ("input", *HISTORIES, "new_items", "output")
OUTPUTS = {"function_call_output", "custom_tool_call_output", "computer_call_output", "local_shell_call_output"}
ITEM_TYPES = {"function_call", "reasoning", "message", "custom_tool_call", "web_search_call", "file_search_call",
              "computer_call", "code_interpreter_call", "mcp_call", "image_generation_call", "local_shell_call"} | OUTPUTS
SDK_TOOL_ERROR = "An error occurred while running the tool."  # agents.tool.default_tool_error_function


def _is_item(item) -> bool:
    return isinstance(item, dict) and ("raw_item" in item or tag(item.get("type")) in ITEM_TYPES)


def claims(payload: dict) -> bool:
    return any(isinstance(payload.get(key), list) and any(_is_item(i) for i in payload[key][:50]) for key in LISTS)


def _sources(payload: dict) -> list[str]:
    history = next((k for k in HISTORIES if isinstance(payload.get(k), list)), None)
    keys = ([] if history else ["input"]) + ([history] if history else []) + ["new_items", "output"]
    return [k for k in keys if isinstance(payload.get(k), list)]


def read(payload: dict) -> Trace:
    talk, seen = Transcript(), set[int]()
    for key in _sources(payload):
        for index, item in enumerate(bounded(payload[key])):
            _item(talk, item, f"payload.{key}[{index}]", seen)
    steps, answer = talk.finish()
    question = talk.question if talk.question is not None else clip(pick(payload, "original_input", "input"))
    final = content(pick(payload, "final_output", "output_text"))
    return Trace(NAME, input=question, steps=steps, final_answer=final if final is not None else answer)


def _item(talk: Transcript, item, path: str, seen: set) -> None:
    if not isinstance(item, dict):
        talk.add(Step("other", path, output=clip(item)))
        return
    wrapper = item.get("type", "") if "raw_item" in item else None  # the SDK's RunItem type
    raw = as_dict(item["raw_item"]) if wrapper is not None else item
    kind = tag(raw.get("type")) or ("message" if "role" in raw else None)
    ident = tag(raw.get("call_id")) or tag(raw.get("id"))
    if ident is not None:  # the same item logged twice (an input list and new items): once
        if (kind, ident) in seen:
            return
        seen.add((kind, ident))
    if kind == "message":
        _message(talk, raw, path)
    elif kind == "reasoning":
        text = content(raw.get("summary")) or content(raw.get("content"))
        if isinstance(text, str) and text:
            talk.add(Step("thought", path, output=text))
    elif kind in ("function_call", "custom_tool_call"):
        arguments = raw.get("arguments") if kind == "function_call" else raw.get("input")
        step_kind = "agent" if wrapper == "handoff_call_item" else "tool"
        talk.call(raw.get("call_id"), Step(step_kind, path, name=clip_name(raw.get("name")), input=json_or_text(arguments)))
    elif kind in OUTPUTS:
        output = raw.get("output")
        shown = json_or_text(output) if isinstance(output, str) else content(output)
        talk.result(raw.get("call_id"), shown, _output_error(raw, output), path)
    elif kind == "file_search_call":
        talk.add(Step("retrieval", path, name="file_search", input=clip(raw.get("queries")),
                      output=clip(raw.get("results")), error=step_error(raw)))
    elif kind == "web_search_call":
        talk.add(Step("retrieval", path, name="web_search", input=clip(raw.get("action")), error=step_error(raw)))
    elif kind is not None and kind.endswith("_call"):  # mcp_call, code_interpreter_call, computer_call, …
        name = raw.get("name") if kind == "mcp_call" else kind[: -len("_call")]
        rest = {k: v for k, v in raw.items() if k not in ("type", "id", "call_id", "status", "output", "outputs", "error")}
        step = Step("tool", path, name=clip_name(name), input=json_or_text(rest.get("arguments", rest)),
                    output=clip(pick(raw, "output", "outputs", "result")), error=step_error(raw))
        talk.call(raw.get("call_id"), step)
    else:
        talk.add(Step("other", path, name=clip_name(wrapper or kind), output=clip(raw)))


def _message(talk: Transcript, raw: dict, path: str) -> None:
    role, text = raw.get("role"), content(raw.get("content"))
    if role == "user":
        talk.user(text, path)
    elif role == "assistant":
        talk.add(Step("message", path, name="assistant", output=text))
    else:
        talk.add(Step("message", path, name=clip_name(role), output=text))


def _output_error(raw: dict, output) -> ErrorInfo | None:
    info = step_error(raw, output)
    if info is None and isinstance(output, str) and output.startswith(SDK_TOOL_ERROR):
        info = ErrorInfo(clip(output))
    return info
