"""Reading single fields the way every framework spells them: text that may be a list of content
parts, JSON that may be a string, token counts under three names, timestamps as numbers or ISO text,
errors as strings or objects. Every function takes anything and returns a bounded value or None."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

from .bounds import MAX_TEXT, clip, clip_name, clip_text
from .model import ErrorInfo

PARSE_LIMIT = 100_000  # a JSON string longer than this is shown as text, not parsed
TEXT_PART_KEYS = ("text", "thinking", "refusal")  # content parts whose text is the message
FAILED_STATUSES = {"error", "failed", "failure"}
USAGE_KEYS = ("usage", "token_usage", "usage_metadata", "tokens")
TOKEN_KEYS = {*USAGE_KEYS, "input_tokens", "prompt_tokens", "inputTokens", "promptTokens",
              "output_tokens", "completion_tokens", "outputTokens", "completionTokens"}
TIME_KEYS = {"started_at", "start_time", "start", "timestamp", "duration_seconds", "duration", "elapsed_seconds",
             "latency", "duration_ms"}


def pick(data: dict, *keys: str) -> Any:
    """The first of `keys` that is present and not null."""
    for key in keys:
        value = data.get(key)
        if value is not None:
            return value
    return None


def tag(value: Any) -> str | None:
    """A type/role tag, only if it is a string: payload values are tested against sets of names, and
    a list where a name belongs must not raise (unhashable)."""
    return value if isinstance(value, str) else None


def as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def content(value: Any) -> Any:
    """A message's content as text when it is text: a string, or a list of parts ({"type": "text",
    "text": ...} in OpenAI and Anthropic alike). Anything else comes back as a bounded copy."""
    if value is None or isinstance(value, str):
        return clip(value)
    if isinstance(value, list):
        texts = []
        for part in value[:200]:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict):
                text = pick(part, *TEXT_PART_KEYS)
                if isinstance(text, str):
                    texts.append(text)
        if texts:
            return clip_text("\n".join(texts))
    return clip(value)


def json_or_text(value: Any) -> Any:
    """Tool arguments arrive as a JSON string (OpenAI); show them parsed, or as the string they are
    when they are not JSON (models do produce broken arguments, and that is worth seeing)."""
    if isinstance(value, str) and len(value) <= PARSE_LIMIT and value[:1] in ("{", "["):
        try:
            return clip(json.loads(value))
        except (ValueError, RecursionError):
            pass
    return clip(value)


def number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def count(value: Any) -> int | None:
    n = number(value)
    return int(n) if n is not None and n >= 0 else None


def tokens(data: dict) -> tuple[int | None, int | None]:
    """(input, output) tokens from a usage object: OpenAI Responses and Anthropic say input/output,
    Chat Completions says prompt/completion, LangChain nests them under usage_metadata."""
    if data.keys().isdisjoint(TOKEN_KEYS):  # most steps say nothing of tokens: skip the eight look-ups
        return None, None
    usage = pick(data, *USAGE_KEYS)
    usage = usage if isinstance(usage, dict) else data
    return (count(pick(usage, "input_tokens", "prompt_tokens", "inputTokens", "promptTokens")),
            count(pick(usage, "output_tokens", "completion_tokens", "outputTokens", "completionTokens")))


def model_name(data: dict) -> str | None:
    value = pick(data, "model", "model_name", "llm_model")
    return clip_name(value) if isinstance(value, str) else None


def timestamp(value: Any) -> float | None:
    """Seconds since the epoch from a number (seconds or milliseconds) or an ISO-8601 string."""
    n = number(value)
    if n is not None:
        return n / 1000 if n > 1e11 else n  # 1e11 s is year 5138: larger numbers are milliseconds
    if isinstance(value, str) and 10 <= len(value) <= 40:
        try:
            when = datetime.fromisoformat(value)  # Python 3.11+ reads a trailing Z too
        except ValueError:
            return None
        return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
    return None


def timing(data: dict) -> tuple[float | None, float | None]:
    """(absolute start, duration in seconds) of a step; the reader makes starts relative to the run."""
    if data.keys().isdisjoint(TIME_KEYS):
        return None, None
    start = timestamp(pick(data, "started_at", "start_time", "start", "timestamp"))
    duration = number(pick(data, "duration_seconds", "duration", "elapsed_seconds", "latency"))
    if duration is None and (ms := number(data.get("duration_ms"))) is not None:
        duration = ms / 1000
    if duration is None and start is not None:
        end = timestamp(pick(data, "ended_at", "end_time", "end"))
        duration = end - start if end is not None and end >= start else None
    return start, (duration if duration is None or duration >= 0 else None)


def error_info(value: Any) -> ErrorInfo | None:
    """An error in any of its usual forms: a string, an exception object ({type, message,
    traceback}), `true`. Empty values and `false` are no error."""
    if value is None or value is False or value == "" or value == {} or value == []:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and not value:
        return None  # "error": 0 is a count of none
    if isinstance(value, str):
        return ErrorInfo(clip_text(value))
    if isinstance(value, dict):
        kind = pick(value, "type", "error_type", "exc_type", "name", "code", "kind")
        message = pick(value, "message", "msg", "error", "detail", "description", "value")
        trace = pick(value, "traceback", "stack", "stacktrace", "stack_trace")
        if isinstance(message, dict):  # Anthropic and OpenAI wrap it: {"error": {"type", "message"}}
            inner = error_info(message)
            return inner if kind is None or inner is None else ErrorInfo(inner.message, clip_name(kind), inner.traceback)
        if isinstance(trace, list):
            trace = "\n".join(str(line) for line in trace[:500])
        text = message if isinstance(message, str) else None
        if text is None:
            text = str(kind) if kind is not None else json.dumps(clip(value), ensure_ascii=False, default=str)
        return ErrorInfo(clip_text(text), clip_name(kind),
                         clip_text(trace, MAX_TEXT) if isinstance(trace, str) else None)
    if value is True:
        return ErrorInfo("error")
    return ErrorInfo(clip_text(str(value)))


def failed(data: dict) -> bool:
    """A tool result marked as failed: Anthropic's is_error, LangChain's status="error" and the like."""
    status = data.get("status")
    return data.get("is_error") is True or (isinstance(status, str) and status.lower() in FAILED_STATUSES)


def step_error(data: dict, output: Any = None) -> ErrorInfo | None:
    """The error of one step: an explicit error field, else a failed marker on its result."""
    info = error_info(pick(data, "error", "exception"))
    if info is None and failed(data):
        info = ErrorInfo(output if isinstance(output, str) and output else "the step is marked as failed")
    return info
