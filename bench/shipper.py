"""Benchmark: how long does LogShipper.ship() hold up the caller?

Measures per-call latency over N calls (default 100k) in three situations:
  live       the real server, started here on a temporary SQLite database
  blackhole  a listener that accepts TCP connections and never answers
  closed     a port nobody listens on (connection refused)

    .venv/bin/python bench/shipper.py [--calls 100000] [--url URL --key KEY]

A "json only" row times json.dumps of the same log in the same loop: the part of the
tail that also shows up there is the machine (scheduling, other processes), not ship().

Calls are made in a tight loop, far faster than any server ingests, so in the live case
the bounded queue overflows and drops: that is the design (drop oldest, never block), and
the drop count is printed next to the latency.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from logger_app.client import LogShipper  # noqa: E402
from tests.support.proxies import Blackhole, closed_port_url  # noqa: E402
from tests.support.server import create_client_key, start_server  # noqa: E402


def sample_log(i: int) -> dict:
    return {
        "ticket_id": f"bench-{i}",
        "status": "SUCCESS" if i % 10 else "ERROR",
        "execution_time_seconds": 1.25,
        "environment": "bench",
        "category": "summarise",
        "metrics": {"tokens_in": 812, "tokens_out": 144, "cost_usd": 0.0031},
        "payload": {"model": "small", "prompt_chars": 3120, "note": "benchmark log of typical size"},
    }


def timed(call, logs: list[dict]) -> tuple[list[int], float]:
    ns = [0] * len(logs)
    clock = time.perf_counter_ns
    gc.collect()
    start = clock()
    for i, log in enumerate(logs):
        t = clock()
        call(log)
        ns[i] = clock() - t
    return sorted(ns), (clock() - start) / 1e9


def baseline(calls: int) -> dict:
    """json.dumps alone, in the same loop: separates the machine's own jitter from ship()'s."""
    ns, wall = timed(json.dumps, [sample_log(i) for i in range(calls)])
    return summarise(ns, wall, {"shipped": 0, "dropped": 0, "retried": 0, "failed": 0})


def measure(url: str, key: str, calls: int, settle: float) -> dict:
    logs = [sample_log(i) for i in range(calls)]
    shipper = LogShipper(url, key, timeout=2.0)
    shipper.ship(sample_log(-1))  # the first call starts the worker thread; not the steady state
    ns, wall = timed(shipper.ship, logs)
    shipper.flush(settle)
    stats = shipper.stats
    shipper.close(0.5)
    return summarise(ns, wall, stats)


def summarise(ns: list[int], wall: float, stats: dict) -> dict:
    calls = len(ns)

    def pct(p: float) -> float:
        return ns[min(calls - 1, int(p * calls))] / 1000

    return {
        "p50": pct(0.50), "p99": pct(0.99), "p999": pct(0.999), "max": ns[-1] / 1000,
        "rate": calls / wall, **stats,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=100_000)
    ap.add_argument("--url", help="use this running server instead of starting one")
    ap.add_argument("--key", help="API key for --url")
    args = ap.parse_args()

    rows = [("json only", baseline(args.calls))]
    with tempfile.TemporaryDirectory() as tmp:
        server = None
        if args.url and args.key:
            live_url, live_key = args.url, args.key
        else:
            server = start_server(f"sqlite+aiosqlite:///{tmp}/logger.db", Path(tmp))
        try:
            if server is not None:
                live_url, live_key = server.url, create_client_key(server.env, "acme")
            rows.append(("live", measure(live_url, live_key, args.calls, settle=60)))
        finally:
            if server is not None:
                server.stop()
    with Blackhole() as hole:
        rows.append(("blackhole", measure(hole.url, "k", args.calls, settle=0.1)))
    rows.append(("closed", measure(closed_port_url(), "k", args.calls, settle=0.1)))

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"ship() latency, {args.calls:,} calls per scenario, Python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs, load average {load:.1f}, defaults (max_queue=10000, batch_size=200)")
    print(f"{'scenario':<10} {'p50 µs':>8} {'p99 µs':>8} {'p99.9 µs':>9} {'max µs':>9} {'calls/s':>10} "
          f"{'shipped':>8} {'dropped':>8} {'retried':>8} {'failed':>7}")
    for name, r in rows:
        print(f"{name:<10} {r['p50']:>8.1f} {r['p99']:>8.1f} {r['p999']:>9.1f} {r['max']:>9.1f} {r['rate']:>10,.0f} "
              f"{r['shipped']:>8} {r['dropped']:>8} {r['retried']:>8} {r['failed']:>7}")


if __name__ == "__main__":
    main()
