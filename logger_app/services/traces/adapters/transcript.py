"""What the three chat-transcript shapes (OpenAI Chat Completions, OpenAI Responses, Anthropic
Messages) have in common: tool calls answered later by id, the first user message as the question,
and assistant text that is a thought when tool calls follow it and the answer when nothing does."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from ..model import ErrorInfo, Step

CALLS = ("tool", "retrieval", "agent")


class Transcript:
    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.question: Any = None
        self._pending: dict[Any, Step] = {}  # call id -> the call's step, until its result comes

    def user(self, text: Any, path: str) -> None:
        if self.question is None:
            self.question = text
        elif text is not None:
            self.steps.append(Step("message", path, name="user", output=text))

    def add(self, step: Step) -> Step:
        self.steps.append(step)
        return step

    def call(self, call_id: Any, step: Step) -> Step:
        if isinstance(call_id, (str, int)):
            self._pending[call_id] = step
        return self.add(step)

    def result(self, call_id: Any, output: Any, error: ErrorInfo | None, path: str, name: str | None = None) -> None:
        step = self._pending.pop(call_id, None) if isinstance(call_id, (str, int)) else None
        if step is None:  # a result whose call was not logged: still worth a step of its own
            self.steps.append(Step("tool", path, name=name, output=output, error=error))
            return
        step.output, step.error = output, error

    def usage(self, first: int, model: str | None, tokens: tuple[int | None, int | None]) -> None:
        """Model and tokens of one LLM turn go on the first step that turn produced."""
        if first < len(self.steps) and (model or tokens != (None, None)):
            step = self.steps[first]
            step.model, (step.input_tokens, step.output_tokens) = model, tokens

    def finish(self) -> tuple[list[Step], Any]:
        """(steps, final answer). Assistant text right before a tool call is the reasoning for it;
        the last assistant text with no call after it is the answer."""
        steps = self.steps
        for here, after in pairwise(steps):
            if here.kind == "message" and here.name == "assistant" and after.kind in CALLS:
                here.kind, here.name = "thought", None
        for step in reversed(steps):
            if step.kind in CALLS:
                break
            if step.kind == "message" and step.name == "assistant":
                step.kind, step.name = "answer", None
                return steps, step.output
        return steps, None
