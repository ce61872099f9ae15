"""An OTLP trace on the detail page: the span tree as a waterfall with real durations, each tool's
name, input and output, each LLM call's model, the exception, the root's input and output."""

from __future__ import annotations

from nicegui import ui

from logger_app.pages.view_utils import fmt_seconds
from tests.support.data import add_logs
from tests.support.otel import ANSWER, QUESTION, agent_spans, stored_body
from tests.support.pages import login


async def test_an_otlp_trace_shows_its_span_waterfall(user, db):
    spans = agent_spans("T-OTEL", fail=True)
    [log_id] = await add_logs(db, "acme", [stored_body(spans)])
    await login(user)
    await user.open(f"/logs/{log_id}")
    await user.should_see("read as: OpenTelemetry spans")
    await user.should_see("T-OTEL")
    with user:
        titles = [e.text for e in user.find(marker="step-title").elements]
        labels = [e.text for e in user.find(kind=ui.label).elements]
        badges = {e.text for e in user.find(kind=ui.badge).elements}
    # One row per span, each titled by its kind and name (a tool by its tool name); the nesting is
    # tests/test_traces.py's.
    assert sorted(titles) == sorted(["agent · invoke_agent support", "llm · chat gpt-4o", "tool · lookup_order", "llm · chat gpt-4o"]), titles
    assert {"gpt-4o", "gpt-4o-mini"} <= badges
    tool = next(s for s in spans if s.name == "execute_tool lookup_order")
    assert fmt_seconds((tool.end_time - tool.start_time) / 1e9) in labels  # its real duration
    text = "\n".join(labels)
    assert QUESTION in text and ANSWER in text
    assert '"order_id": "A-17"' in text and '"status": "refunded"' in text
    await user.should_see("order service unreachable")
    await user.should_see(marker="error-block")
