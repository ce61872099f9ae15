"""Slow and greedy clients against the real server process (uvicorn), plus the per-key rate limit.

Slow-client behaviour lives in uvicorn and the socket layer, which the in-process ASGI transport
does not have, so the first half drives `python main.py` over raw sockets."""

from __future__ import annotations

import json
import socket
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from logger_app.services.access.ratelimit import RateLimiter
from tests.support.data import H
from tests.support.server import create_client_key, start_server

BODY_TIMEOUT = 2.0
LOG = json.dumps({"ticket_id": "T-slow", "status": "SUCCESS"}).encode()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("slow")
    srv = start_server(f"sqlite+aiosqlite:///{tmp}/logger.db", tmp, body_timeout_seconds=BODY_TIMEOUT)
    try:
        srv.key = create_client_key(srv.env, "acme")
        yield srv
    finally:
        srv.stop()


def connect(server, timeout: float = 10.0) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=timeout)


def head(server, length: int | None = None, chunked: bool = False) -> bytes:
    lines = ["POST /api/v1/logs HTTP/1.1", f"Host: 127.0.0.1:{server.port}", f"X-API-Key: {server.key}",
             "Content-Type: application/json"]
    lines.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def status_of(sock: socket.socket) -> int:
    data = b""
    while b"\r\n" not in data:
        part = sock.recv(4096)
        if not part:
            raise ConnectionError(f"closed without a response: {data!r}")
        data += part
    return int(data.split(b" ", 2)[1])


def test_body_trickled_byte_by_byte_is_cut_off_by_the_body_timeout(server):
    body = b'{"ticket_id": "T-trickle", "status": "SUCCESS", "payload": {"x": "' + b"a" * 200 + b'"}}'
    with connect(server) as sock:
        sock.sendall(head(server, len(body)))
        start = time.monotonic()
        sock.settimeout(0.05)
        status = None
        for byte in body:  # 20 bytes a second: the whole body would take over 10 s
            try:
                sock.sendall(bytes([byte]))
                status = status_of(sock)
                break
            except TimeoutError:
                continue
            except OSError:  # the server answered and closed while we were still sending
                sock.settimeout(2)
                status = status_of(sock)
                break
        took = time.monotonic() - start
    assert status == 408, status
    assert BODY_TIMEOUT - 0.5 < took < BODY_TIMEOUT + 1.5, took


def test_chunked_body_over_the_limit_is_413_before_it_is_all_sent(server):
    chunk = b" " * 65536
    sent = 0
    with connect(server) as sock:
        sock.sendall(head(server, chunked=True))
        sock.settimeout(0.01)
        status = None
        for _ in range(320):  # 20 MiB offered, limit 1 MiB
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
                status = status_of(sock)
                break
            except TimeoutError:
                continue
            except OSError:
                break
        if status is None:
            sock.settimeout(5)
            status = status_of(sock)
    assert status == 413
    assert sent < 8 << 20, f"server read {sent} bytes before refusing"


def _timed_request(client: httpx.Client, key: str) -> float:
    start = time.monotonic()
    resp = client.post("/api/v1/logs", content=LOG, headers=H(key))
    assert resp.status_code == 200, resp.text
    return time.monotonic() - start


def test_200_idle_sockets_do_not_starve_real_requests(server):
    # Idle, half-sent headers and half-sent bodies: the usual slowloris mix. uvicorn must not be
    # configured with a small limit_concurrency, or these would turn real requests into 503s.
    idle: list[socket.socket] = []
    try:
        for i in range(200):
            sock = connect(server)
            if i % 3 == 1:
                sock.sendall(head(server, 1000)[:40])  # headers never finished
            elif i % 3 == 2:
                sock.sendall(head(server, 1000) + b'{"ticket_id": ')  # body never finished
            idle.append(sock)
        with httpx.Client(base_url=server.url, timeout=10) as client, ThreadPoolExecutor(8) as pool:
            latencies = sorted(pool.map(lambda _: _timed_request(client, server.key), range(200)))
        p99 = latencies[int(len(latencies) * 0.99) - 1]
        print(f"with 200 idle sockets: p50 {statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")
        assert p99 < 1.0, f"p50 {statistics.median(latencies):.3f}s p99 {p99:.3f}s"
        assert (httpx.get(server.url + "/readyz", timeout=5)).status_code == 200
    finally:
        for sock in idle:
            sock.close()


def test_oversized_request_headers_are_refused(server):
    # A header block of many MiB must be refused, not buffered without end.
    with connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Junk: ")
        sock.settimeout(0.05)
        sent, status = 0, None
        while sent < 64 << 20 and status is None:
            try:
                sock.sendall(b"a" * 65536)
                sent += 65536
            except TimeoutError:
                pass
            except OSError:
                break
            try:
                status = status_of(sock)
            except (TimeoutError, ConnectionError):
                pass
    # The server refuses at 64 KiB; loopback socket buffers (and a loaded CI box answering late)
    # can still swallow a few MiB before the refusal arrives, but never the 64 MiB offered.
    assert sent < 16 << 20, f"server buffered {sent} bytes of header"
    assert status == 431
    assert httpx.get(server.url + "/healthz", timeout=5).status_code == 200


def test_headers_that_never_finish_are_cut_off(server):
    # uvicorn's keep-alive timer only runs between requests; server.py adds a deadline for the head.
    from logger_app.server import HEAD_TIMEOUT_SECONDS

    with connect(server, timeout=HEAD_TIMEOUT_SECONDS + 5) as sock:
        start = time.monotonic()
        sock.sendall(b"POST /api/v1/logs HTTP/1.1\r\nHost: x\r\n")
        sock.settimeout(1.0)
        status = None
        while status is None and time.monotonic() - start < HEAD_TIMEOUT_SECONDS + 5:
            try:
                sock.sendall(b"X-A: b\r\n")  # a header line a second: slowloris
                status = status_of(sock)
            except TimeoutError:
                continue
            except OSError:
                break
        took = time.monotonic() - start
    assert status in (None, 408) and took < HEAD_TIMEOUT_SECONDS + 3, (status, took)


# -- per-key rate limit (LOGGER_RATE_LIMIT_PER_KEY) ----------------------------------------
class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_allows_a_burst_then_the_rate():
    clock = FakeClock()
    limiter = RateLimiter(5, clock=clock)
    assert [limiter.retry_after("k") for _ in range(5)] == [None] * 5
    wait = limiter.retry_after("k")
    assert wait == pytest.approx(0.2)
    assert limiter.retry_after("other") is None  # buckets are per key
    clock.now += 0.2
    assert limiter.retry_after("k") is None and limiter.retry_after("k") is not None
    assert RateLimiter(0).retry_after("k") is None  # 0 = off


@pytest.fixture
def limited(api, runtime):
    clock = FakeClock()
    runtime.rate_limiter = RateLimiter(3, clock=clock)
    return clock


async def test_rate_limited_key_gets_429_with_retry_after_and_others_are_unaffected(api, make_key, limited):
    greedy, polite = await make_key("greedy"), await make_key("polite")
    statuses = [(await api.post("/api/v1/logs", content=LOG, headers=H(greedy))).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    resp = await api.post("/api/v1/logs", content=LOG, headers=H(greedy))
    assert resp.status_code == 429 and int(resp.headers["retry-after"]) >= 1
    assert resp.json()["error"]["code"] == "rate_limited" and greedy not in resp.text
    assert (await api.post("/api/v1/logs", content=LOG, headers=H(polite))).status_code == 200
    assert (await api.get("/api/v1/logs", headers=H(polite))).status_code == 200
    limited.now += 1.0  # a second later the bucket holds tokens again
    assert (await api.post("/api/v1/logs", content=LOG, headers=H(greedy))).status_code == 200
