"""A small support agent instrumented with the real OpenTelemetry SDK (GenAI semantic conventions),
and the OTLP bodies its spans become (the SDK's own protobuf encoder, as OTLPSpanExporter sends)."""

from __future__ import annotations

import gzip
from collections.abc import Sequence

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

QUESTION = "Where is my refund for order A-17?"
ANSWER = "Your refund for order A-17 was issued on Monday."


def provider(exporter: SpanExporter | None = None, environment: str = "staging", processor=None) -> tuple[TracerProvider, SpanExporter]:
    exporter = exporter or InMemorySpanExporter()
    tp = TracerProvider(resource=Resource.create({"service.name": "support-agent", "deployment.environment.name": environment}))
    tp.add_span_processor(processor(exporter) if processor else SimpleSpanProcessor(exporter))
    return tp, exporter


def run_agent(tp: TracerProvider, ticket: str = "T-1042", *, fail: bool = False, secret: str | None = None,
              attrs: dict | None = None) -> None:
    """invoke_agent -> chat, execute_tool lookup_order, chat: children end (and export) before the root."""
    tracer = tp.get_tracer("support-agent")
    root_attrs = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "support", "ticket.id": ticket,
                  "ticket.category": "billing", "input.value": QUESTION,
                  # Agent spans carry the run's totals: these must never be added to the calls' tokens.
                  "gen_ai.usage.input_tokens": 999, "gen_ai.usage.output_tokens": 999, **(attrs or {})}
    with tracer.start_as_current_span("invoke_agent support", attributes=root_attrs) as root:
        with tracer.start_as_current_span("chat gpt-4o", attributes={
                "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "gen_ai.provider.name": "openai",
                "gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 20}):
            pass
        tool_attrs = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "lookup_order",
                      "gen_ai.tool.call.arguments": '{"order_id": "A-17"}', "gen_ai.tool.call.result": '{"status": "refunded"}'}
        if secret is not None:
            tool_attrs["api_secret"] = secret
        with tracer.start_as_current_span("execute_tool lookup_order", attributes=tool_attrs, record_exception=False) as tool:
            if fail:
                tool.record_exception(ConnectionError("order service unreachable"))
                tool.set_status(Status(StatusCode.ERROR, "order service unreachable"))
        with tracer.start_as_current_span("chat gpt-4o", attributes={
                "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.usage.input_tokens": 50, "gen_ai.usage.output_tokens": 10}):
            pass
        root.set_attribute("output.value", ANSWER)


def agent_spans(ticket: str = "T-1042", **kw) -> list[ReadableSpan]:
    tp, exporter = provider()
    run_agent(tp, ticket, **kw)
    assert isinstance(exporter, InMemorySpanExporter)
    return list(exporter.get_finished_spans())


def body(spans: Sequence[ReadableSpan], *, gzipped: bool = False) -> bytes:
    raw = encode_spans(spans).SerializeToString()
    return gzip.compress(raw) if gzipped else raw


def headers(key: str, *, gzipped: bool = False, ctype: str = "application/x-protobuf") -> dict[str, str]:
    out = {"X-API-Key": key, "Content-Type": ctype}
    if gzipped:
        out["Content-Encoding"] = "gzip"
    return out


def stored_body(spans: Sequence[ReadableSpan]) -> dict:
    """The raw log body the OTLP ingest builds for these spans (one trace), before validation."""
    from logger_app.services.otlp.assemble import assemble
    from logger_app.services.otlp.decode import decode
    from logger_app.services.otlp.spans import entry_of

    decoded = decode(encode_spans(spans))
    [(trace_id, decoded_spans)] = decoded.traces.items()
    resource = decoded.resources[trace_id]
    return assemble(trace_id, [entry_of(s, resource) for s in decoded_spans], resource)
