"""The detail page reads every framework's log as a trace (fixtures copied from each framework's
docs or source, tests/fixtures/traces): the shape is named, and the first tool call's name and
input, the reasoning and the final answer are on the page without expanding anything."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from nicegui import ui

from logger_app.pages.view_utils import PREVIEW_CHARS, to_text
from logger_app.services.traces import trace_of
from tests.support.data import add_logs, make_log
from tests.support.pages import login

FIXTURES = sorted((Path(__file__).parent.parent / "fixtures" / "traces").glob("*.json"))


def _labels(user) -> list[str]:
    with user:
        return [e.text for e in user.find(kind=ui.label).elements]


def _shown(text: str) -> str:
    # What a folded long text shows before "show more".
    return text[:PREVIEW_CHARS]


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.stem)
async def test_each_framework_shape_reads_as_a_trace(user, db, fixture):
    payload = {k: v for k, v in json.loads(fixture.read_text()).items() if k != "_source"}
    trace = trace_of(payload)
    assert trace.recognised, fixture.name
    status = "ERROR" if trace.errors() else "SUCCESS"
    [log_id] = await add_logs(db, "acme", [make_log(f"SHAPE-{fixture.stem}", status=status, payload=payload)])  # as ingest stores it
    await login(user)
    await user.open(f"/logs/{log_id}")
    await user.should_see(f"read as: {trace.shape}")
    labels = "\n".join(_labels(user))
    tool = next((s for s in trace.walk() if s.kind == "tool"), None)
    if tool is not None:
        assert (f"tool · {to_text(tool.name)[:120]}" if tool.name else "tool") in labels
        if isinstance(tool.input, dict):
            # PostgreSQL's jsonb stores keys in its own order: look for each key and value instead.
            for key, value in list(tool.input.items())[:5]:
                assert f'"{key}": {json.dumps(value, ensure_ascii=False)}'[:200] in labels or to_text(value)[:200] in labels
        elif tool.input not in (None, "", []):
            assert _shown(to_text(tool.input))[:200] in labels
    thought = next((s for s in trace.walk() if s.kind == "thought" and s.output), None)
    if thought is not None:
        assert _shown(to_text(thought.output))[:200] in labels
    if trace.final_answer not in (None, ""):
        assert _shown(to_text(trace.final_answer))[:200] in labels
    if trace.errors():
        await user.should_see(marker="error-block")


async def test_an_unknown_shape_says_so_and_shows_the_fields(user, db):
    [log_id] = await add_logs(db, "acme", [make_log("ODD", payload={"weird": {"nested": "value-42"}})])
    await login(user)
    await user.open(f"/logs/{log_id}")
    await user.should_see("read as: shape not recognised")
    await user.should_see("value-42")  # the generic tree is open


async def test_a_failed_run_without_error_detail_never_shows_an_empty_error(user, db):
    [log_id] = await add_logs(db, "acme", [make_log("SILENT", status="ERROR", payload={"note": "x"})])
    await login(user)
    await user.open(f"/logs/{log_id}")
    await user.should_see("This run is marked ERROR, but its payload names no error.")
