"""One decoded span -> the entry a log's payload stores (payload.otel.spans[i]).

The entry is self-sufficient: assemble.py rebuilds a whole log from stored entries alone when a
later export brings more spans of the trace, so everything the mapping needs is lifted out of the
attributes into plain keys here, once, before redaction. That matters because the redactor walks
attribute names too: `gen_ai.usage.input_tokens` and `llm.token_count.prompt` contain "token"
and are redacted as credentials under the default rules (is_token_count() refuses the "gen", "ai"
and "llm" words), and `session.id` ends with the default redact key session_id. Lifted out as
`input_tokens`, `output_tokens` and `ticket_id`, they survive the redactor exactly as the same
keys of a posted log do. Pure functions; no protobuf here (the trace adapter imports this)."""

from __future__ import annotations

import json
from typing import Any

# The kind of a span: OpenInference's openinference.span.kind, else GenAI's gen_ai.operation.name.
KIND_KEYS = ("openinference.span.kind", "gen_ai.operation.name")
# Kind values (compared lowercased) -> the trace model's step kinds (services/traces/model.KINDS).
STEP_KINDS = {
    "llm": "llm", "chat": "llm", "text_completion": "llm", "generate_content": "llm", "embedding": "llm",
    "embeddings": "llm", "tool": "tool", "execute_tool": "tool", "agent": "agent", "invoke_agent": "agent",
    "create_agent": "agent", "chain": "chain", "invoke_workflow": "chain", "retriever": "retrieval",
    "retrieval": "retrieval", "reranker": "retrieval", "plan": "thought", "guardrail": "chain",
    "evaluator": "chain", "prompt": "chain", "decision": "thought",
}
# Model calls whose tokens are summed: never agent spans, which carry the run's totals.
LLM_KINDS = {"llm", "chat", "text_completion", "generate_content"}
TICKET_KEYS = ("ticket.id", "session.id", "gen_ai.conversation.id", "langfuse.session.id")
MODEL_KEYS = ("llm.model_name", "gen_ai.response.model", "gen_ai.request.model")
INPUT_TOKEN_KEYS = ("gen_ai.usage.input_tokens", "llm.token_count.prompt", "gen_ai.usage.prompt_tokens")
OUTPUT_TOKEN_KEYS = ("gen_ai.usage.output_tokens", "llm.token_count.completion", "gen_ai.usage.completion_tokens")
TOOL_KEYS = ("tool.name", "gen_ai.tool.name")
INPUT_KEYS = ("input.value", "gen_ai.tool.call.arguments", "gen_ai.input.messages", "gen_ai.prompt")
OUTPUT_KEYS = ("output.value", "gen_ai.tool.call.result", "gen_ai.output.messages", "gen_ai.completion")
# Lifted into the entry's own keys, so not kept twice under attributes.
LIFTED = {*KIND_KEYS, *MODEL_KEYS, *INPUT_TOKEN_KEYS, *OUTPUT_TOKEN_KEYS, *TOOL_KEYS, *INPUT_KEYS, *OUTPUT_KEYS,
          "llm.token_count.total", "ticket.id", "ticket.category", "ticket.confidence", "ticket.iterations"}
MESSAGE_PREFIXES = {"llm.input_messages.": "input_messages", "llm.output_messages.": "output_messages"}
EVALUATION_EVENT = "gen_ai.evaluation.result"


def first(attrs: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = attrs.get(key)
        if value is not None and value != "":
            return value
    return None


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isdigit():  # OTLP/JSON sends 64-bit ints as strings
        value = int(value)
    if isinstance(value, (int, float)) and value >= 0:
        return int(value)
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, (int, float)) and value == value and abs(value) != float("inf"):
        return float(value)
    return None


def _messages(attrs: dict[str, Any]) -> tuple[dict[str, list], set[str]]:
    """OpenInference's flattened llm.input_messages.N.message.role|content|tool_calls.M... as lists of
    {role, content, ...} dicts (the rest of each key kept as written below the message)."""
    found: dict[str, dict[int, dict[str, Any]]] = {}
    used: set[str] = set()
    for key, value in attrs.items():
        if not key.startswith("llm.") or "_messages." not in key:  # most keys: one test, not two
            continue
        for prefix, name in MESSAGE_PREFIXES.items():
            if key.startswith(prefix):
                index, _, rest = key[len(prefix):].partition(".")
                if index.isdigit() and rest:
                    rest = rest.removeprefix("message.")
                    found.setdefault(name, {}).setdefault(int(index), {})[rest] = value
                    used.add(key)
    return {name: [by_index[i] for i in sorted(by_index)] for name, by_index in found.items()}, used


def kind_of(attrs: dict[str, Any]) -> str | None:
    value = first(attrs, KIND_KEYS)
    return value if isinstance(value, str) else None


def step_kind(kind: Any) -> str:
    return STEP_KINDS.get(kind.lower(), "other") if isinstance(kind, str) else "other"


def is_llm(entry: dict[str, Any]) -> bool:
    kind = entry.get("kind")
    return isinstance(kind, str) and kind.lower() in LLM_KINDS


def exceptions(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every `exception` event (the semantic conventions' exception.type|message|stacktrace)."""
    out = []
    for event in events:
        if event.get("name") == "exception":
            attrs = event.get("attributes") or {}
            out.append({"type": attrs.get("exception.type"), "message": attrs.get("exception.message"),
                        "stacktrace": attrs.get("exception.stacktrace")})
    return out


def _confidence(attrs: dict[str, Any], events: list[dict[str, Any]]) -> float | None:
    value = _number(attrs.get("ticket.confidence"))
    if value is not None:
        return value
    for event in events:  # GenAI's evaluation event, named "confidence"
        e = event.get("attributes") or {}
        if event.get("name") == EVALUATION_EVENT and e.get("gen_ai.evaluation.name") == "confidence":
            score = _number(e.get("gen_ai.evaluation.score.value", e.get("score.value")))
            if score is not None:
                return score
    return None


def entry_of(span: dict[str, Any], trace_resource: dict[str, Any] | None = None) -> dict[str, Any]:
    """The stored form of one decoded span (decode.decode's dicts)."""
    attrs: dict[str, Any] = span["attributes"]
    messages, used = _messages(attrs)
    events = span["events"]
    entry: dict[str, Any] = {
        "span_id": span["span_id"],
        "parent_span_id": span["parent_span_id"],
        "name": span["name"],
        "kind": kind_of(attrs),
        "span_kind": span["span_kind"],
        "start_time_unix_nano": span["start_time_unix_nano"],
        "end_time_unix_nano": span["end_time_unix_nano"],
        "status": span["status"],
    }
    optional = {
        "model": first(attrs, MODEL_KEYS),
        "tool": first(attrs, TOOL_KEYS),
        "input": first(attrs, INPUT_KEYS),
        "output": first(attrs, OUTPUT_KEYS),
        "input_tokens": _count(first(attrs, INPUT_TOKEN_KEYS)),
        "output_tokens": _count(first(attrs, OUTPUT_TOKEN_KEYS)),
        "total_tokens": _count(attrs.get("llm.token_count.total")),
        "ticket_id": _text(first(attrs, TICKET_KEYS)),
        "category": _text(attrs.get("ticket.category")),
        "confidence": _confidence(attrs, events),
        "iterations": _count(attrs.get("ticket.iterations")),
        "exceptions": exceptions(events) or None,
        "scope": span.get("scope"),
    }
    entry.update({k: v for k, v in optional.items() if v is not None})
    entry.update(messages)
    entry["attributes"] = {k: v for k, v in attrs.items() if k not in LIFTED and k not in used}
    entry["events"] = [e for e in events if e.get("name") != "exception"]  # exceptions are above
    resource = span.get("resource")
    if resource and resource != trace_resource:  # a distributed trace: spans of another service
        entry["resource"] = resource
    return entry


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)
