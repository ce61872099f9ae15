"""Sustained ingest against the real server with 10% invalid payloads, recording RSS over time.

Looks for slow leaks (RSS that keeps climbing), 5xx under steady load, and latency drift.

    .venv/bin/python bench/soak.py                    # 10 minutes on SQLite
    .venv/bin/python bench/soak.py --minutes 3 --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.server import ServerProcess, create_client_key, server_env  # noqa: E402

VALID_SHAPES = [
    lambda i: {"ticket_id": f"S-{i}", "status": "SUCCESS", "execution_time_seconds": random.random() * 30,
               "category": random.choice(["triage", "fix", "review"]), "payload": {"steps": list(range(20)), "note": "x" * 500}},
    lambda i: {"ticket_id": f"S-{i}", "status": "ERROR", "payload": {"error": {"type": "Timeout", "trace": ["a"] * 50}}},
]
# (body bytes, extra headers): what a buggy or hostile agent sends. Each must be a 4xx.
INVALID = [
    (b'{"ticket_id": "x\\u0000", "status": "SUCCESS"}', {}),
    (b'{"ticket_id": "x", "status": "MAYBE"}', {}),
    (b'{"ticket_id": "x", "status": "SUCCESS", "payload": {"n": NaN}}', {}),
    (b"{not json", {}),
    (b"[1, 2, 3]", {}),
    (b'{"ticket_id": "' + b"\xff" * 10 + b'", "status": "SUCCESS"}', {}),
    (b'{"a":' * 100 + b"1" + b"}" * 100, {}),
    (json.dumps({"ticket_id": "x", "status": "SUCCESS"}).encode(), {"Content-Type": "text/plain"}),
    (gzip.compress(b" " * (4 << 20)), {"Content-Encoding": "gzip"}),
]


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: collections.Counter = collections.Counter()
        self.unexpected: collections.Counter = collections.Counter()
        self.latencies: list[float] = []

    def take(self) -> tuple[collections.Counter, list[float]]:
        with self.lock:
            statuses, self.statuses = self.statuses, collections.Counter()
            latencies, self.latencies = self.latencies, []
        return statuses, latencies


def worker(url: str, key: str, stats: Stats, stop: threading.Event, invalid_share: float) -> None:
    base = {"X-API-Key": key, "Content-Type": "application/json"}
    with httpx.Client(base_url=url, timeout=30) as client:
        i = 0
        while not stop.is_set():
            i += 1
            bad = random.random() < invalid_share
            if bad:
                body, extra = random.choice(INVALID)
            else:
                body, extra = json.dumps(random.choice(VALID_SHAPES)(i)).encode(), {}
            start = time.monotonic()
            try:
                resp = client.post("/api/v1/logs", content=body, headers={**base, **extra})
                status = resp.status_code
            except httpx.TransportError as exc:
                status = type(exc).__name__
            took = time.monotonic() - start
            ok = (isinstance(status, int) and 400 <= status < 500) if bad else status == 200
            with stats.lock:
                stats.statuses[status] += 1
                stats.latencies.append(took)
                if not ok:
                    stats.unexpected[(bad, status)] += 1


def pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(len(values) * q))] if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--invalid", type=float, default=0.10, help="share of invalid payloads")
    parser.add_argument("--interval", type=float, default=15, help="seconds between samples")
    parser.add_argument("--database-url", help="default: SQLite in a temporary directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/logger.db"
        server = ServerProcess(server_env(url, Path(tmp) / "data"), Path(tmp) / "server.log").start()
        try:
            key = create_client_key(server.env, f"soak{uuid.uuid4().hex[:6]}")
            stats, stop = Stats(), threading.Event()
            threads = [threading.Thread(target=worker, args=(server.url, key, stats, stop, args.invalid), daemon=True)
                       for _ in range(args.workers)]
            for t in threads:
                t.start()
            started, samples = time.monotonic(), []
            print(f"{'t(s)':>6} {'req/s':>7} {'p50ms':>7} {'p99ms':>7} {'RSS MiB':>8}  statuses", flush=True)
            print(f"{0:>6} {'':>7} {'':>7} {'':>7} {server.rss_kb() / 1024:>8.1f}", flush=True)
            while time.monotonic() - started < args.minutes * 60:
                time.sleep(args.interval)
                statuses, lat = stats.take()
                rss = server.rss_kb() / 1024
                elapsed = time.monotonic() - started
                samples.append((elapsed, rss, len(lat) / args.interval, pct(lat, 0.5), pct(lat, 0.99)))
                print(f"{elapsed:>6.0f} {len(lat) / args.interval:>7.0f} {pct(lat, .5) * 1000:>7.1f} "
                      f"{pct(lat, .99) * 1000:>7.1f} {rss:>8.1f}  {dict(sorted(statuses.items(), key=str))}", flush=True)
            stop.set()
            for t in threads:
                t.join(30)
            rss = [s[1] for s in samples]
            half = len(rss) // 2
            growth = statistics.mean(rss[half:]) - statistics.mean(rss[:half]) if half else 0.0
            print(f"RSS first {rss[0]:.1f} MiB, last {rss[-1]:.1f} MiB, max {max(rss):.1f} MiB; "
                  f"mean of 2nd half minus 1st half: {growth:+.1f} MiB")
            print(f"throughput mean {statistics.mean(s[2] for s in samples):.0f} req/s; "
                  f"p99 worst interval {max(s[4] for s in samples) * 1000:.1f} ms")
            print(f"unexpected answers: {dict(stats.unexpected) or 'none'}")
            return 0 if not stats.unexpected else 1
        finally:
            server.stop()


if __name__ == "__main__":
    raise SystemExit(main())
