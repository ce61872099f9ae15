"""POST /v1/traces through the real app (both backends): spans from the real OpenTelemetry SDK,
encoded by its own OTLP encoder, become one log per trace, through the log pipeline."""

from __future__ import annotations

import asyncio
import gzip
import json

import pytest
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from sqlalchemy import select

from logger_app.db.models import WorkflowLog
from tests.support.otel import ANSWER, QUESTION, agent_spans, body, headers

PB = "application/x-protobuf"


async def export(api, key, spans, **kw):
    gzipped = kw.pop("gzipped", False)
    return await api.post("/v1/traces", content=body(spans, gzipped=gzipped), headers=headers(key, gzipped=gzipped), **kw)


async def logs_of(api, key, **params) -> list[dict]:
    r = await api.get("/api/v1/logs", params=params, headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def full(api, key, log_id) -> dict:
    return (await api.get(f"/api/v1/logs/{log_id}", headers={"X-API-Key": key})).json()


async def stored_rows(runtime) -> list[dict]:
    async with runtime.db.writer.connect() as conn:
        return [dict(r) for r in (await conn.execute(select(WorkflowLog.__table__).order_by(WorkflowLog.id))).mappings()]


async def test_an_agent_trace_becomes_one_log_with_the_mapping(api, make_key):
    key = await make_key("acme")
    spans = agent_spans("T-1042")
    r = await export(api, key, spans)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == PB
    reply = ExportTraceServiceResponse.FromString(r.content)
    assert not reply.HasField("partial_success")  # the spec: unset on full success
    [item] = await logs_of(api, key)
    log = await full(api, key, item["id"])
    trace_id = format(spans[0].context.trace_id, "032x")
    root = next(s for s in spans if s.parent is None)
    assert log["ticket_id"] == "T-1042" and log["status"] == "SUCCESS" and log["category"] == "billing"
    assert log["environment"] == "staging"
    assert log["idempotency_key"] == f"otlp:{trace_id}"
    assert log["execution_time_seconds"] == pytest.approx((root.end_time - root.start_time) / 1e9)
    # Tokens over the two chat spans only (100+50, 20+10), never the agent span's totals (999).
    assert log["metrics"]["input_tokens"] == 150 and log["metrics"]["output_tokens"] == 30
    assert log["metrics"]["iterations"] == 2 and log["metrics"]["spans"] == 4
    otel = log["payload"]["otel"]
    assert otel["trace_id"] == trace_id and otel["resource"]["service.name"] == "support-agent"
    by_name = {s["name"]: s for s in otel["spans"]}
    assert by_name["invoke_agent support"]["input"] == QUESTION and by_name["invoke_agent support"]["output"] == ANSWER
    tool = by_name["execute_tool lookup_order"]
    assert tool["tool"] == "lookup_order" and json.loads(tool["input"]) == {"order_id": "A-17"}
    assert tool["parent_span_id"] == by_name["invoke_agent support"]["span_id"]


async def test_a_trace_split_across_exports_is_one_log_children_first(api, make_key, runtime):
    key = await make_key("acme")
    spans = agent_spans("T-7")
    children, root = [s for s in spans if s.parent is not None], [s for s in spans if s.parent is None]
    assert (await export(api, key, children[:2])).status_code == 200
    [item] = await logs_of(api, key)
    assert item["ticket_id"] == format(spans[0].context.trace_id, "032x")  # no root yet: the trace id
    assert (await export(api, key, children[2:])).status_code == 200
    assert (await export(api, key, root)).status_code == 200
    [item] = await logs_of(api, key)
    log = await full(api, key, item["id"])
    assert log["ticket_id"] == "T-7" and log["metrics"]["spans"] == 4 and log["metrics"]["input_tokens"] == 150
    assert log["payload"]["otel"]["root_span_id"] == format(root[0].context.span_id, "016x")
    # A re-sent batch (an exporter retrying after a lost reply) changes nothing, byte for byte.
    before = await stored_rows(runtime)
    assert (await export(api, key, spans)).status_code == 200
    assert (await export(api, key, children[:1])).status_code == 200
    assert await stored_rows(runtime) == before


async def test_concurrent_exports_of_one_new_trace_lose_no_span(api, make_key):
    key = await make_key("acme")
    spans = agent_spans("T-RACE")
    results = await asyncio.gather(*(export(api, key, [span]) for span in spans))
    assert [r.status_code for r in results] == [200] * 4
    [item] = await logs_of(api, key)
    assert (await full(api, key, item["id"]))["metrics"]["spans"] == 4


async def test_gzip_and_a_failed_tool(api, make_key):
    key = await make_key("acme")
    r = await export(api, key, agent_spans("T-ERR", fail=True), gzipped=True)
    assert r.status_code == 200, r.text
    [item] = await logs_of(api, key)
    assert item["status"] == "ERROR"
    tool = next(s for s in (await full(api, key, item["id"]))["payload"]["otel"]["spans"] if s.get("tool"))
    assert tool["exceptions"][0]["message"] == "order service unreachable"
    assert tool["exceptions"][0]["type"] == "ConnectionError"


JSON_EXPORT = {
    "resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "js-agent"}},
                                    {"key": "deployment.environment", "value": {"stringValue": "Pre Prod"}}]},
        "scopeSpans": [{"scope": {"name": "openinference"}, "spans": [
            {"traceId": "5B8EFFF798038103D269B633813FC60C", "spanId": "EEE19B7EC3C1B174", "parentSpanId": "",
             "name": "AgentExecutor", "kind": 1, "startTimeUnixNano": "1544712660000000000",
             "endTimeUnixNano": "1544712662500000000", "unknownField": True,
             "attributes": [{"key": "openinference.span.kind", "value": {"stringValue": "AGENT"}},
                            {"key": "session.id", "value": {"stringValue": "sess-42"}},
                            {"key": "ticket.iterations", "value": {"intValue": "3"}}],
             "status": {"code": 2, "message": "tool failed"}},
            {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b175", "parentSpanId": "eee19b7ec3c1b174",
             "name": "ChatOpenAI", "kind": 1, "startTimeUnixNano": "1544712660100000000", "endTimeUnixNano": "1544712661000000000",
             "attributes": [{"key": "openinference.span.kind", "value": {"stringValue": "LLM"}},
                            {"key": "llm.model_name", "value": {"stringValue": "gpt-4o"}},
                            {"key": "llm.token_count.prompt", "value": {"intValue": "12"}},
                            {"key": "llm.token_count.completion", "value": {"intValue": 5}}]},
        ]}],
    }],
}


async def test_the_json_encoding_over_raw_http(api, make_key):
    key = await make_key("acme")
    r = await api.post("/v1/traces", content=json.dumps(JSON_EXPORT), headers=headers(key, ctype="application/json"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json" and r.json() == {}
    [item] = await logs_of(api, key)
    log = await full(api, key, item["id"])
    assert log["ticket_id"] == "sess-42"  # OpenInference's session.id names the ticket
    assert log["status"] == "ERROR" and log["environment"] == "pre-prod"
    assert log["executed_at"] == "2018-12-13T14:51:00+00:00" and log["execution_time_seconds"] == 2.5
    assert log["metrics"]["iterations"] == 3 and log["metrics"]["input_tokens"] == 12 and log["metrics"]["output_tokens"] == 5
    assert log["payload"]["otel"]["trace_id"] == "5b8efff798038103d269b633813fc60c"
    # session_id is a default redact key: the payload keeps the rule, the ticket id is the column.
    agent = next(s for s in log["payload"]["otel"]["spans"] if s["kind"] == "AGENT")
    assert agent["attributes"]["session.id"] == "[REDACTED]"


async def test_bad_span_ids_are_a_partial_success(api, make_key):
    key = await make_key("acme")
    bad = json.loads(json.dumps(JSON_EXPORT))
    bad["resourceSpans"][0]["scopeSpans"][0]["spans"][1]["spanId"] = "00"
    r = await api.post("/v1/traces", content=json.dumps(bad), headers=headers(key, ctype="application/json"))
    assert r.status_code == 200
    assert r.json()["partialSuccess"]["rejectedSpans"] == "1"  # int64 as a string: the JSON mapping
    assert "span_id" in r.json()["partialSuccess"]["errorMessage"]
    assert len(await logs_of(api, key)) == 1


def _status(r) -> status_pb2.Status:
    assert r.headers["content-type"] == PB
    return status_pb2.Status.FromString(r.content)


async def test_error_statuses_are_google_rpc_status_in_the_request_encoding(api, make_key, runtime):
    key = await make_key("acme")
    r = await api.post("/v1/traces", content=b"\xff\xff\xff garbage", headers=headers(key))
    assert r.status_code == 400
    status = _status(r)
    assert status.code == 3 and "malformed" in status.message
    violations = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(violations) and violations.field_violations[0].field == "body"
    r = await api.post("/v1/traces", content=b"{not json", headers=headers(key, ctype="application/json"))
    assert r.status_code == 400 and r.json()["code"] == 3 and r.json()["error"]["code"] == "validation_error"
    r = await api.post("/v1/traces", content=b"x", headers=headers("lk_wrong"))
    assert r.status_code == 401 and _status(r).code == 16
    r = await api.post("/v1/traces", content=b"x", headers=headers(key, ctype="text/plain"))
    assert r.status_code == 415 and r.json()["error"]["details"][0]["field"] == "content-type"
    admin = await make_key(None)
    assert (await export(api, admin, agent_spans())).status_code == 403  # provider keys read only


async def test_a_gzip_bomb_is_413_after_a_bounded_inflate(api, make_key, runtime):
    key = await make_key("acme")
    limit = runtime.settings.otlp_max_body_bytes
    bomb = gzip.compress(b"\x00" * (limit + 1024))
    r = await api.post("/v1/traces", content=bomb, headers=headers(key, gzipped=True))
    assert r.status_code == 413 and _status(r).code == 8
    await runtime.counter.flush()
    [row] = (await api.get("/api/v1/metrics/ingest", headers={"X-API-Key": key})).json()["items"]
    assert row["rejected"]["too_large"] == 1  # ingest health counts OTLP refusals


async def test_storage_down_is_503_with_retry_after(api, make_key, runtime, monkeypatch):
    from logger_app.services.errors import StorageUnavailable

    key = await make_key("acme")

    async def down(*_a, **_k):
        raise StorageUnavailable("storage unavailable")

    monkeypatch.setattr(runtime.writer, "write", down)
    r = await export(api, key, agent_spans())
    assert r.status_code == 503 and r.headers["retry-after"] and _status(r).code == 14


async def test_tenant_isolation_the_client_comes_from_the_key(api, make_key):
    acme, globex = await make_key("acme"), await make_key("globex")
    spans = agent_spans("T-ISO", attrs={"client_id": "globex", "client.id": "globex"})
    assert (await export(api, acme, spans)).status_code == 200
    assert await logs_of(api, globex) == []
    [item] = await logs_of(api, acme)
    assert item["client_id"] == "acme"
    # globex re-sending the very same trace id makes its own log and never touches acme's.
    assert (await export(api, globex, spans[:1])).status_code == 200
    assert (await full(api, acme, item["id"]))["metrics"]["spans"] == 4
    [theirs] = await logs_of(api, globex)
    assert theirs["id"] != item["id"] and (await full(api, globex, theirs["id"]))["metrics"]["spans"] == 1
    assert (await api.get(f"/api/v1/logs/{item['id']}", headers={"X-API-Key": globex})).status_code == 404


async def test_a_secret_in_a_span_attribute_is_redacted_like_in_a_posted_log(api, make_key):
    key = await make_key("acme")
    assert (await export(api, key, agent_spans("T-SEC", secret="hunter2-very-secret"))).status_code == 200
    [item] = await logs_of(api, key)
    text = json.dumps(await full(api, key, item["id"]))
    assert "hunter2-very-secret" not in text and "[REDACTED]" in text
    posted = await api.post("/api/v1/logs", json={"ticket_id": "P", "status": "SUCCESS", "payload": {"api_secret": "hunter2-very-secret"}},
                            headers={"X-API-Key": key})
    assert (await full(api, key, posted.json()["id"]))["payload"]["api_secret"] == "[REDACTED]"


async def test_rate_limited_key_is_429_with_retry_after(make_key, runtime, api):
    from logger_app.services.access.ratelimit import RateLimiter

    runtime.rate_limiter = RateLimiter(0.001)  # LOGGER_RATE_LIMIT_PER_KEY: one export per ~17 minutes
    key = await make_key("acme")
    assert (await export(api, key, agent_spans())).status_code == 200
    r = await export(api, key, agent_spans())
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1 and _status(r).code == 8


async def test_two_processes_exporting_one_trace_at_once_lose_no_span(api, make_key, settings, monkeypatch):
    """Two app instances on one database stand in for two server processes (or PostgreSQL's
    flushers): both insert the same new trace, one hits the unique index, retries and merges."""
    import httpx

    from logger_app.app import create_api
    from logger_app.services.ingest import writer

    calls = {"integrity": 0}
    store = writer.LogWriter._store

    async def counting(self, jobs):
        try:
            return await store(self, jobs)
        except writer.IntegrityError:
            calls["integrity"] += 1
            raise

    monkeypatch.setattr(writer.LogWriter, "_store", counting)
    key = await make_key("acme")
    other = create_api(settings)
    async with other.router.lifespan_context(other):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=other), base_url="http://other") as second:
            for n in range(8):
                spans = agent_spans(f"T-TWO-{n}")
                first_half, second_half = spans[:2], spans[2:]
                a, b = await asyncio.gather(export(api, key, first_half), export(second, key, second_half))
                assert (a.status_code, b.status_code) == (200, 200)
    logs = await logs_of(api, key, limit=50)
    assert len(logs) == 8
    for item in logs:
        assert (await full(api, key, item["id"]))["metrics"]["spans"] == 4, item["ticket_id"]
    assert calls["integrity"] >= 1  # the race did happen at least once, and cost no span


async def test_a_hashed_attribute_is_hashed_once_when_the_trace_grows(settings, tmp_path):
    import httpx

    from logger_app.app import create_api
    from logger_app.services.access import keys
    from tests.support.data import ensure_client

    app = create_api(settings.model_copy(update={"hash_keys": "customer_id"}))
    async with app.router.lifespan_context(app):
        runtime = app.state.runtime
        await ensure_client(runtime.db, "acme")
        key = (await keys.create_key(runtime.db, "acme")).key
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as api:
            spans = agent_spans("T-HASH", attrs={"customer_id": "cust-981"})
            root, children = [s for s in spans if s.parent is None], [s for s in spans if s.parent is not None]
            assert (await export(api, key, root)).status_code == 200
            assert (await export(api, key, children)).status_code == 200  # rebuilds the stored root span too
            [item] = await logs_of(api, key)
            log = await full(api, key, item["id"])
    [agent] = [s for s in log["payload"]["otel"]["spans"] if s["parent_span_id"] is None]
    assert agent["attributes"]["customer_id"] == runtime.ingestor.redactor.keyed_hash("cust-981")
    assert log["metrics"]["spans"] == 4


async def test_an_empty_export_is_a_success(api, make_key):
    key = await make_key("acme")
    r = await api.post("/v1/traces", content=b"{}", headers=headers(key, ctype="application/json"))
    assert r.status_code == 200 and r.json() == {}
    r = await api.post("/v1/traces", content=b"", headers=headers(key))
    assert r.status_code == 200 and ExportTraceServiceResponse.FromString(r.content) == ExportTraceServiceResponse()


async def test_an_invalid_trace_is_refused_alone_and_named(api, make_key):
    key = await make_key("acme")
    good, nul, long_ticket = agent_spans("T-OK"), agent_spans("T-NUL", attrs={"note": "a\x00b"}), agent_spans("x" * 300)
    r = await export(api, key, good + nul + long_ticket)
    assert r.status_code == 200
    partial = ExportTraceServiceResponse.FromString(r.content).partial_success
    assert partial.rejected_spans == len(nul) + len(long_ticket)
    assert "NUL" in partial.error_message and "ticket_id" in partial.error_message
    assert [item["ticket_id"] for item in await logs_of(api, key)] == ["T-OK"]


@pytest.mark.parametrize("depth", [70, 2000])
async def test_deeply_nested_attribute_values_are_refused_not_a_500(api, make_key, depth):
    key = await make_key("acme")
    bad = json.loads(json.dumps(JSON_EXPORT))
    bad["resourceSpans"][0]["scopeSpans"][0]["spans"][1]["attributes"].append({"key": "deep", "value": "DEEP"})
    # Written as text: json.dumps itself cannot nest this deep.
    value = '{"kvlistValue": {"values": [{"key": "k", "value": ' * depth + '{"stringValue": "leaf"}' + "}]}}" * depth
    body = json.dumps(bad).replace('"DEEP"', value)
    r = await api.post("/v1/traces", content=body, headers=headers(key, ctype="application/json"))
    if r.status_code == 200:  # the trace is refused alone, naming the nesting
        assert r.json()["partialSuccess"]["rejectedSpans"] == "2" and "nesting" in r.json()["partialSuccess"]["errorMessage"]
    else:
        assert r.status_code == 400 and r.json()["error"]["details"][0]["field"] == "body"
    assert await logs_of(api, key) == []
