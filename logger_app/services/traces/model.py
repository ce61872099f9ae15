"""What one agent run did, whatever framework logged it: a tree of steps plus the summaries a page needs.

Adapters (one module per payload shape) build these; nothing here reads a payload. Every value in a
Step is already bounded (see bounds.py), so a renderer can show any field without caps of its own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

# thought: the model's reasoning; llm: one model call; tool: a tool/function call and its result;
# retrieval: a search over documents; agent: a sub-agent or handoff; chain: a group of steps;
# message: a chat message that is none of the above (system prompt, a later user turn, a mid-run
# reply); error: something that failed outside any tool; answer: the final reply; other: unknown.
KINDS = ("thought", "llm", "tool", "retrieval", "agent", "chain", "message", "error", "answer", "other")
UNRECOGNISED = "shape not recognised"
LOOP_REPEATS = 3  # the same tool with the same input this many times in a row is a loop


@dataclass(slots=True)
class ErrorInfo:
    message: str
    type: str | None = None
    traceback: str | None = None


@dataclass(slots=True)
class Step:
    """One thing the agent did. `output` is what the step produced: a thought's text, a tool's result,
    a message's text, the answer. `path` says where in the payload it came from, for the raw view."""

    kind: str
    path: str
    name: str | None = None
    input: Any = None
    output: Any = None
    error: ErrorInfo | None = None
    started_at: float | None = None  # seconds after the run's first known start
    duration: float | None = None  # seconds
    model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    children: list[Step] = field(default_factory=list)

    def walk(self) -> Iterator[Step]:
        """This step, then its children depth first (the order a timeline shows them)."""
        stack = [self]
        while stack:
            step = stack.pop()
            yield step
            stack.extend(reversed(step.children))


@dataclass(slots=True)
class Loop:
    """A run of identical tool calls: the agent asked the same thing again and again."""

    name: str | None
    input: Any
    steps: list[Step]

    @property
    def count(self) -> int:
        return len(self.steps)


@dataclass(slots=True)
class Trace:
    shape: str  # the adapter's human name, or UNRECOGNISED
    input: Any = None  # the customer's question, as the payload gave it
    steps: list[Step] = field(default_factory=list)
    final_answer: Any = None
    model: str | None = None  # named once for the whole run (payload.model), when steps do not say
    input_tokens: int | None = None  # the run's own usage totals, when the payload has them
    output_tokens: int | None = None
    truncated: bool = False  # steps were cut at the step cap: the raw log has the rest

    @property
    def recognised(self) -> bool:
        return self.shape != UNRECOGNISED

    def walk(self) -> Iterator[Step]:
        for step in self.steps:
            yield from step.walk()

    def step_count(self) -> int:
        return sum(1 for _ in self.walk())

    def errors(self) -> list[Step]:
        return [step for step in self.walk() if step.error is not None]

    def first_error(self) -> Step | None:
        """The first step that failed, in run order (its `path` names it in the payload)."""
        return next((step for step in self.walk() if step.error is not None), None)

    def models_used(self) -> list[str]:
        seen: dict[str, None] = {}
        for step in self.walk():
            if step.model:
                seen.setdefault(step.model)
        if self.model:
            seen.setdefault(self.model)
        return list(seen)

    def token_totals(self) -> tuple[int | None, int | None]:
        """(input, output) tokens summed over the steps that report them; the run's own totals when
        no step does (adding both would count every call twice)."""
        steps = [s for s in self.walk() if s.input_tokens is not None or s.output_tokens is not None]
        if not steps:
            return self.input_tokens, self.output_tokens
        return (_sum(s.input_tokens for s in steps), _sum(s.output_tokens for s in steps))

    def loops(self, repeats: int = LOOP_REPEATS) -> list[Loop]:
        """Runs of >= `repeats` consecutive tool calls with the same name and input. Thoughts between
        the calls do not break a run (a ReAct agent thinks before every call); another tool does."""
        found: list[Loop] = []
        run: list[Step] = []
        key = None
        for step in self.walk():
            if step.kind != "tool":
                continue
            this = (step.name, _canonical(step.input))
            if run and this == key:
                run.append(step)
                continue
            if len(run) >= repeats:
                found.append(Loop(run[0].name, run[0].input, run))
            run, key = [step], this
        if len(run) >= repeats:
            found.append(Loop(run[0].name, run[0].input, run))
        return found


def _sum(values) -> int | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _canonical(value: Any) -> str:
    # Inputs are bounded copies (bounds.clip), so this stays cheap; key order must not matter.
    try:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError):
        return repr(value)
