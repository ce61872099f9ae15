"""Benchmark: does one key asking for its overview over many rows stall everyone else?

Loads N logs for one client ("big", plus ~1% for a second client, "small") into a fresh database
(bench/read.py's loaders), starts the real server (`python main.py`, bench/_common.py), and then,
for --seconds per phase, probes every --interval seconds on their own keep-alive connections:

  GET /healthz                       (no key, no database)
  GET /api/v1/logs?limit=1           with the small client's key (another tenant)

phase "idle": nothing else runs; phase "busy": --concurrency connections with the big client's
key request GET /api/v1/metrics/overview and /metrics/timeseries?bucket=hour (the dashboard's
heavy reads, last 30 days) back to back. A stall of the event loop shows as the probes' p99/max.

    .venv/bin/python bench/healthz_stall.py --db sqlite [--n 300000] [--seconds 10] [--concurrency 2]
    .venv/bin/python bench/healthz_stall.py --db postgresql --n 300000
    # the same against another copy of the code (e.g. the commit before), for before/after
    .venv/bin/python bench/healthz_stall.py --db sqlite --tree /path/to/other/checkout

The read rate limit is switched off in the server (LOGGER_READ_RATE_LIMIT_PER_KEY=0): this measures
the server's read path, not the limiter. --reuse keeps an already loaded database (--path for SQLite).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import _Conn, fresh_pg_database, logger_server, wait_quiet  # noqa: E402
from read import load_postgres, load_sqlite  # noqa: E402

from logger_app.db.migrate import upgrade  # noqa: E402
from tests.support.server import cli  # noqa: E402

CLIENTS = ["big", "small"]
WEIGHTS = [0.99, 0.01]


def get_request(path: str, key: str | None = None) -> bytes:
    auth = f"X-API-Key: {key}\r\n" if key else ""
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}\r\n".encode()


def pct(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    s = sorted(samples)
    return s[min(len(s) - 1, int(q * len(s)))] * 1000


async def _connect(port: int) -> _Conn:
    _, proto = await asyncio.get_running_loop().create_connection(_Conn, "127.0.0.1", port)
    return proto


async def probe(port: int, raw: bytes, interval: float, stop_at: float, out: list[float], statuses: dict) -> None:
    """One request every `interval` s (or right after the previous answer if that took longer)."""
    conn = await _connect(port)
    try:
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            status = await conn.request(raw)
            out.append(time.perf_counter() - t0)
            statuses[status] = statuses.get(status, 0) + 1
            await asyncio.sleep(max(0.0, interval - (time.perf_counter() - t0)))
    finally:
        conn.transport.close()


async def heavy(port: int, requests: list[bytes], stop_at: float, out: list[float], statuses: dict) -> None:
    conn = await _connect(port)
    i = 0
    try:
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            status = await conn.request(requests[i % len(requests)])
            out.append(time.perf_counter() - t0)
            statuses[status] = statuses.get(status, 0) + 1
            i += 1
    finally:
        conn.transport.close()


async def phase(port: int, big_key: str, small_key: str, seconds: float, interval: float, concurrency: int) -> dict:
    since = quote((datetime.now(timezone.utc) - timedelta(days=30)).isoformat())
    heavy_requests = [get_request(f"/api/v1/metrics/overview?from={since}", big_key),
                      get_request(f"/api/v1/metrics/timeseries?bucket=hour&from={since}", big_key)]
    stop_at = time.perf_counter() + seconds
    health, other, busy = [], [], []
    statuses = {"health": {}, "other": {}, "heavy": {}}
    tasks = [probe(port, get_request("/healthz"), interval, stop_at, health, statuses["health"]),
             probe(port, get_request("/api/v1/logs?limit=1", small_key), interval, stop_at, other, statuses["other"])]
    tasks += [heavy(port, heavy_requests, stop_at, busy, statuses["heavy"]) for _ in range(concurrency)]
    await asyncio.gather(*tasks)
    return {"health": health, "other": other, "heavy": busy, "statuses": statuses}


def row(label: str, samples: list[float], statuses: dict) -> str:
    bad = sum(n for s, n in statuses.items() if s != 200)
    mean = statistics.fmean(samples) * 1000 if samples else float("nan")
    return (f"| {label} | {len(samples)} | {pct(samples, 0.5):.1f} | {pct(samples, 0.99):.1f} | "
            f"{max(samples) * 1000 if samples else float('nan'):.1f} | {mean:.1f} | {bad} |")


async def prepare(args) -> str:
    now = datetime.now(timezone.utc)
    if args.db == "postgresql":
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{args.pg_name}"
        if not args.reuse:
            url = fresh_pg_database(args.pg_name)
        await upgrade(url)
        if not args.reuse:
            print(f"loading {args.n:,} logs into PostgreSQL ({args.pg_name})")
            await load_postgres(url, args.n, now, CLIENTS, WEIGHTS)
        return url
    path = args.path or os.path.join(tempfile.gettempdir(), "cl-bench-stall.db")
    url = f"sqlite+aiosqlite:///{path}"
    if not args.reuse:
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
    await upgrade(url)
    if not args.reuse:
        print(f"loading {args.n:,} logs into SQLite ({path})")
        await asyncio.to_thread(load_sqlite, path, args.n, now, CLIENTS, WEIGHTS)
    return url


def run(args) -> None:
    url = asyncio.run(prepare(args))
    data_dir = tempfile.mkdtemp(prefix="cl-bench-stall-")
    server = logger_server(url, data_dir, log_path=os.path.join(data_dir, "server.log"), tree=args.tree,
                           read_rate_limit_per_key="0")  # measure the read path, not the limiter
    keys = {c: json.loads(cli(server.env, "key", "create", c, "--json"))["key"] for c in CLIENTS}
    load = wait_quiet(args.max_load) if args.max_load else os.getloadavg()[0]
    server.start()
    try:
        print(f"\n{args.db}, {args.n:,} logs ({WEIGHTS[0]:.0%} for one key), tree {args.tree or 'this one'}, "
              f"load average {load:.1f}; probes every {args.interval * 1000:.0f} ms for {args.seconds:g} s per phase\n")
        print("| phase | request | n | p50 ms | p99 ms | max ms | mean ms | non-200 |\n|---|---|---|---|---|---|---|---|")
        for name, conc in (("idle", 0), (f"busy ({args.concurrency} x overview+timeseries)", args.concurrency)):
            result = asyncio.run(phase(server.port, keys["big"], keys["small"], args.seconds, args.interval, conc))
            st = result["statuses"]
            print(row(f"{name} | GET /healthz", result["health"], st["health"]))
            print(row(f"{name} | other tenant GET /api/v1/logs?limit=1", result["other"], st["other"]))
            if conc:
                print(row(f"{name} | big key overview/timeseries", result["heavy"], st["heavy"]))
        print(f"\nload average after: {os.getloadavg()[0]:.1f}")
    finally:
        server.stop()
    shutil.rmtree(data_dir, ignore_errors=True)  # kept (with server.log) when the run failed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    p.add_argument("--n", type=int, default=300_000)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--interval", type=float, default=0.05, help="seconds between probe requests")
    p.add_argument("--concurrency", type=int, default=2, help="connections requesting the heavy reads")
    p.add_argument("--tree", help="run main.py from another checkout (before/after)")
    p.add_argument("--reuse", action="store_true", help="keep an already loaded database")
    p.add_argument("--path", help="SQLite file (default: $TMPDIR/cl-bench-stall.db)")
    p.add_argument("--pg-name", default="cl_bench_stall")
    p.add_argument("--max-load", type=float, default=0.0, help="wait (up to 5 min) for a quieter machine first")
    args = p.parse_args()
    assert args.pg_name.startswith("cl_bench"), "only dedicated cl_bench* databases"
    run(args)


if __name__ == "__main__":
    main()
