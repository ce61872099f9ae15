"""Anthropic Messages transcripts: payload.messages whose content is a list of blocks: text,
thinking {thinking, signature}, redacted_thinking, tool_use {id, name, input} from the assistant and
tool_result {tool_use_id, content (a string or text blocks), is_error} from the user, matched by id.
Server tools (web search, code execution, MCP) pair *_tool_use with *_tool_result the same way.
A single Message response ({type: "message", role: "assistant", content: [...]}) is read as a
one-message transcript; its model and usage go on the first step of that turn. LangChain messages
from langchain-anthropic (type "ai" with these blocks, then type "tool" results) read the same way."""

from __future__ import annotations

from ..bounds import bounded, clip, clip_name
from ..fields import as_dict, content, model_name, step_error, tag, tokens
from ..model import ErrorInfo, Step, Trace
from .openai_chat import ANTHROPIC_BLOCKS, role_of
from .transcript import Transcript

NAME = "Anthropic Messages"


def _messages(payload: dict) -> tuple[str, list] | None:
    messages = payload.get("messages")
    if isinstance(messages, list) and any(_has_blocks(m) for m in messages[:200]):
        return "payload.messages", messages
    if payload.get("type") == "message" and payload.get("role") == "assistant" and isinstance(payload.get("content"), list):
        return "payload", [payload]
    return None


def _has_blocks(message) -> bool:
    blocks = message.get("content") if isinstance(message, dict) else None
    return isinstance(blocks, list) and any(isinstance(b, dict) and tag(b.get("type")) in ANTHROPIC_BLOCKS for b in blocks[:50])


def claims(payload: dict) -> bool:
    return _messages(payload) is not None


def read(payload: dict) -> Trace:
    prefix, messages = _messages(payload) or ("", [])  # claims() saw the list already
    talk = Transcript()
    for index, message in enumerate(bounded(messages)):
        path = f"{prefix}[{index}]" if prefix != "payload" else prefix
        if not isinstance(message, dict):
            talk.add(Step("other", path, output=clip(message)))
            continue
        blocks, role = message.get("content"), role_of(message)
        if role == "assistant":
            first = len(talk.steps)
            if isinstance(blocks, list):
                for number, block in enumerate(bounded(blocks)):
                    _assistant_block(talk, as_dict(block), f"{path}.content[{number}]")
            else:
                talk.add(Step("message", path, name="assistant", output=content(blocks)))
            talk.usage(first, model_name(message), tokens(message))
        elif role == "tool":  # LangChain's ToolMessage after a Claude tool_use (langchain-anthropic)
            text = content(blocks)
            talk.result(message.get("tool_call_id"), text, step_error(message, text), path, clip_name(message.get("name")))
        elif isinstance(blocks, list):
            texts = [b.get("text") for b in blocks[:200] if isinstance(b, dict) and b.get("type") == "text"]
            for number, block in enumerate(bounded(blocks)):
                block = as_dict(block)
                if str(block.get("type", "")).endswith("tool_result"):
                    _result(talk, block, f"{path}.content[{number}]")
            if texts:
                talk.user(content("\n".join(t for t in texts if isinstance(t, str))), path)
        else:
            talk.user(content(blocks), path)
    steps, answer = talk.finish()
    return Trace(NAME, input=talk.question, steps=steps, final_answer=answer)


def _assistant_block(talk: Transcript, block: dict, path: str) -> None:
    kind = block.get("type")
    if kind == "thinking":
        talk.add(Step("thought", path, output=clip(block.get("thinking"))))
    elif kind == "redacted_thinking":  # encrypted by the API: there is nothing to read, only that it was there
        talk.add(Step("thought", path, output="(redacted thinking)"))
    elif kind == "text":
        talk.add(Step("message", path, name="assistant", output=clip(block.get("text"))))
    elif isinstance(kind, str) and kind.endswith("tool_use"):  # tool_use, server_tool_use, mcp_tool_use
        talk.call(block.get("id"), Step("tool", path, name=clip_name(block.get("name")), input=clip(block.get("input"))))
    elif isinstance(kind, str) and kind.endswith("tool_result"):  # a server tool's result, in the same turn
        _result(talk, block, path)
    else:
        talk.add(Step("other", path, name=clip_name(kind), output=clip(block)))


def _result(talk: Transcript, block: dict, path: str) -> None:
    raw = block.get("content")
    output = content(raw)
    error = step_error(block, output if isinstance(output, str) else None)
    if error is None and isinstance(raw, dict) and str(raw.get("type", "")).endswith("_error"):
        error = ErrorInfo(clip(str(raw.get("error_code", raw["type"]))), clip_name(raw.get("type")))
    talk.result(block.get("tool_use_id"), output, error, path)
