"""Shared by the benchmarks: the server under test (tests/support/server.py's ServerProcess, with the
benches' settings), its RSS and CPU, and a lean HTTP/1.1 load generator.

The load generator is raw asyncio (uvloop) with pre-encoded requests on keep-alive connections: it
costs a few microseconds per request, so the server under test, not the client, is the bottleneck
(httpx costs ~10x more per request and would measure itself)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.server import REPO, ServerProcess, free_port, server_env  # noqa: E402


def rss_mib(pid: int) -> float:
    """VmRSS of a process, in MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def logger_server(db_url: str, data_dir: str, log_path: str | None = None, tree: str | None = None,
                  **settings: str) -> ServerProcess:
    """`python main.py` in its own process, as in production (uvicorn, uvloop, httptools, no access log);
    `.start()` returns once /healthz answers, with `started_in` the seconds from process start to then.

    The caller's LOGGER_* variables reach the server (`settings` add more). `tree`: run main.py from
    another copy of the code (a directory holding main.py and logger_app/), e.g. the previous commit,
    to compare before/after in the same conditions. The CLI (`cli(server.env, ...)`) runs this one."""
    env = server_env(db_url, Path(data_dir), inherit_logger_env=True,
                     **{"admin_password": "x", "storage_secret": "bench", **settings})
    return ServerProcess(env, Path(log_path) if log_path else None, cwd=Path(tree) if tree else REPO,
                         ready_path="/healthz", poll_seconds=0.005)


def bare_server() -> ServerProcess:
    """bench/bare_app.py, the yardstick for bench/compare.py."""
    port = free_port()
    # The bare app takes its port on the command line; LOGGER_PORT tells ServerProcess where to look.
    return ServerProcess(dict(os.environ, LOGGER_PORT=str(port)), argv=("bench/bare_app.py", str(port)),
                         ready_path="/healthz", poll_seconds=0.005)


def pg_admin(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qAtc", sql], check=True,
                   capture_output=True)


def fresh_pg_database(name: str) -> str:
    """Drop and create a dedicated database (never the shared `test` one); returns its URL."""
    assert name.startswith("cl_bench"), name
    pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    pg_admin(f'CREATE DATABASE "{name}"')
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


def demo_bodies(n: int = 256, seed: int = 1) -> list[bytes]:
    """Realistic logs (~1.9 KB on average, 0.9–4.3 KB) in the shape of logger_app.demo."""
    from logger_app.demo import demo_log

    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    return [json.dumps(demo_log(rng, "bench", now - timedelta(seconds=rng.uniform(0, 86400)), i)).encode()
            for i in range(n)]


def batch_bodies(per_batch: int = 500, n: int = 8, seed: int = 2) -> list[bytes]:
    logs = demo_bodies(per_batch * n, seed)
    return [b'{"logs":[' + b",".join(logs[i * per_batch:(i + 1) * per_batch]) + b"]}" for i in range(n)]


def post_request(path: str, key: str, body: bytes) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


# ---------------------------------------------------------------- load generator


class _Conn(asyncio.Protocol):
    def __init__(self):
        self.buf = bytearray()
        self.waiter: asyncio.Future | None = None
        self.transport = None
        self.lost = False

    def connection_made(self, transport):
        self.transport = transport

    def connection_lost(self, exc):
        self.lost = True
        if self.waiter and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed"))

    def data_received(self, data):
        self.buf += data
        self._check()

    def _check(self):
        if self.waiter is None or self.waiter.done():
            return
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buf[:end]).lower()
        i = head.find(b"content-length:")
        length = int(head[i + 15:head.find(b"\r\n", i) if head.find(b"\r\n", i) > 0 else None]) if i >= 0 else 0
        total = end + 4 + length
        if len(self.buf) < total:
            return
        status = int(self.buf[9:12])
        del self.buf[:total]
        self.waiter.set_result(status)

    async def request(self, raw: bytes) -> int:
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        return await self.waiter


@dataclass
class LoadResult:
    concurrency: int
    seconds: float
    requests: int
    errors: int
    latencies: list[float] = field(repr=False)
    items_per_request: int = 1
    statuses: dict[int, int] = field(default_factory=dict)
    rss: list[float] = field(default_factory=list)
    server_cpu: float = 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def items_per_second(self) -> float:
        return self.rps * self.items_per_request

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        s = sorted(self.latencies)
        return s[min(len(s) - 1, int(q * len(s)))] * 1000


async def _drive(port: int, requests: list[bytes], concurrency: int, seconds: float, warmup: float,
                 pid: int | None, items: int) -> LoadResult:
    loop = asyncio.get_running_loop()
    conns = []
    for _ in range(concurrency):
        _, proto = await loop.create_connection(_Conn, "127.0.0.1", port)
        conns.append(proto)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counters = {"n": 0, "errors": 0}
    rss: list[float] = []
    t_start = time.perf_counter()
    measure_from = t_start + warmup
    stop_at = measure_from + seconds

    async def worker(conn: _Conn, offset: int):
        i = offset
        while True:
            t0 = time.perf_counter()
            if t0 >= stop_at:
                return
            raw = requests[i % len(requests)]
            i += 7
            try:
                status = await conn.request(raw)
            except ConnectionError:
                counters["errors"] += 1
                return
            t1 = time.perf_counter()
            if t0 >= measure_from:
                latencies.append(t1 - t0)
                statuses[status] = statuses.get(status, 0) + 1
                if status != 200:
                    counters["errors"] += 1

    async def sampler():
        while time.perf_counter() < stop_at:
            await asyncio.sleep(0.5)
            if pid:
                rss.append(rss_mib(pid))

    cpu0 = None
    async def cpu_mark():
        nonlocal cpu0
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        cpu0 = cpu_seconds(pid) if pid else 0.0

    await asyncio.gather(*(worker(c, k * 13) for k, c in enumerate(conns)), sampler(), cpu_mark())
    cpu = (cpu_seconds(pid) - cpu0) if pid else 0.0
    for c in conns:
        c.transport.close()
    return LoadResult(concurrency, seconds, len(latencies), counters["errors"], latencies, items, statuses, rss,
                      cpu / seconds)


def drive(port: int, requests: list[bytes], concurrency: int, seconds: float = 10.0, warmup: float = 2.0,
          pid: int | None = None, items: int = 1) -> LoadResult:
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover
        runner = asyncio.run
    return runner(_drive(port, requests, concurrency, seconds, warmup, pid, items))


def fmt_row(label: str, r: LoadResult) -> str:
    rss = f"{min(r.rss):.0f}–{max(r.rss):.0f}" if r.rss else "-"
    return (f"| {label} | {r.concurrency} | {r.rps:,.0f} | {r.items_per_second:,.0f} | {r.pct(0.5):.1f} | "
            f"{r.pct(0.99):.1f} | {r.errors} | {rss} | {r.server_cpu * 100:.0f}% |")


TABLE_HEAD = ("| endpoint | conc. | req/s | logs/s | p50 ms | p99 ms | errors | server RSS MiB (min–max) | server CPU |\n"
              "|---|---|---|---|---|---|---|---|---|")


def wait_quiet(max_load: float = 1.5, max_wait: float = 300.0) -> float:
    """Wait (bounded) until the 1-minute load average drops below max_load; returns it.

    This machine has 2 cores and is shared: numbers taken while other jobs run are not comparable."""
    deadline = time.monotonic() + max_wait
    load = os.getloadavg()[0]
    while load > max_load and time.monotonic() < deadline:
        time.sleep(5)
        load = os.getloadavg()[0]
    return load
