"""OpenAI Chat Completions transcripts: payload.messages, where assistant messages carry tool_calls
[{id, type: "function", function: {name, arguments}}] (arguments: a JSON string, shown parsed) and
{role: "tool", tool_call_id, content} messages carry the results. The legacy function_call /
role "function" pair is read too, matched by order.

LangChain chat messages serialised with model_dump ({type: "human"|"ai"|"tool", content,
tool_calls: [{name, args, id}], tool_call_id, status}, as LangGraph agents return them) are the same
conversation in other words, so they are read here too, under their own shape name."""

from __future__ import annotations

from ..bounds import bounded, clip, clip_name
from ..fields import (
    as_dict,
    content,
    json_or_text,
    model_name,
    pick,
    step_error,
    tag,
    tokens,
)
from ..model import Step, Trace
from .transcript import Transcript

NAME = "OpenAI Chat Completions messages"
LANGCHAIN = "LangChain messages"
ROLES = {"system", "developer", "user", "assistant", "tool", "function"}
LANGCHAIN_ROLES = {"human": "user", "ai": "assistant", "tool": "tool", "system": "system", "function": "function"}
ANTHROPIC_BLOCKS = {"tool_use", "tool_result", "thinking", "redacted_thinking", "server_tool_use"}


def role_of(message: dict) -> str | None:
    """The OpenAI role, or the LangChain message type as one."""
    return tag(message.get("role")) or LANGCHAIN_ROLES.get(tag(message.get("type")) or "")


def claims(payload: dict) -> bool:
    messages = payload.get("messages")
    if not isinstance(messages, list):
        return False
    chat = False
    for message in messages[:200]:
        if not isinstance(message, dict):
            continue
        if isinstance(message.get("content"), list) and any(
                isinstance(b, dict) and tag(b.get("type")) in ANTHROPIC_BLOCKS for b in message["content"][:50]):
            return False  # Anthropic content blocks: that adapter's
        chat = chat or role_of(message) in ROLES
    return chat


def read(payload: dict) -> Trace:
    talk = Transcript()
    functions: list[Step] = []  # legacy function_call steps waiting for their role "function" result
    dialect = NAME
    for index, message in enumerate(bounded(payload["messages"])):
        path = f"payload.messages[{index}]"
        if not isinstance(message, dict):
            talk.add(Step("other", path, output=clip(message)))
            continue
        if "role" not in message and tag(message.get("type")) in LANGCHAIN_ROLES:
            dialect = LANGCHAIN
        role, text = role_of(message), content(message.get("content"))
        first = len(talk.steps)
        if role == "user":
            talk.user(text, path)
        elif role in ("system", "developer"):
            talk.add(Step("message", path, name=role, output=text))
        elif role == "assistant":
            _assistant(talk, message, text, path, functions)
        elif role == "tool":
            talk.result(message.get("tool_call_id"), text, step_error(message, text), path,
                        name=clip_name(message.get("name")))
        elif role == "function":
            if functions:
                call = functions.pop(0)
                call.output, call.error = text, step_error(message, text)
            else:
                talk.add(Step("tool", path, name=clip_name(message.get("name")), output=text))
        else:
            talk.add(Step("other", path, output=clip(message)))
        if role == "assistant":
            # LangChain keeps the model under response_metadata and the tokens under usage_metadata.
            model = model_name(message) or model_name(as_dict(message.get("response_metadata")))
            talk.usage(first, model, tokens(message))
    steps, answer = talk.finish()
    return Trace(dialect, input=talk.question, steps=steps, final_answer=answer)


def _assistant(talk: Transcript, message: dict, text, path: str, functions: list[Step]) -> None:
    reasoning = pick(message, "reasoning_content", "reasoning")  # DeepSeek and others: the model's thinking
    if isinstance(reasoning, str) and reasoning:
        talk.add(Step("thought", f"{path}.reasoning_content", output=clip(reasoning)))
    calls = message.get("tool_calls")
    calls = calls if isinstance(calls, list) else []
    if text:
        talk.add(Step("thought" if calls or message.get("function_call") else "message", path,
                      name=None if calls else "assistant", output=text))
    for index, call in enumerate(bounded(calls)):
        call = as_dict(call)
        function = as_dict(call.get("function"))
        name = pick(function, "name") if function else call.get("name")
        arguments = function.get("arguments") if function else pick(call, "args", "arguments")
        talk.call(call.get("id"), Step("tool", f"{path}.tool_calls[{index}]", name=clip_name(name),
                                       input=json_or_text(arguments)))
    legacy = as_dict(message.get("function_call"))
    if legacy:
        step = talk.add(Step("tool", f"{path}.function_call", name=clip_name(legacy.get("name")),
                             input=json_or_text(legacy.get("arguments"))))
        functions.append(step)
