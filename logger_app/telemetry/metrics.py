"""Prometheus metrics of this process (or, with `serve --workers N`, of all N: multi-process mode).

Declared once here; the edge, the ingest counters, the writer and the runtime's housekeeping update
them. With PROMETHEUS_MULTIPROC_DIR set (the `--workers` supervisor sets it before it starts its
workers, so before any of them imports prometheus_client) every process writes its samples to
memory-mapped files there and any process renders the sum for GET /metrics.

Cost on the hot path: one labelled counter increment and one histogram observation per request
(the children are cached per label tuple below, so no label lookup happens twice) and one
increment per ingest outcome: measured 2.4 µs + 1.0 µs per call in-process (timeit, 200k calls, a
shared machine at load 3), about 1 % of a ~350 µs ingest request. The gauges (queue depth, pool in
use) are sampled by housekeeping every 2 s, not per request. Before/after figures for the whole
request: `bench/ingest.py --tree <checkout of the previous commit>` (docs/DEPLOYMENT.md)."""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Latency buckets (seconds): ingest answers in 1-30 ms, reads up to seconds; p99 alerts need a
# bucket edge near each threshold an operator would pick (50 ms, 250 ms, 1 s).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
COMMIT_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)

REQUESTS = Counter("logger_http_requests_total", "HTTP requests by method, route template and status",
                   ("method", "route", "status"))
LATENCY = Histogram("logger_http_request_duration_seconds", "HTTP request latency by method and route template",
                    ("method", "route"), buckets=LATENCY_BUCKETS)
LOGS = Counter("logger_logs_total", "Logs by outcome (accepted, duplicate, rejected) and reason, per client",
               ("client", "outcome", "reason"))
QUEUE_DEPTH = Gauge("logger_writer_queue_depth", "Ingest requests waiting for the group-commit writer",
                    multiprocess_mode="livesum")
COMMIT_ROWS = Histogram("logger_writer_commit_rows", "Logs per group-commit transaction", buckets=COMMIT_BUCKETS)
POOL_IN_USE = Gauge("logger_db_pool_connections_in_use", "Database connections checked out, per engine",
                    ("engine",), multiprocess_mode="livesum")
POOL_TIMEOUTS = Counter("logger_db_pool_timeouts_total", "Waits for a database connection that timed out")
# where="writer": a group-commit transaction that failed; where="request": a request answered 503.
STORAGE_ERRORS = Counter("logger_storage_errors_total", "Storage failures (database unreachable, timed out)", ("where",))
OTLP_SPANS = Counter("logger_otlp_spans_total", "OTLP spans received on /v1/traces by outcome and reason",
                     ("outcome", "reason"))

_request_children: dict[tuple[str, str, str], Any] = {}
_latency_children: dict[tuple[str, str], Any] = {}
_log_children: dict[tuple[str, str, str], Any] = {}

# IngestCounter column -> (outcome, reason)
_COLUMN_LABELS = {"accepted": ("accepted", ""), "duplicates": ("duplicate", "")}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    key = (method, route, str(status))
    child = _request_children.get(key)
    if child is None:
        child = _request_children[key] = REQUESTS.labels(*key)
    child.inc()
    lkey = (method, route)
    lchild = _latency_children.get(lkey)
    if lchild is None:
        lchild = _latency_children[lkey] = LATENCY.labels(*lkey)
    lchild.observe(seconds)


def count_logs(client_id: str, column: str, n: int) -> None:
    """Mirror of an IngestCounter column (accepted, duplicates, rejected_<reason>)."""
    outcome, reason = _COLUMN_LABELS.get(column) or ("rejected", column.removeprefix("rejected_"))
    key = (client_id, outcome, reason)
    child = _log_children.get(key)
    if child is None:
        child = _log_children[key] = LOGS.labels(*key)
    child.inc(n)


def count_otlp_spans(accepted: int, rejected: int = 0, reason: str = "") -> None:
    """For the OTLP receiver (/v1/traces): spans stored, and spans refused with the refusal's reason."""
    if accepted:
        OTLP_SPANS.labels("accepted", "").inc(accepted)
    if rejected:
        OTLP_SPANS.labels("rejected", reason or "invalid").inc(rejected)


def storage_error(where: str, exc: BaseException | None = None) -> None:
    STORAGE_ERRORS.labels(where).inc()
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    if isinstance(exc, PoolTimeout):
        POOL_TIMEOUTS.inc()


def registry() -> CollectorRegistry:
    """What GET /metrics renders: this process's default registry, or every worker's in multi-process mode."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        reg = CollectorRegistry()
        multiprocess.MultiProcessCollector(reg)
        return reg
    from prometheus_client import REGISTRY

    return REGISTRY


def render() -> tuple[bytes, str]:
    return generate_latest(registry()), CONTENT_TYPE_LATEST


def serve_private(bind: str) -> None:
    """LOGGER_METRICS_BIND=host:port: the same text, unauthenticated, for a scraper on a private network."""
    from prometheus_client import start_http_server

    host, _, port = bind.rpartition(":")
    start_http_server(int(port), addr=host or "127.0.0.1", registry=registry())
