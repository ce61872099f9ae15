"""Benchmark: ingest throughput and latency of the real server (ack after commit).

Starts `python main.py` as its own process on a fresh database, measures start → first answer and
idle RSS, creates a client and key with the CLI, then drives POST /api/v1/logs (one ~2 KB log per
request) and POST /api/v1/logs/batch (500 logs per request) from this process at each concurrency,
printing req/s, logs/s, p50/p99 latency, the server's RSS during the run and its CPU use.

    .venv/bin/python bench/ingest.py [--db sqlite|postgresql|both] [--seconds 10]
                                     [--concurrency 1,8,32] [--batch-concurrency 1,8,32] [--tree DIR]

PostgreSQL uses a dedicated database `cl_bench_ingest` on 127.0.0.1:5432 (dropped and created).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    TABLE_HEAD,
    batch_bodies,
    demo_bodies,
    drive,
    fmt_row,
    fresh_pg_database,
    logger_server,
    post_request,
    rss_mib,
    wait_quiet,
)

from tests.support.server import create_client_key  # noqa: E402

MAX_BODY = 1024 * 1024  # the server's default limit


def db_url_for(kind: str, tmp: str) -> str:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{tmp}/bench.db"
    return fresh_pg_database("cl_bench_ingest")


def run_backend(kind: str, args) -> list[str]:
    lines = []
    with tempfile.TemporaryDirectory(prefix="cl-bench-") as tmp:
        url = db_url_for(kind, tmp)
        server = logger_server(url, tmp, log_path=f"{tmp}/server.log", tree=args.tree).start()
        try:
            time.sleep(2)
            idle = rss_mib(server.pid)
            key = create_client_key(server.env, "bench")
            singles = [post_request("/api/v1/logs", key, b) for b in demo_bodies(256)]
            batches = [post_request("/api/v1/logs/batch", key, b) for b in batch_bodies(500, 8)
                       if len(b) <= MAX_BODY]
            lines.append(f"### {kind}{' (' + args.tree + ')' if args.tree else ''}, load average {wait_quiet(args.max_load):.1f}\n")
            lines.append(f"- start → first answer (fresh database, migrations included): {server.started_in:.2f} s")
            lines.append(f"- idle RSS after start: {idle:.0f} MiB")
            lines.append(f"- batch bodies: {len(batches)} of 500 logs each, "
                         f"{sum(map(len, batches)) / len(batches) / 1024:.0f} KiB on average\n")
            lines.append(TABLE_HEAD)
            print("\n".join(lines), flush=True)
            for c in args.concurrency:
                r = drive(server.port, singles, c, args.seconds, args.warmup, server.pid)
                lines.append(fmt_row("POST /logs", r))
                print(lines[-1], r.statuses if r.errors else "", flush=True)
            for c in args.batch_concurrency:
                r = drive(server.port, batches, c, args.seconds, args.warmup, server.pid, items=500)
                lines.append(fmt_row("POST /logs/batch ×500", r))
                print(lines[-1], r.statuses if r.errors else "", flush=True)
            time.sleep(3)
            lines.append(f"\n- RSS after the runs, idle again: {rss_mib(server.pid):.0f} MiB\n")
            print(lines[-1], flush=True)
        finally:
            server.stop()
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--tree", help="benchmark another copy of the code (directory with main.py), e.g. a checkout of HEAD~1")
    p.add_argument("--max-load", type=float, default=1.5, help="wait (up to 5 min) for a load average below this")
    p.add_argument("--concurrency", type=lambda s: [int(x) for x in s.split(",") if x], default=[1, 8, 32])
    p.add_argument("--batch-concurrency", type=lambda s: [int(x) for x in s.split(",") if x], default=[1, 8, 32])
    args = p.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    for kind in kinds:
        run_backend(kind, args)


if __name__ == "__main__":
    main()
