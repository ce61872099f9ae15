"""Benchmark: our ingest endpoint against a bare FastAPI endpoint that only parses the same log.

In the same run, starts bench/bare_app.py (uvicorn, same flags: uvloop, httptools, no access log)
and the real server (`python main.py`, ack after commit) on SQLite and on PostgreSQL, drives each
with the same requests at the same concurrency from this process, and prints our req/s as a ratio
of the bare endpoint's (issue 12's target: >= 0.6x at concurrency 32 and 128, p99 <= 30 ms).

    .venv/bin/python bench/compare.py [--db sqlite|postgresql|both] [--concurrency 32] [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    TABLE_HEAD,
    bare_server,
    demo_bodies,
    drive,
    fmt_row,
    fresh_pg_database,
    logger_server,
    post_request,
    wait_quiet,
)

from tests.support.server import create_client_key  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--max-load", type=float, default=1.5, help="wait (up to 5 min) for a load average below this")
    args = p.parse_args()
    bodies = demo_bodies(256)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]

    print(f"load average before: {wait_quiet(args.max_load):.1f}")
    bare = bare_server().start()
    try:
        reqs = [post_request("/api/v1/logs", "unused", b) for b in bodies]
        base = drive(bare.port, reqs, args.concurrency, args.seconds, args.warmup, bare.pid)
    finally:
        bare.stop()
    lines = [TABLE_HEAD, fmt_row("bare FastAPI + pydantic parse", base)]
    print("\n".join(lines), flush=True)
    ratios = {}
    for kind in kinds:
        with tempfile.TemporaryDirectory(prefix="cl-cmp-") as tmp:
            url = f"sqlite+aiosqlite:///{tmp}/bench.db" if kind == "sqlite" else fresh_pg_database("cl_bench_compare")
            server = logger_server(url, tmp, log_path=f"{tmp}/server.log").start()
            try:
                key = create_client_key(server.env, "bench")
                reqs = [post_request("/api/v1/logs", key, b) for b in bodies]
                r = drive(server.port, reqs, args.concurrency, args.seconds, args.warmup, server.pid)
            finally:
                server.stop()
        ratios[kind] = r.rps / base.rps
        lines.append(fmt_row(f"Central Logger, {kind}", r))
        print(lines[-1], r.statuses if r.errors else "", flush=True)
    print()
    for kind, ratio in ratios.items():
        print(f"{kind}: {ratio:.2f}x the bare parse-only endpoint (target >= 0.75)")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
