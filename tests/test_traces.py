"""The trace model: every adapter on real framework output (tests/fixtures/traces, sources in its
README), errors in each of their forms, loops, and trace_of's promises (never raises, bounded)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logger_app.services import traces
from logger_app.services.traces import KINDS, UNRECOGNISED, trace_of
from logger_app.services.traces.adapters import (
    anthropic,
    demo,
    langchain,
    openai_chat,
    openai_responses,
    otlp,
    react_steps,
    typed_steps,
)
from logger_app.services.traces.bounds import MAX_DEPTH, MAX_NAME, MAX_STEPS, MAX_TEXT

FIXTURES = Path(__file__).parent / "fixtures" / "traces"


def load(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def kinds(trace) -> list[str]:
    return [step.kind for step in trace.walk()]


def tools(trace) -> list:
    return [s for s in trace.walk() if s.kind == "tool"]


# -- which adapter claims what ---------------------------------------------------------------------

CLAIMS = {
    "demo_failed": demo,
    "react_llamaindex": react_steps,
    "langchain_react_namedtuple": langchain,
    "langchain_openai_functions": langchain,
    "openai_chat_tool_calls": openai_chat,
    "openai_chat_parallel": openai_chat,
    "openai_responses_reasoning": openai_responses,
    "openai_response_object": openai_responses,
    "openai_agents_run_state_approval": openai_responses,
    "openai_agents_run_state_tool_output": openai_responses,
    "anthropic_thinking_tools": anthropic,
    "anthropic_tool_error": anthropic,
    "typed_steps_nested": typed_steps,
    "otlp_openinference_tool_agent": otlp,
}


def test_every_fixture_is_covered_and_has_a_source():
    names = {p.stem for p in FIXTURES.glob("*.json")}
    assert names == set(CLAIMS)
    for name in names:
        assert load(name)["_source"], name


@pytest.mark.parametrize("name", sorted(CLAIMS))
def test_the_right_adapter_claims_each_fixture_first(name):
    payload = load(name)
    first = next(adapter for adapter in traces.ADAPTERS if adapter.claims(payload))
    assert first is CLAIMS[name]
    assert trace_of(payload).shape == CLAIMS[name].NAME


def test_the_shapes_doc_has_one_working_example_per_adapter_in_order():
    doc = (Path(__file__).parent.parent / "docs" / "TRACE_SHAPES.md").read_text()
    examples = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", doc, re.DOTALL)]
    assert [trace_of(example).shape for example in examples] == [adapter.NAME for adapter in traces.ADAPTERS]


# -- each adapter on real output -------------------------------------------------------------------

def test_otlp_spans_nest_with_real_offsets_models_and_tokens():
    payload = load("otlp_openinference_tool_agent")
    trace = trace_of(payload)
    [agent] = trace.steps
    assert (agent.kind, agent.name) == ("agent", "agent_chat")
    assert [(s.kind, s.name) for s in agent.children] == [("llm", "llm"), ("tool", "multiply"), ("llm", "llm")]
    first_call, tool, second_call = agent.children
    spans = {s["span_id"]: s for s in payload["otel"]["spans"]}
    root = spans[payload["otel"]["root_span_id"]]
    llm = next(s for s in payload["otel"]["spans"] if s["name"] == "llm")
    assert first_call.started_at == pytest.approx((llm["start_time_unix_nano"] - root["start_time_unix_nano"]) / 1e9)
    assert first_call.duration == pytest.approx(0.534781)  # the spec example's start and end
    assert first_call.model == "gpt-3.5-turbo-0613" and (first_call.input_tokens, first_call.output_tokens) == (229, 21)
    assert first_call.input[1] == {"role": "user", "content": "what is 23 times 87"}  # flattened messages, rebuilt
    assert tool.input == {"a": 23, "b": 87} and tool.output == "2001"
    assert trace.input == "what is 23 times 87" and trace.final_answer == "The product of 23 times 87 is 2001."
    assert trace.token_totals() == (229 + 259, 21 + 14)  # the LLM calls only
    assert trace.errors() == []


def _span(span_id, parent=None, **kw):
    return {"span_id": span_id, "parent_span_id": parent, "name": span_id, "start_time_unix_nano": 10**18,
            "end_time_unix_nano": 10**18 + 10**9, "status": {"code": "UNSET"}, **kw}


def test_otlp_every_exception_is_an_error_and_agent_totals_are_not_added():
    payload = {"otel": {"spans": [
        _span("a", kind="invoke_agent", input_tokens=999, output_tokens=999),
        _span("b", "a", kind="chat", model="gpt-4o", input_tokens=10, output_tokens=2),
        _span("c", "a", kind="execute_tool", tool="lookup", status={"code": "ERROR", "message": "x"},
              exceptions=[{"type": "TimeoutError", "message": "first try timed out", "stacktrace": "Traceback ..."},
                          {"type": "TimeoutError", "message": "second try timed out"}]),
        _span("d", "a", kind="chat", status={"code": "ERROR", "message": "rate limited by the provider"})]}}
    trace = trace_of(payload)
    messages = [s.error.message for s in trace.errors()]
    assert messages == ["first try timed out", "second try timed out", "rate limited by the provider"]
    assert trace.errors()[0].error.traceback == "Traceback ..."
    assert trace.token_totals() == (10, 2)


def test_otlp_parent_cycles_and_orphans_never_loop():
    payload = {"otel": {"spans": [_span("a", "b"), _span("b", "a"), _span("c", "missing"), _span("d", "d")]}}
    trace = trace_of(payload)
    assert sorted(s.name for s in trace.walk()) == ["a", "b", "c", "d"]  # each span once


def test_demo_iterations_thoughts_tools_and_the_failed_call():
    payload = load("demo_failed")
    trace = trace_of(payload)
    first = payload["react_iterations"][0]
    assert trace.input == payload["input"]
    assert trace.steps[0].kind == "thought" and trace.steps[0].output == first["thought"]
    call = trace.steps[1]
    assert (call.kind, call.name, call.input, call.output) == ("tool", first["action"]["tool"], first["action"]["input"],
                                                               first["observation"])
    assert call.duration == first["duration_seconds"]
    assert len(tools(trace)) == len(payload["react_iterations"])
    failed = trace.first_error()
    assert failed.kind == "tool" and failed.path == f"payload.react_iterations[{len(payload['react_iterations']) - 1}]"
    assert failed.output.startswith("error:")
    error = trace.steps[-1]  # payload.errors comes after the steps, with its traceback
    assert error.kind == "error" and error.error.type == payload["errors"][0]["type"]
    assert error.error.traceback == payload["errors"][0]["traceback"]
    assert trace.final_answer is None and trace.models_used() == ["gpt-4o-mini"]


def test_demo_flat_tool_calls_only():
    trace = trace_of({"tool_calls": [{"tool": "search_kb", "input": {"q": "refund"}, "output": {"ok": True}}],
                      "final_answer": "Refund issued."})
    assert trace.shape == demo.NAME
    assert [(s.name, s.input, s.output) for s in trace.steps] == [("search_kb", {"q": "refund"}, {"ok": True})]
    assert trace.final_answer == "Refund issued."


def test_llamaindex_react_steps_pair_each_observation_with_its_action():
    trace = trace_of(load("react_llamaindex"))
    assert kinds(trace) == ["thought", "tool", "thought", "tool", "thought", "answer"]
    assert trace.steps[0].output == "I need to use a tool to help me answer the question."
    assert [(s.name, s.input, s.output) for s in tools(trace)] == [("multiply", {"a": 2, "b": 4}, "8"),
                                                                    ("add", {"a": 20, "b": 8}, "28")]
    assert trace.final_answer == "28" and trace.input == "What is 20+(2*4)? Calculate step by step "


def test_react_steps_spellings():
    trace = trace_of({"history": [
        {"reasoning": "look it up", "action": {"name": "search", "args": {"q": "x"}}, "result": "found"},
        {"thought": "check", "action": "get_order", "tool_input": '{"id": 7}', "output": {"ok": 1}},
        {"action": {"tool": "refund", "input": {"amount": 5}}, "observation": "done", "duration_ms": 250},
    ]})
    assert trace.shape == react_steps.NAME
    assert [(s.name, s.input, s.output) for s in tools(trace)] == [
        ("search", {"q": "x"}, "found"), ("get_order", {"id": 7}, {"ok": 1}), ("refund", {"amount": 5}, "done")]
    assert tools(trace)[2].duration == 0.25
    assert [s.output for s in trace.walk() if s.kind == "thought"] == ["look it up", "check"]


def test_langchain_react_agent_as_json_dumps_wrote_it():
    payload = load("langchain_react_namedtuple")
    trace = trace_of(payload)
    assert kinds(trace) == ["thought", "tool"] * 3
    assert trace.steps[0].output == "I should look up who Leo DiCaprio is dating"
    assert [(s.name, s.input, s.output) for s in tools(trace)] == [
        ("Search", "Leo DiCaprio girlfriend", "Camila Morrone"), ("Search", "Camila Morrone age", "25 years"),
        ("Calculator", "25^0.43", "Answer: 3.991298452658078\n")]
    assert trace.input == payload["input"] and trace.final_answer == payload["output"]


def test_langchain_functions_agent_as_model_dump_wrote_it():
    trace = trace_of(load("langchain_openai_functions"))
    assert kinds(trace) == ["tool"]  # "Invoking: `Wikipedia` with …" is generated, not the model's thought
    step = trace.steps[0]
    assert (step.name, step.input) == ("Wikipedia", "Leo DiCaprio")
    assert step.output.startswith("Page: Leonardo DiCaprio")
    assert trace.final_answer == "Leonardo DiCaprio's middle name is Wilhelm."


def test_langchain_dumpd_form_and_tool_calling_log():
    action = {"lc": 1, "type": "constructor", "id": ["langchain", "schema", "agent", "ToolAgentAction"],
              "kwargs": {"tool": "get_order", "tool_input": {"id": 7},
                         "log": "\nInvoking: `get_order` with `{'id': 7}`\nresponded: Let me look that order up.\n\n"}}
    trace = trace_of({"input": "where is 7?", "intermediate_steps": [[action, {"status": "shipped"}]], "output": "Shipped."})
    assert kinds(trace) == ["thought", "tool"]
    assert trace.steps[0].output == "Let me look that order up."
    assert (trace.steps[1].name, trace.steps[1].input, trace.steps[1].output) == ("get_order", {"id": 7}, {"status": "shipped"})


def test_openai_chat_tool_call_matched_to_its_result():
    trace = trace_of(load("openai_chat_tool_calls"))
    assert trace.input == "What is the name of the album with the most tracks?"
    assert kinds(trace) == ["tool", "answer"]
    call = trace.steps[0]
    assert call.name == "ask_database" and call.input["query"].startswith("SELECT A.Title, COUNT(T.TrackId)")
    assert call.output == "[('Greatest Hits', 57)]"
    assert trace.final_answer == 'The album with the most tracks is titled "Greatest Hits," and it contains 57 tracks.'
    assert trace.models_used() == ["gpt-4o"]


def test_openai_chat_parallel_calls_without_results():
    trace = trace_of(load("openai_chat_parallel"))
    assert [(s.name, s.input, s.output) for s in tools(trace)] == [
        ("get_current_weather", {"location": "Toronto, Canada", "format": "celsius"}, None),
        ("get_n_day_weather_forecast", {"location": "Toronto, Canada", "format": "celsius", "num_days": 3}, None)]
    assert trace.steps[0].kind == "message" and trace.steps[0].name == "system"
    assert trace.final_answer is None


def test_openai_chat_arguments_that_are_not_json_stay_a_string():
    trace = trace_of({"messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "Checking.", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": "{\"id\": 7"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "not found"}]}]})
    assert kinds(trace) == ["thought", "tool"]
    assert trace.steps[1].input == "{\"id\": 7" and trace.steps[1].output == "not found"


def test_langchain_messages_with_a_failed_tool():
    trace = trace_of({"messages": [
        {"type": "human", "content": "Where is order 7?"},
        {"type": "ai", "content": "", "tool_calls": [{"name": "get_order", "args": {"id": 7}, "id": "call_1", "type": "tool_call"}],
         "usage_metadata": {"input_tokens": 120, "output_tokens": 15, "total_tokens": 135},
         "response_metadata": {"model_name": "gpt-4o-mini-2024-07-18"}},
        {"type": "tool", "content": "Error: ConnectionError('db down')", "tool_call_id": "call_1", "name": "get_order",
         "status": "error"},
        {"type": "ai", "content": "Sorry, I cannot reach the order system."}]})
    assert trace.shape == openai_chat.LANGCHAIN
    assert trace.first_error().name == "get_order" and trace.first_error().error.message.startswith("Error: ConnectionError")
    assert trace.token_totals() == (120, 15) and trace.models_used() == ["gpt-4o-mini-2024-07-18"]
    assert trace.final_answer == "Sorry, I cannot reach the order system."


def test_openai_responses_cookbook_function_call_and_answer():
    trace = trace_of(load("openai_responses_reasoning"))
    assert trace.input == "What's the weather like in Paris today?"
    assert kinds(trace) == ["tool", "answer"]  # the reasoning item's summary is empty: nothing to show
    call = trace.steps[0]
    assert (call.name, call.input, call.output) == ("get_weather", {"latitude": 48.8566, "longitude": 2.3522}, "16.3")
    assert call.path == "payload.input[2]"
    assert trace.final_answer.startswith("The current temperature in Paris is 16.3°C.")


def test_openai_response_object_model_and_usage():
    trace = trace_of(load("openai_response_object"))
    assert trace.final_answer == "Why don\u2019t scientists trust atoms?  \nBecause they make up everything!"
    assert trace.models_used() == ["o4-mini-2025-04-16"] and trace.token_totals() == (10, 148)
    assert trace.input == "tell me a joke" and trace.first_error() is None


def test_openai_responses_reasoning_summary_is_the_thought():
    # The summary text of the API reference's response.reasoning_summary_part.done example.
    summary = ("**Responding to a greeting**\n\nThe user just said, \"Hello!\" So, it seems I need to engage. "
               "I'll greet them back and offer help since they're looking to chat.")
    trace = trace_of({"input": "Hello!", "output": [
        {"id": "rs_6806bfca0b2481918a5748308061a2600d3ce51bdffd5476", "type": "reasoning",
         "summary": [{"type": "summary_text", "text": summary}]},
        {"id": "msg_1", "type": "message", "role": "assistant",
         "content": [{"type": "output_text", "text": "Hello! How can I assist you today?", "annotations": []}]}]})
    assert kinds(trace) == ["thought", "answer"] and trace.steps[0].output == summary
    assert trace.input == "Hello!"


def test_agents_sdk_run_state_items():
    approval = trace_of(load("openai_agents_run_state_approval"))
    assert approval.input == "historical input"
    # The tool_approval_item wraps the same call again: one step, waiting for its result.
    assert [(s.kind, s.name, s.input, s.output) for s in approval.steps] == [
        ("tool", "historical_approval", {"account_id": "account-1"}, None)]
    output = trace_of(load("openai_agents_run_state_tool_output"))
    assert [(s.kind, s.output) for s in output.steps] == [("tool", "result")]


def test_agents_sdk_new_items_handoff_tool_error_and_final_output():
    call = {"type": "function_call", "name": "get_order", "arguments": "{\"id\": 7}", "call_id": "c1", "id": "fc_1"}
    trace = trace_of({"input": "Where is order 7?", "final_output": "It shipped.", "new_items": [
        {"type": "handoff_call_item", "agent": {"name": "triage"},
         "raw_item": {"type": "function_call", "name": "transfer_to_orders", "arguments": "{}", "call_id": "h1"}},
        {"type": "handoff_output_item", "raw_item": {"type": "function_call_output", "call_id": "h1",
                                                     "output": "{\"assistant\": \"orders\"}"}},
        {"type": "tool_call_item", "agent": {"name": "orders"}, "raw_item": call},
        {"type": "tool_call_output_item", "raw_item": {"type": "function_call_output", "call_id": "c1",
         "output": "An error occurred while running the tool. Please try again. Error: timeout"}},
        {"type": "message_output_item", "raw_item": {"type": "message", "role": "assistant", "id": "m1",
                                                     "content": [{"type": "output_text", "text": "It shipped."}]}}]})
    assert kinds(trace) == ["agent", "tool", "answer"]
    assert trace.steps[0].name == "transfer_to_orders" and trace.steps[0].output == {"assistant": "orders"}
    assert trace.first_error() is trace.steps[1] and "Error: timeout" in trace.steps[1].error.message
    assert trace.final_answer == "It shipped."


def test_anthropic_thinking_text_and_two_tool_calls():
    trace = trace_of(load("anthropic_thinking_tools"))
    assert trace.input == "What's the weather in London, and can you also tell me the latest news about technology?"
    assert kinds(trace) == ["thought", "thought", "tool", "tool", "answer"]
    assert trace.steps[0].output.startswith("The user is asking for two pieces of information:")
    assert trace.steps[1].output == "I'll get that information for you right away."
    weather, news = tools(trace)
    assert (weather.name, weather.input, weather.output) == ("weather", {"location": "London"},
                                                             '{"temperature": 62, "condition": "Cloudy"}')
    assert (news.name, news.input) == ("news", {"topic": "technology"}) and "Quantum computing" in news.output
    assert trace.final_answer.startswith("Here's the information you requested:")
    assert trace.models_used() == ["claude-3-7-sonnet-20250219"]


def test_anthropic_tool_result_is_error():
    trace = trace_of(load("anthropic_tool_error"))
    failed = trace.first_error()
    assert failed.name == "get_weather" and failed.input == {"location": "San Francisco, CA", "unit": "celsius"}
    assert failed.error.message == "ConnectionError: the weather service API is not available (HTTP 500)"
    assert failed.path == "payload.messages[1].content[1]" and trace.final_answer is None


def test_typed_steps_nesting_timing_models_tokens():
    trace = trace_of(load("typed_steps_nested"))
    assert kinds(trace) == ["llm", "agent", "thought", "tool", "tool", "llm", "answer"]
    agent = trace.steps[1]
    assert agent.name == "order_agent" and [c.name for c in agent.children] == [None, "get_order", "track_parcel"]
    assert [s.started_at for s in trace.walk()][:6] == [0.0, 1.0, None, 1.2, 1.7, 12.0]
    assert trace.token_totals() == (412 + 655, 38 + 61) and trace.models_used() == ["gpt-4o-mini"]
    failed = trace.first_error()
    assert failed.path == "payload.steps[1].children[2]" and failed.error.type == "TimeoutError"
    assert trace.final_answer.startswith("Your order ORD-20417 has shipped")
    assert trace.step_count() == 7


# -- errors in every form ----------------------------------------------------------------------------

@pytest.mark.parametrize("payload, path, kind, message", [
    ({"error": "model provider returned 429"}, "payload.error", None, "model provider returned 429"),
    ({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, "payload.error",
     "overloaded_error", "Overloaded"),
    ({"exception": {"type": "ValueError", "message": "bad", "traceback": ["line 1", "line 2"]}}, "payload.exception",
     "ValueError", "bad"),
    ({"errors": [{"type": "ToolError", "message": "limit"}, "second"]}, "payload.errors[0]", "ToolError", "limit"),
    ({"steps": [{"thought": "try", "action": "refund", "error": "amount exceeds limit"}]}, "payload.steps[0]", None,
     "amount exceeds limit"),
    ({"steps": [{"type": "tool", "name": "x", "status": "error", "output": "boom"}]}, "payload.steps[0]", None, "boom"),
    ({"intermediate_steps": [[{"tool": "_Exception", "tool_input": "Could not parse LLM output: `hm`", "log": "hm"},
                              "Invalid or incomplete response"]]}, "payload.intermediate_steps[0]",
     "OutputParserException", "Could not parse LLM output: `hm`"),
])
def test_errors_are_found_in_each_form(payload, path, kind, message):
    trace = trace_of(payload)
    failed = trace.first_error()
    assert failed is not None and failed.path == path
    assert (failed.error.type, failed.error.message) == (kind, message)


def test_exception_traceback_lines_are_joined_and_all_errors_listed():
    trace = trace_of({"exception": {"type": "ValueError", "message": "bad", "traceback": ["line 1", "line 2"]},
                      "errors": ["one", {"message": "two"}]})
    assert trace.errors()[0].error.traceback == "line 1\nline 2"
    assert [s.error.message for s in trace.errors()] == ["bad", "one", "two"]


def test_unknown_shape_has_no_steps_but_its_errors():
    assert trace_of({"foo": [1, 2], "bar": {"baz": True}}).shape == UNRECOGNISED
    assert trace_of({"foo": [1, 2]}).steps == []
    trace = trace_of({"foo": 1, "error": "it broke", "final_answer": "partial"})
    assert trace.shape == UNRECOGNISED and kinds(trace) == ["error"] and trace.final_answer == "partial"
    for junk in (None, [], "text", 3, [{"steps": []}]):
        assert trace_of(junk).shape == UNRECOGNISED


# -- loops --------------------------------------------------------------------------------------------

def test_loop_detection():
    same = {"thought": "again", "action": {"tool": "get_order", "input": {"id": 7, "x": 1}}, "observation": "timeout"}
    reordered = {"action": {"tool": "get_order", "input": {"x": 1, "id": 7}}, "observation": "timeout"}
    other = {"action": {"tool": "get_order", "input": {"id": 8}}, "observation": "ok"}
    trace = trace_of({"steps": [same, same, reordered, other, same, same]})
    (loop,) = trace.loops()
    assert (loop.name, loop.input, loop.count) == ("get_order", {"id": 7, "x": 1}, 3)
    assert [s.path for s in loop.steps] == ["payload.steps[0]", "payload.steps[1]", "payload.steps[2]"]
    assert trace.loops(repeats=2)[1].count == 2
    assert trace_of({"steps": [same, other, same]}).loops() == []


# -- trace_of's promises ------------------------------------------------------------------------------

def test_a_failing_adapter_falls_back_to_the_next(monkeypatch):
    def broken(payload):
        raise RuntimeError("bug in an adapter")

    monkeypatch.setattr(react_steps, "read", broken)
    trace = trace_of({"steps": [{"type": "tool", "name": "x", "action": "x"}], "error": "boom"})
    assert trace.shape == typed_steps.NAME and trace.first_error().error.message == "boom"
    monkeypatch.setattr(typed_steps, "read", broken)
    assert trace_of({"steps": [{"type": "tool", "action": "x"}]}).shape == UNRECOGNISED


def test_step_cap_keeps_the_run_errors():
    steps = [{"action": "t", "action_input": i, "observation": "ok"} for i in range(MAX_STEPS + 50)]
    trace = trace_of({"steps": steps, "errors": ["last words"]})
    assert trace.truncated and trace.step_count() == MAX_STEPS
    assert trace.steps[-1].kind == "error" and trace.steps[-1].error.message == "last words"


def test_text_and_nesting_are_bounded():
    huge = "x" * (MAX_TEXT * 5)
    trace = trace_of({"steps": [{"thought": huge, "action": "a" * 10_000, "action_input": {"k": huge}, "observation": huge}]})
    thought, call = trace.steps
    assert len(thought.output) < MAX_TEXT + 100 and "download the raw log" in thought.output
    assert len(call.name) < MAX_NAME + 100 and len(call.output) < MAX_TEXT + 100
    nested = current = {"type": "chain", "children": []}
    for _ in range(200):
        child = {"type": "chain", "children": []}
        current["children"].append(child)
        current = child
    deep = trace_of({"steps": [nested]})
    depth, step = 1, deep.steps[0]
    while step.children:
        depth, step = depth + 1, step.children[0]
    assert depth == MAX_DEPTH and deep.truncated


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
                    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=12), inner, max_size=6),
                    max_leaves=40)
WORDS = st.sampled_from([
    "messages", "steps", "intermediate_steps", "output", "input", "items", "new_items", "react_iterations",
    "tool_calls", "errors", "error", "history", "trace", "role", "content", "type", "tool", "action", "observation",
    "thought", "tool_use", "tool_result", "function_call", "call_id", "tool_use_id", "arguments", "raw_item",
    "children", "is_error", "status", "usage", "model", "final_answer", "log", "tool_input", "summary", "lc", "kwargs"])
# Leaves the adapters look for (roles, item and block types, ids), so random payloads reach them all.
VOCABULARY = st.sampled_from([
    "assistant", "user", "tool", "system", "human", "ai", "function_call", "function_call_output", "reasoning",
    "message", "tool_use", "tool_result", "text", "thinking", "thought", "llm", "error", "answer", "agent",
    "tool_call_item", "handoff_call_item", "mcp_call", "c1", "c2", "_Exception", "Action: x", "error: no"])
KEYED = st.recursive(JSON | VOCABULARY,
                     lambda inner: st.lists(inner, max_size=5) | st.dictionaries(WORDS, inner, max_size=6),
                     max_leaves=60)


def _bounded(trace) -> None:
    assert trace.step_count() <= MAX_STEPS
    for step in trace.walk():
        assert step.kind in KINDS
        for text in (step.output, step.name, step.error and step.error.message):
            if isinstance(text, str):
                assert len(text) <= MAX_TEXT + 100
    trace.loops(), trace.models_used(), trace.token_totals(), trace.first_error()


ENTRY = st.dictionaries(WORDS, KEYED, max_size=6) | st.lists(KEYED, min_size=2, max_size=3)
SHAPED = st.dictionaries(st.sampled_from(["messages", "steps", "intermediate_steps", "output", "input", "items",
                                          "new_items", "history", "react_iterations", "tool_calls", "errors"]),
                         st.lists(ENTRY, max_size=6), min_size=1, max_size=3)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(JSON, st.dictionaries(WORDS, KEYED, max_size=6), SHAPED))
def test_trace_of_never_raises_and_stays_bounded(payload):
    _bounded(trace_of(payload))


def _mutated(data, payload):
    """The payload with one value somewhere inside replaced by random JSON: every adapter, fed its own
    shape with one field wrong, must still not raise."""
    node = payload
    for _ in range(data.draw(st.integers(0, 6))):
        keys = list(node) if isinstance(node, dict) else list(range(len(node))) if isinstance(node, list) else []
        if not keys:
            break
        key = data.draw(st.sampled_from(keys))
        if isinstance(node[key], (dict, list)) and data.draw(st.booleans()):
            node = node[key]
            continue
        node[key] = data.draw(KEYED)
        break
    return payload


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_trace_of_never_raises_on_fixtures_with_one_field_wrong(data):
    payload = _mutated(data, load(data.draw(st.sampled_from(sorted(CLAIMS)))))
    _bounded(trace_of(payload))


def test_langchain_anthropic_messages_read_as_anthropic():
    trace = trace_of({"messages": [
        {"type": "human", "content": "Weather in Paris?"},
        {"type": "ai", "content": [{"type": "text", "text": "Let me check."},
                                   {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"location": "Paris"}}],
         "usage_metadata": {"input_tokens": 50, "output_tokens": 20}},
        {"type": "tool", "content": "65F, rainy", "tool_call_id": "toolu_1", "name": "weather"},
        {"type": "ai", "content": "It is 65F and rainy in Paris."}]})
    assert trace.shape == anthropic.NAME and trace.input == "Weather in Paris?"
    assert kinds(trace) == ["thought", "tool", "answer"]
    assert (trace.steps[1].name, trace.steps[1].input, trace.steps[1].output) == ("weather", {"location": "Paris"}, "65F, rainy")
    assert trace.token_totals() == (50, 20) and trace.final_answer == "It is 65F and rainy in Paris."


def test_zero_and_false_are_no_error():
    assert trace_of({"error": 0, "errors": [], "steps": [{"action": "x", "error": False}]}).errors() == []
