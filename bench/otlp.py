"""Benchmark: OTLP/HTTP trace ingest (POST /v1/traces) of the real server, beside POST /api/v1/logs.

Starts `python main.py` on a fresh database, then drives POST /v1/traces with protobuf
ExportTraceServiceRequests of 512 spans (the SDK's default batch: 64 traces of 8 spans, encoded by
the SDK's own OTLP encoder) from this process at the given concurrency, every request with new
trace ids, and prints spans/s and traces/s stored (acknowledged after commit), then the single-log
route's logs/s at the same concurrency in the same run. At the end it checks that the server holds
exactly one log per trace sent.

--split sends every trace over two requests as the SDK's batch processor does (children in one,
the root in the next), so each root export merges into a stored log (the writer's FOR UPDATE path).

    .venv/bin/python bench/otlp.py [--db sqlite|postgresql|both] [--seconds 10] [--concurrency 8] [--split]
    .venv/bin/python bench/otlp.py --db sqlite --seconds 1 --warmup 0.5   # a smoke run (seconds)

PostgreSQL uses a dedicated database `cl_bench_otlp` on 127.0.0.1:5432 (dropped and created).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import (  # noqa: E402
    TABLE_HEAD,
    LoadResult,
    _Conn,
    cpu_seconds,
    demo_bodies,
    drive,
    fmt_row,
    fresh_pg_database,
    logger_server,
    post_request,
    rss_mib,
    wait_quiet,
)
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from opentelemetry.sdk.trace.id_generator import IdGenerator  # noqa: E402

from tests.support.server import create_client_key  # noqa: E402

TRACES_PER_BATCH, SPANS_PER_TRACE = 64, 8  # 512 spans: BatchSpanProcessor's max_export_batch_size
# Placeholder first halves of trace ids: each request swaps them for fresh ones (one bytes.replace,
# ~50 µs), so the load generator does not spend the CPU it shares with the server on encoding.
CHILDREN_PREFIX, ROOTS_PREFIX = b"\xc1\x1d" * 4, b"\x2a\x07" * 4
_REQUEST_NUMBERS = itertools.count(1)  # across runs on one server: every request's traces are new


class _Ids(IdGenerator):
    def __init__(self, prefix: bytes):
        self.prefix, self.trace, self.span = int.from_bytes(prefix), 0, 0

    def generate_trace_id(self) -> int:
        self.trace += 1
        return (self.prefix << 64) | self.trace

    def generate_span_id(self) -> int:
        self.span += 1
        return self.span


def _spans(prefix: bytes):
    """64 support-agent traces of 8 spans with the real SDK: agent, 3 LLM calls, 3 tools, 1 retrieval."""
    exporter = InMemorySpanExporter()
    tp = TracerProvider(resource=Resource.create({"service.name": "bench-agent", "deployment.environment.name": "bench"}),
                        id_generator=_Ids(prefix))
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = tp.get_tracer("bench")
    for t in range(TRACES_PER_BATCH):
        with tracer.start_as_current_span("invoke_agent support", attributes={
                "gen_ai.operation.name": "invoke_agent", "ticket.id": f"B-{t}", "ticket.category": "billing",
                "input.value": "Where is my refund for order A-17? " * 4}) as root:
            with tracer.start_as_current_span("retrieval kb", attributes={"gen_ai.operation.name": "retrieval"}):
                pass
            for step in range(3):
                with tracer.start_as_current_span("chat gpt-4o", attributes={
                        "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
                        "gen_ai.usage.input_tokens": 400 + step, "gen_ai.usage.output_tokens": 40,
                        "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": "Let me check."}]}])}):
                    pass
                with tracer.start_as_current_span(f"execute_tool tool_{step}", attributes={
                        "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": f"tool_{step}",
                        "gen_ai.tool.call.arguments": '{"order_id": "A-17"}', "gen_ai.tool.call.result": '{"status": "refunded"}'}):
                    pass
            root.set_attribute("output.value", "Your refund was issued on Monday.")
    return list(exporter.get_finished_spans())


def template(split: bool) -> bytes:
    spans = _spans(CHILDREN_PREFIX)
    if not split:
        return encode_spans(spans).SerializeToString()
    request = encode_spans([s for s in spans if s.parent is not None])
    request.resource_spans.extend(encode_spans([s for s in _spans(ROOTS_PREFIX) if s.parent is None]).resource_spans)
    return request.SerializeToString()


def otlp_request(key: str, body: bytes) -> bytes:
    return (f"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {key}\r\n"
            f"Content-Type: application/x-protobuf\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


async def _drive_otlp(port: int, key: str, body: bytes, split: bool, concurrency: int, seconds: float, warmup: float,
                      pid: int) -> tuple[LoadResult, int]:
    loop = asyncio.get_running_loop()
    conns = [(await loop.create_connection(_Conn, "127.0.0.1", port))[1] for _ in range(concurrency)]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counter = {"errors": 0}
    sent_traces = 0
    t_start = time.perf_counter()
    measure_from, stop_at = t_start + warmup, t_start + warmup + seconds
    rss: list[float] = []

    def next_body() -> bytes:
        n = next(_REQUEST_NUMBERS)
        raw = body.replace(CHILDREN_PREFIX, b"\xbe" + n.to_bytes(7))
        if split:  # the roots of the previous request's traces (request 1 sends none of its own yet)
            raw = raw.replace(ROOTS_PREFIX, b"\xbe" + (n - 1).to_bytes(7))
        return otlp_request(key, raw)

    async def worker(conn: _Conn) -> None:
        nonlocal sent_traces
        while (t0 := time.perf_counter()) < stop_at:
            status = await conn.request(next_body())
            if status == 200:
                sent_traces += TRACES_PER_BATCH
            if t0 >= measure_from:
                latencies.append(time.perf_counter() - t0)
                statuses[status] = statuses.get(status, 0) + 1
                counter["errors"] += status != 200

    async def sampler() -> None:
        while time.perf_counter() < stop_at:
            await asyncio.sleep(0.5)
            rss.append(rss_mib(pid))

    await asyncio.sleep(0)
    cpu0 = cpu_seconds(pid)
    await asyncio.gather(*(worker(c) for c in conns), sampler())
    cpu = cpu_seconds(pid) - cpu0
    for c in conns:
        c.transport.close()
    result = LoadResult(concurrency, seconds, len(latencies), counter["errors"], latencies, TRACES_PER_BATCH * SPANS_PER_TRACE,
                        statuses, rss, cpu / (seconds + warmup))
    # Split: the last request's traces have no root yet, but they are logs already; the roots that
    # request 1 carries (of "request 0") are 64 logs more, counted by the caller.
    return result, sent_traces


def stored_logs(url: str, key: str) -> int:
    req = urllib.request.Request(f"{url}/api/v1/metrics/overview", headers={"X-API-Key": key})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())["total"]


def run_backend(kind: str, args) -> None:
    with tempfile.TemporaryDirectory(prefix="cl-bench-otlp-") as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db" if kind == "sqlite" else fresh_pg_database("cl_bench_otlp")
        server = logger_server(url, tmp, log_path=f"{tmp}/server.log", read_rate_limit_per_key="0").start()
        try:
            key = create_client_key(server.env, "bench")
            body = template(args.split)
            print(f"### {kind}, load average {wait_quiet(args.max_load):.1f}\n", flush=True)
            print(f"- OTLP body: {TRACES_PER_BATCH * SPANS_PER_TRACE} spans, {len(body) / 1024:.0f} KiB protobuf"
                  f"{', every trace split over two requests' if args.split else ''}\n")
            print(TABLE_HEAD.replace("logs/s", "items/s"))
            expected = TRACES_PER_BATCH if args.split else 0
            for c in args.concurrency:
                r, traces = asyncio.run(_drive_otlp(server.port, key, body, args.split, c, args.seconds, args.warmup, server.pid))
                print(fmt_row("POST /v1/traces ×512 spans", r), r.statuses if r.errors else "", flush=True)
                print(f"|  | | | traces/s: {r.items_per_second / SPANS_PER_TRACE:,.0f} | | | | | |", flush=True)
                expected += traces
                got = stored_logs(server.url, key)
                print(f"\n- stored logs {got:,} for {expected:,} traces acknowledged so far (must be equal)\n", flush=True)
                if got != expected:
                    raise SystemExit(f"stored {got} logs for {expected} acknowledged traces")
                singles = [post_request("/api/v1/logs", key, b) for b in demo_bodies(256)]
                r = drive(server.port, singles, c, args.seconds, args.warmup, server.pid)
                print(fmt_row("POST /api/v1/logs (same run)", r), r.statuses if r.errors else "", flush=True)
                expected = stored_logs(server.url, key)  # re-based: the log route's requests (warm-up too) are logs
        finally:
            server.stop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--concurrency", type=lambda s: [int(x) for x in s.split(",") if x], default=[8])
    p.add_argument("--split", action="store_true", help="each trace over two requests (children, then the root)")
    p.add_argument("--max-load", type=float, default=float(os.environ.get("BENCH_MAX_LOAD", 1.5)))
    args = p.parse_args()
    for kind in (["sqlite", "postgresql"] if args.db == "both" else [args.db]):
        run_backend(kind, args)


if __name__ == "__main__":
    main()
