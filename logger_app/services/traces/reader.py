"""trace_of(payload): the one entry point. Pure (no I/O), never raises, bounded work.

Each adapter is a module with NAME, claims(payload) and read(payload) -> Trace; the first that claims
a payload reads it. An adapter that raises is skipped for the next one that claims the payload, so a
bug in one reader costs that shape its timeline, never the page. Unknown shapes come back with shape
UNRECOGNISED, no steps but the run's own errors, and the page shows its generic tree instead."""

from __future__ import annotations

import logging
from typing import Any

from .adapters import (
    anthropic,
    demo,
    langchain,
    openai_chat,
    openai_responses,
    otlp,
    react_steps,
    typed_steps,
)
from .bounds import MAX_DEPTH, MAX_STEPS, SKETCH, clip
from .errors import payload_errors
from .fields import content, model_name, pick, tokens
from .model import UNRECOGNISED, Step, Trace

log = logging.getLogger(__name__)

# Most specific first: the demo and LangChain are named by a key of their own; OpenAI chat declines
# transcripts with Anthropic's content blocks; the generic step lists come next. OTLP traces as
# services/otlp stores them are named by payload.otel, which no other shape has.
ADAPTERS = (demo, react_steps, langchain, openai_chat, openai_responses, anthropic, typed_steps, otlp)


def trace_of(payload: Any, *, sketch: bool = False) -> Trace:
    """`sketch`: names, kinds, errors, models and tokens only, for ingest (bounds.SKETCH); inputs and
    outputs may then be the payload's own objects, so a sketch is never rendered or mutated."""
    token = SKETCH.set(True) if sketch else None
    try:
        return _trace_of(payload)
    except Exception:  # the last resort; every step below already guards itself
        log.exception("trace_of failed")
        return Trace(UNRECOGNISED)
    finally:
        if token is not None:
            SKETCH.reset(token)


def _trace_of(payload: Any) -> Trace:
    if not isinstance(payload, dict):
        return Trace(UNRECOGNISED)
    trace = _read(payload)
    budget = [MAX_STEPS]
    try:
        errors = payload_errors(payload)
    except Exception:
        log.exception("reading payload errors failed")
        errors = []
    budget[0] -= len(errors)
    trace.steps = _prune(trace.steps, 0, budget, trace) + errors
    if not SKETCH.get():  # start offsets are for the waterfall only
        _relative_starts(trace)
    _defaults(trace, payload)
    return trace


def _read(payload: dict) -> Trace:
    for adapter in ADAPTERS:
        try:
            if adapter.claims(payload):
                return adapter.read(payload)
        except Exception:
            log.warning("trace adapter %s failed; trying the next one", adapter.NAME, exc_info=True)
    return Trace(UNRECOGNISED)


def _prune(steps: list[Step], depth: int, budget: list[int], trace: Trace) -> list[Step]:
    kept = []
    for step in steps:
        if budget[0] <= 0:
            trace.truncated = True
            break
        budget[0] -= 1
        kept.append(step)
        if step.children:
            if depth + 1 >= MAX_DEPTH:
                step.children, trace.truncated = [], True
            else:
                step.children = _prune(step.children, depth + 1, budget, trace)
    return kept


def _relative_starts(trace: Trace) -> None:
    starts = [s.started_at for s in trace.walk() if s.started_at is not None]
    if starts:
        base = min(starts)
        for step in trace.walk():
            if step.started_at is not None:
                step.started_at = round(step.started_at - base, 6)


def _defaults(trace: Trace, payload: dict) -> None:
    """What the run says about itself, whatever the shape, fills what the adapter left open."""
    if trace.input is None:
        trace.input = clip(pick(payload, "input", "question", "query"))
    if trace.final_answer is None:
        trace.final_answer = content(pick(payload, "final_answer", "final_output", "answer"))
    if trace.model is None:
        trace.model = model_name(payload)
    if trace.input_tokens is None and trace.output_tokens is None:
        trace.input_tokens, trace.output_tokens = tokens(payload)
