"""Benchmark: `logger-app serve --workers N` against one process, on PostgreSQL (the issue's target:
--workers 2 on this 2-core machine ≥ 1.5x the single-process ingest rate).

For each N it starts `python -m logger_app serve --workers N` on a fresh database (`cl_bench_workers`
on 127.0.0.1:5432, dropped and created), drives POST /api/v1/logs (one ~2 KB log per request) and
POST /api/v1/logs/batch (500 logs) on the shared API port, and prints req/s, logs/s, p50/p99, the
CPU of all the server's processes together, and the ratio to N=1.

    .venv/bin/python bench/workers.py [--workers 1,2] [--seconds 10] [--concurrency 32,128] [--batch-concurrency 8]

The load generator runs on the same machine: with 2 cores it competes with the workers, as the
issue's own single-process figures did (bench/compare.py)."""

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
    cpu_seconds,
    demo_bodies,
    drive,
    fmt_row,
    fresh_pg_database,
    logger_server,
    post_request,
    wait_quiet,
)

from tests.support.server import create_client_key  # noqa: E402


def _tree_cpu(pid: int) -> float:
    total = cpu_seconds(pid)
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        total += cpu_seconds(int(child))
    return total


def run(workers: int, args) -> dict[str, float]:
    rates: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="cl-bench-workers-") as tmp:
        url = fresh_pg_database("cl_bench_workers")
        server = logger_server(url, tmp, log_path=f"{tmp}/server.log", read_rate_limit_per_key="0")
        server.argv = ("-m", "logger_app", "serve", "--workers", str(workers))
        server.start()
        try:
            time.sleep(2)
            key = create_client_key(server.env, "bench")
            singles = [post_request("/api/v1/logs", key, b) for b in demo_bodies(256)]
            batches = [post_request("/api/v1/logs/batch", key, b) for b in batch_bodies(500, 8) if len(b) <= 1024 * 1024]
            print(f"\n### --workers {workers}, load average {wait_quiet(args.max_load):.1f}\n\n{TABLE_HEAD}", flush=True)
            for label, bodies, items, levels in (("POST /logs", singles, 1, args.concurrency),
                                                 ("POST /logs/batch ×500", batches, 500, args.batch_concurrency)):
                for c in levels:
                    cpu0 = _tree_cpu(server.pid)
                    r = drive(server.port, bodies, c, args.seconds, args.warmup, None, items=items)
                    r.server_cpu = (_tree_cpu(server.pid) - cpu0) / (args.seconds + args.warmup)
                    rates[f"{label} c={c}"] = r.items_per_second
                    print(fmt_row(label, r), r.statuses if r.errors else "", flush=True)
        finally:
            server.stop()
    return rates


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workers", type=lambda s: [int(x) for x in s.split(",") if x], default=[1, 2])
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--max-load", type=float, default=1.5, help="wait (up to 5 min) for a load average below this")
    p.add_argument("--concurrency", type=lambda s: [int(x) for x in s.split(",") if x], default=[32, 128])
    p.add_argument("--batch-concurrency", type=lambda s: [int(x) for x in s.split(",") if x], default=[8])
    args = p.parse_args()
    results = {n: run(n, args) for n in args.workers}
    base = results.get(args.workers[0], {})
    print("\n| run | " + " | ".join(f"--workers {n}" for n in args.workers) + " |")
    print("|---|" + "---|" * len(args.workers))
    for name in base:
        cells = [f"{results[n][name]:,.0f} ({results[n][name] / base[name]:.2f}x)" if base[name] else "-" for n in args.workers]
        print(f"| {name} logs/s | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
