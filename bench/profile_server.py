"""Profile the server under ingest load with py-spy (pip install py-spy; needs root or ptrace rights).

    .venv/bin/python bench/profile_server.py [--db sqlite|postgresql] [--batch | --otlp] [--seconds 12] [--out prof.txt] [--tree DIR]

Writes py-spy's collapsed stacks to --out and prints the functions with the most own and total samples.
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, batch_bodies, demo_bodies, drive, fresh_pg_database, logger_server, post_request  # noqa: E402

from tests.support.server import create_client_key  # noqa: E402


def summarize(path: str, top: int = 40) -> None:
    own: collections.Counter = collections.Counter()
    total: collections.Counter = collections.Counter()
    n = 0
    for line in open(path):
        stack, _, count = line.rstrip().rpartition(" ")
        count = int(count)
        n += count
        frames = stack.split(";")
        own[frames[-1]] += count
        for f in set(frames):
            total[f] += count
    print(f"\n{n} samples. Own time:")
    for f, c in own.most_common(top):
        print(f"{c / n * 100:5.1f}%  {f}")
    print("\nTotal (inclusive) time:")
    for f, c in total.most_common(top):
        print(f"{c / n * 100:5.1f}%  {f}")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    p.add_argument("--batch", action="store_true")
    p.add_argument("--otlp", action="store_true", help="POST /v1/traces: 512-span exports, new traces in every request")
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--seconds", type=float, default=12)
    p.add_argument("--out", default="/tmp/cl-profile.txt")
    p.add_argument("--tree", help="profile another copy of the code (directory with main.py)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="cl-prof-") as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db" if args.db == "sqlite" else fresh_pg_database("cl_bench_prof")
        server = logger_server(url, tmp, log_path=f"{tmp}/server.log", tree=args.tree).start()
        try:
            key = create_client_key(server.env, "bench")
            if args.otlp:
                from otlp import CHILDREN_PREFIX, SPANS_PER_TRACE, otlp_request, template

                body = template(False)  # bench/otlp.py's export; each request below has its own trace ids
                reqs = [otlp_request(key, body.replace(CHILDREN_PREFIX, b"\xbe" + n.to_bytes(7))) for n in range(1, 400)]
                items = 512 // SPANS_PER_TRACE  # "logs" are traces here
            elif args.batch:
                reqs, items = [post_request("/api/v1/logs/batch", key, b) for b in batch_bodies(500, 4)], 500
            else:
                reqs, items = [post_request("/api/v1/logs", key, b) for b in demo_bodies(256)], 1
            spy = threading.Thread(target=subprocess.run, args=([
                str(REPO / ".venv/bin/py-spy"), "record", "-p", str(server.pid), "-d", str(int(args.seconds - 2)),
                "-r", "200", "-f", "raw", "-o", args.out, "--nonblocking"],), kwargs={"capture_output": True})
            spy.start()
            r = drive(server.port, reqs, args.concurrency, args.seconds, 1.0, server.pid, items)
            spy.join()
            print(f"{r.rps:,.0f} req/s, {r.items_per_second:,.0f} logs/s, p50 {r.pct(.5):.1f} ms, p99 {r.pct(.99):.1f} ms"
                  " (slowed by the profiler)")
        finally:
            server.stop()
    summarize(args.out)


if __name__ == "__main__":
    main()
