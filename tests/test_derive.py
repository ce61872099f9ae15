"""services/ingest/derive.py: what a log's trace fills in at ingest, per framework shape."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from logger_app.services.ingest import derive
from logger_app.services.ingest.validation import normalise_log

FIXTURES = Path(__file__).parent / "fixtures" / "traces"
NOW = datetime(2026, 5, 1, tzinfo=timezone.utc)


def row_of(name: str, **extra) -> dict:
    payload = json.loads((FIXTURES / f"{name}.json").read_text())
    payload.pop("_source", None)
    return normalise_log({"ticket_id": "T-1", "status": "SUCCESS", "payload": payload, **extra}, "acme", NOW)


# One think-act-observe cycle = one round of tool calls between two turns of the model.
@pytest.mark.parametrize("name, rounds, tools, errors", [
    ("react_llamaindex", 2, ["multiply", "add"], []),  # thought, act, observe twice; then the answer
    ("langchain_react_namedtuple", 3, ["Search", "Calculator"], []),
    ("langchain_openai_functions", 1, ["Wikipedia"], []),
    ("openai_chat_parallel", 1, ["get_current_weather", "get_n_day_weather_forecast"], []),  # parallel calls: one round
    ("anthropic_thinking_tools", 1, ["weather", "news"], []),
    ("openai_response_object", 0, [], []),  # answered without a tool
    ("demo_failed", 5, ["get_customer", "search_kb", "get_order"], ["ToolError"]),
    ("typed_steps_nested", 1, ["get_order", "track_parcel"], ["TimeoutError"]),
])
def test_iterations_tools_and_error_types_per_shape(name, rounds, tools, errors):
    row = row_of(name)
    assert row["iterations"] == rounds
    assert (row["tools"] or "").strip("\n").split("\n") == (tools or [""])
    assert (row["error_types"] or "").strip("\n").split("\n") == (errors or [""])


def test_metrics_iterations_win_and_unknown_shapes_count_nothing():
    assert row_of("react_llamaindex", metrics={"iterations": 9})["iterations"] == 9
    assert row_of("react_llamaindex", metrics={"iterations": "many"})["iterations"] is None  # as before: not a number
    odd = normalise_log({"ticket_id": "T", "status": "SUCCESS", "payload": {"anything": ["at", "all"]}}, "acme", NOW)
    assert odd["iterations"] is None and odd["tools"] is None
    assert odd["search_text"] == "T\nat\nall"


def test_search_text_holds_values_not_keys():
    row = normalise_log({"ticket_id": "T-9", "status": "ERROR", "category": "billing", "channel": "chat",
                         "payload": {"order": 4417, "note": "Возврат", "nested": {"deep": ["x"]}}}, "acme", NOW)
    words = row["search_text"].split("\n")
    assert words[:2] == ["T-9", "billing"] and {"4417", "Возврат", "x", "chat"} <= set(words)
    assert "order" not in words and "channel" not in words


def test_search_text_of_an_otlp_trace_leaves_out_ids_and_clocks():
    # The stored shape of a real OpenInference trace (OTel SDK -> OTLP ingest): an operator's
    # words are searchable, its span ids and nanosecond clocks are not (a digit query would
    # otherwise match every trace through its timestamps).
    payload = json.loads((FIXTURES / "otlp_openinference_tool_agent.json").read_text())
    words = set(row_of("otlp_openinference_tool_agent")["search_text"].split("\n"))
    spans = payload["otel"]["spans"]
    assert {"what is 23 times 87", "The product of 23 times 87 is 2001.", "agent_chat", "shakespeare-agent",
            payload["otel"]["trace_id"], "multiply"} <= words
    plumbing = {s["span_id"] for s in spans} | {str(s["start_time_unix_nano"]) for s in spans} | {"INTERNAL", "1.45.2"}
    assert not plumbing & words
    assert not any("1705016717" in w for w in words)


def test_names_are_kept_clean_and_bounded():
    assert derive.names_value(["a\nb", "a b", "", "c"]) == "\na b\nc\n"  # a separator never inside a name
    assert derive.names_value([f"t{i}" for i in range(500)]).count("\n") == derive.MAX_NAMES + 1


def test_big_payloads_cost_bounded_work():
    steps = [{"type": "tool", "name": f"tool{i % 7}", "input": {"q": f"order {i} " * 8}, "output": f"result {i} " * 10} for i in range(5000)]
    row = {"ticket_id": "B", "category": None, "payload": {"steps": steps}, "extra": None, "metrics": None}
    started = time.perf_counter()
    out = derive.derived(row)
    assert time.perf_counter() - started < 0.5  # ~15 ms here; unbounded trace_of alone was 84 ms
    assert len(out["search_text"]) == derive.MAX_SEARCH_CHARS
    assert out["iterations"] is None  # read from the payload's beginning only: it would undercount
    assert out["tools"] == "\n" + "\n".join(f"tool{i}" for i in range(7)) + "\n"


def _derived_from(trace) -> tuple:
    return (derive._read_trace(trace), derive._first_error(trace), derive._tokens(trace))


@pytest.mark.parametrize("name", sorted(p.stem for p in FIXTURES.glob("*.json")))
def test_the_sketch_ingest_reads_derives_what_the_full_read_does(name):
    """derive reads traces as sketches (bounds.SKETCH: no bounded copies of inputs and outputs);
    every column it fills must be what the page's full read of the same payload gives, and the
    sketch must leave the payload as it was (it hands out the payload's own objects)."""
    from logger_app.services.traces import trace_of

    payload = json.loads((FIXTURES / f"{name}.json").read_text())
    payload.pop("_source", None)
    untouched = json.dumps(payload, sort_keys=True)
    sketch = trace_of(payload, sketch=True)
    assert json.dumps(payload, sort_keys=True) == untouched
    full = trace_of(payload)
    assert sketch.recognised and _derived_from(sketch) == _derived_from(full)


def test_a_sketch_of_demo_logs_derives_what_the_full_read_does():
    import random

    from logger_app.demo import demo_log
    from logger_app.services.traces import trace_of

    rng = random.Random(3)
    for index in range(200):
        payload = demo_log(rng, "acme", NOW, index)["payload"]
        sketch, full = trace_of(payload, sketch=True), trace_of(payload)
        assert _derived_from(sketch) == _derived_from(full)
    # A sketch hands out the payload's own objects; the page's read after it copies again.
    inputs = [item["action"]["input"] for item in payload["react_iterations"] if isinstance(item.get("action"), dict)]
    sketched = [s.input for s in sketch.walk() if s.kind == "tool"]
    assert inputs and all(a is b for a, b in zip(inputs, sketched))
    assert all(a == b and a is not b for a, b in zip(inputs, [s.input for s in full.walk() if s.kind == "tool"]))
