"""The stock OpenTelemetry exporter, pointed at a real server process (both backends), changes
nothing else: OTLPSpanExporter (protobuf, gzip) with the SDK's batch and simple processors."""

from __future__ import annotations

import json
import socket
import time
import urllib.request

from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult

from tests.support.otel import agent_spans, provider, run_agent
from tests.support.server import create_client_key, read_back, read_one, start_server


def test_an_instrumented_agent_ships_to_a_real_server_unchanged(database_url, tmp_path):
    server = start_server(database_url, tmp_path)
    try:
        key = create_client_key(server.env, "acme")
        endpoint = f"{server.url}/v1/traces"
        # The batch processor: one export per flush, gzip-compressed, as most deployments run it.
        tp, _ = provider(OTLPSpanExporter(endpoint=endpoint, headers={"x-api-key": key}, compression=Compression.Gzip),
                         processor=BatchSpanProcessor)
        run_agent(tp, "T-BATCH")
        assert tp.force_flush(10_000)
        # The simple processor: one export per span as it ends, children before their root.
        tp2, _ = provider(OTLPSpanExporter(endpoint=endpoint, headers={"authorization": f"Bearer {key}"}))
        run_agent(tp2, "T-SPLIT", fail=True)
        tp.shutdown(), tp2.shutdown()
        logs = {item["ticket_id"]: item for item in read_back(server.url, key)}
        assert set(logs) == {"T-BATCH", "T-SPLIT"}  # one log per trace, however many exports
        split = read_one(server.url, key, logs["T-SPLIT"]["id"])
        assert split["status"] == "ERROR" and split["metrics"]["spans"] == 4 and split["metrics"]["input_tokens"] == 150
        assert read_one(server.url, key, logs["T-BATCH"]["id"])["metrics"]["spans"] == 4
        # The JSON encoding, as an exporter without protobuf (OTLP/HTTP JSON) sends it, over plain HTTP.
        from tests.test_otlp import JSON_EXPORT

        req = urllib.request.Request(endpoint, data=json.dumps(JSON_EXPORT).encode(), method="POST",
                                     headers={"X-API-Key": key, "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200 and resp.headers["content-type"] == "application/json" and json.loads(resp.read()) == {}
        assert "sess-42" in {item["ticket_id"] for item in read_back(server.url, key)}
        # A wrong key: the exporter hears a refusal it must not retry.
        wrong = OTLPSpanExporter(endpoint=endpoint, headers={"x-api-key": "lk_wrong"})
        assert wrong.export(agent_spans()) is SpanExportResult.FAILURE
    finally:
        server.stop()


def test_a_wrong_key_is_refused_before_the_body_is_sent(tmp_path):
    server = start_server(f"sqlite+aiosqlite:///{tmp_path}/logger.db", tmp_path)
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            # Announce 10 MB and send none of it: the answer must come without waiting for the body.
            sock.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nX-API-Key: lk_wrong\r\n"
                         b"Content-Type: application/x-protobuf\r\nContent-Length: 10000000\r\n\r\n")
            started = time.monotonic()
            reply = sock.recv(4096)
        assert reply.startswith(b"HTTP/1.1 401") and time.monotonic() - started < 5
        assert b"content-type: application/x-protobuf" in reply.lower()
    finally:
        server.stop()
