"""Benchmark: where this machine's cores go while logs are ingested, and the ceiling that implies.

For each load (single logs at concurrency 32, batches of 500 at concurrency 8) it prints the rate,
then the CPU of each party over the measured seconds — the server (every process of
`logger-app serve --workers N`, each thread of the first one), PostgreSQL (every `postgres`
process: the backends, WAL writer, checkpointer), the load generator (this process) — and each
party's CPU time per log. The sum per log is what one log costs the machine; `cores / sum` is the
most logs/s this machine could give with that code, whatever the concurrency or the number of
workers, while the load generator runs beside the server.

    .venv/bin/python bench/cores.py [--db sqlite|postgresql] [--workers 1] [--seconds 8] [--load single,batch,otlp] [--tree DIR]
    .venv/bin/python bench/cores.py --bare   # the same for bench/bare_app.py (single logs)

Issue 12 asks for `--workers 2` >= 1.5x one process and >= 10,000 batched logs/s on this 2-core
machine; docs/PERFORMANCE.md uses this bench's figures to say what those targets need."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import otlp  # noqa: E402
from _common import (  # noqa: E402
    LoadResult,
    bare_server,
    batch_bodies,
    cpu_seconds,
    demo_bodies,
    drive,
    fresh_pg_database,
    logger_server,
    post_request,
)

from tests.support.server import create_client_key  # noqa: E402

_TICK = os.sysconf("SC_CLK_TCK")


def _stat_cpu(path: str) -> float:
    with open(path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _postgres_pids() -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if Path(f"/proc/{entry}/comm").read_text().strip() == "postgres":
                    pids.append(int(entry))
            except OSError:
                continue
    return pids


def snapshot(server_pid: int) -> dict[str, float]:
    """CPU seconds so far: the server's processes together, each thread of the first, postgres, us."""
    out: dict[str, float] = {}
    workers = [server_pid, *_children(server_pid)]
    out["server (all processes)"] = sum(cpu_seconds(p) for p in workers)
    for tid in os.listdir(f"/proc/{server_pid}/task"):
        out[f"  server thread {tid}"] = _stat_cpu(f"/proc/{server_pid}/task/{tid}/stat")
    pg = 0.0
    for pid in _postgres_pids():  # processes come and go (a backend per connection)
        try:
            pg += cpu_seconds(pid)
        except OSError:
            continue
    out["postgresql"] = pg
    out["load generator"] = cpu_seconds(os.getpid())
    return out


def measure(server_pid: int, load: Callable[[], LoadResult], seconds: float, warmup: float, per: int = 1) -> None:
    """Run `load` (seconds + warmup long); `per`: logs per item of its result (1 / spans per trace for OTLP)."""
    marks: dict[str, tuple[float, dict[str, float]]] = {}

    def mark() -> None:  # the measured window, inside the load (not its warm-up or its tail)
        time.sleep(warmup + 0.5)
        marks["a"] = (time.perf_counter(), snapshot(server_pid))
        time.sleep(seconds - 1.0)
        marks["b"] = (time.perf_counter(), snapshot(server_pid))

    thread = threading.Thread(target=mark)
    thread.start()
    result = load()
    thread.join()
    (t0, a), (t1, b) = marks["a"], marks["b"]
    rate = result.items_per_second * per
    print(f"\n{rate:,.0f} logs/s ({result.items_per_second:,.0f} items/s, {result.rps:,.0f} req/s, "
          f"p99 {result.pct(0.99):.1f} ms, {result.errors} errors)")
    print("| party | cores | CPU µs per log |\n|---|---|---|")
    total = 0.0
    for name, value in b.items():
        cores = (value - a.get(name, 0.0)) / (t1 - t0)
        if name.startswith("  ") and cores < 0.02:
            continue
        per_log = cores / rate * 1e6 if rate else float("nan")
        if not name.startswith("  "):
            total += per_log
        print(f"| {name} | {cores:.2f} | {per_log:,.0f} |")
    ncpu = os.cpu_count() or 1
    print(f"| **one log, all parties** | | **{total:,.0f}** |")
    print(f"ceiling on {ncpu} cores at that cost: {ncpu / total * 1e6:,.0f} logs/s" if total else "")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", choices=["sqlite", "postgresql"], default="postgresql")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--tree", help="run another copy of the code (a directory holding main.py), e.g. the previous commit")
    p.add_argument("--bare", action="store_true",
                   help="the bare parse-only endpoint (bench/bare_app.py, compare.py's yardstick) instead, single logs")
    p.add_argument("--load", type=lambda s: s.split(","), default=["single", "batch", "otlp"],
                   help="single (POST /api/v1/logs, c=32), batch (x500, c=8), otlp (512-span exports, c=8)")
    args = p.parse_args()
    if args.bare:
        bare = bare_server().start()
        try:
            print(f"## bench/bare_app.py, load average {os.getloadavg()[0]:.1f}\n\n### POST /api/v1/logs, concurrency 32")
            singles = [post_request("/api/v1/logs", "none", b) for b in demo_bodies(256)]
            measure(bare.pid, lambda: drive(bare.port, singles, 32, args.seconds, args.warmup), args.seconds, args.warmup)
        finally:
            bare.stop()
        return
    with tempfile.TemporaryDirectory(prefix="cl-bench-cores-") as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db" if args.db == "sqlite" else fresh_pg_database("cl_bench_cores")
        server = logger_server(url, tmp, log_path=f"{tmp}/server.log", tree=args.tree, read_rate_limit_per_key="0")
        server.argv = ("-m", "logger_app", "serve", "--workers", str(args.workers))
        server.start()
        try:
            time.sleep(1 + args.workers)  # every worker up
            key = create_client_key(server.env, "bench")
            print(f"## {args.db}, --workers {args.workers}, load average {os.getloadavg()[0]:.1f}")
            s, w = args.seconds, args.warmup
            if "single" in args.load:
                print("\n### POST /api/v1/logs, concurrency 32")
                singles = [post_request("/api/v1/logs", key, b) for b in demo_bodies(256)]
                measure(server.pid, lambda: drive(server.port, singles, 32, s, w), s, w)
            if "batch" in args.load:
                print("\n### POST /api/v1/logs/batch x500, concurrency 8")
                batches = [post_request("/api/v1/logs/batch", key, b) for b in batch_bodies(500, 8)]
                measure(server.pid, lambda: drive(server.port, batches, 8, s, w, items=500), s, w)
            if "otlp" in args.load:
                print(f"\n### POST /v1/traces, {otlp.TRACES_PER_BATCH * otlp.SPANS_PER_TRACE}-span exports "
                      f"({otlp.SPANS_PER_TRACE} spans a trace = a log), concurrency 8")
                body = otlp.template(False)
                measure(server.pid, lambda: asyncio.run(otlp._drive_otlp(server.port, key, body, False, 8, s, w, server.pid))[0],
                        s, w, per=1 / otlp.SPANS_PER_TRACE)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
