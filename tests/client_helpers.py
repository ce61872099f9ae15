"""Test helpers for the client shipper: the real server in a subprocess, plus fault injectors.

The fault injectors sit in front of (or instead of) the real server at the TCP level; they
never pretend to be the logs API themselves except to answer with a canned error status.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_port_url() -> str:
    """A URL on which nothing listens (connection refused at once)."""
    return f"http://127.0.0.1:{free_port()}"


@dataclass
class RealServer:
    url: str
    api_key: str
    proc: subprocess.Popen
    env: dict[str, str]
    log_path: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def start_real_server(tmpdir: Path, *, startup_timeout: float = 60.0) -> RealServer:
    port = free_port()
    env = {
        **os.environ,
        "LOGGER_DATABASE_URL": f"sqlite+aiosqlite:///{tmpdir}/logger.db",
        "LOGGER_HOST": "127.0.0.1",
        "LOGGER_PORT": str(port),
        "LOGGER_ADMIN_PASSWORD": "x",
        "LOGGER_STORAGE_SECRET": "test",
        "LOGGER_DATA_DIR": str(tmpdir / "data"),
        # read_back pages through everything the module has stored with one key, as fast as the
        # server answers: the default read limit (tests/test_read_rate_limit.py) would cut it off.
        "LOGGER_READ_RATE_LIMIT_PER_KEY": "0",
    }
    log_path = tmpdir / "server.log"
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "main.py"], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + startup_timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as resp:
                if resp.status == 200:
                    break
        except (OSError, urllib.error.URLError):
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"server not healthy in {startup_timeout}s:\n{log_path.read_text()[-4000:]}")
        time.sleep(0.2)
    try:
        api_key = create_api_key(env, "acme")
    except Exception:
        proc.kill()
        raise
    return RealServer(url, api_key, proc, env, log_path)


def create_api_key(env: dict[str, str], client_name: str) -> str:
    def cli(*args: str) -> str:
        res = subprocess.run(
            [sys.executable, "-m", "logger_app", *args],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
        )
        if res.returncode != 0:
            raise RuntimeError(f"CLI {args} failed ({res.returncode}): {res.stdout}\n{res.stderr}")
        return res.stdout

    cli("client", "create", client_name)
    out = cli("key", "create", client_name, "--json")
    # Tolerate log lines around the JSON object.
    start, end = out.index("{"), out.rindex("}") + 1
    return json.loads(out[start:end])["key"]


def read_back(url: str, api_key: str, *, ticket_prefix: str | None = None, max_pages: int = 1000) -> list[dict]:
    """Every stored log visible to ``api_key`` (optionally only those whose ticket_id has a prefix)."""
    items: list[dict] = []
    cursor = None
    for _ in range(max_pages):
        query = {"limit": "200"}
        if cursor:
            query["cursor"] = cursor
        req = urllib.request.Request(
            f"{url}/api/v1/logs?{urllib.parse.urlencode(query)}", headers={"X-API-Key": api_key}
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            page = json.loads(resp.read())
        items.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            break
    if ticket_prefix is not None:
        items = [i for i in items if str(i.get("ticket_id", "")).startswith(ticket_prefix)]
    return items


def read_one(url: str, api_key: str, log_id: str) -> dict:
    """The whole stored log (payload, extra fields, idempotency_key), which list pages omit."""
    req = urllib.request.Request(f"{url}/api/v1/logs/{log_id}", headers={"X-API-Key": api_key})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


class Blackhole:
    """Accepts TCP connections and never answers: the worst kind of dead server."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._held: list[socket.socket] = []
        self._stop = False
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self._held.append(conn)

    @property
    def connections(self) -> int:
        return len(self._held)

    def close(self) -> None:
        self._stop = True
        self._sock.close()
        for conn in self._held:
            conn.close()

    def __enter__(self) -> Blackhole:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# A plan maps the 0-based request number to what the proxy does with that request:
#   ("forward",)                     pass it to the real server and relay the answer
#   ("status", code, {headers})      answer with that status, never reaching the server
#   ("forward_then_cut",)            pass it on, then hang up without relaying the answer
#   ("hang",)                        never answer (a blackhole for that connection)
Plan = Callable[[int], tuple]


@dataclass
class ProxyRequest:
    n: int
    action: str
    path: str
    body: bytes
    at: float = field(default_factory=time.monotonic)


class FaultProxy:
    """HTTP/1.1 proxy in front of the real server that misbehaves on the test's orders."""

    def __init__(self, upstream: str, plan: Plan) -> None:
        parsed = urllib.parse.urlsplit(upstream)
        self._up = (parsed.hostname, parsed.port)
        self.plan = plan
        self.requests: list[ProxyRequest] = []
        self._lock = threading.Lock()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._held: list[socket.socket] = []
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        try:
            while True:
                head = _read_head(reader)
                if head is None:
                    return
                request_line, headers = head
                body = reader.read(int(headers.get("content-length", "0")))
                with self._lock:
                    n = len(self.requests)
                    action = self.plan(n)
                    self.requests.append(ProxyRequest(n, action[0], request_line.split()[1], body))
                kind = action[0]
                if kind == "hang":
                    self._held.append(conn)
                    return
                if kind == "status":
                    extra = action[2] if len(action) > 2 else {}
                    _respond(conn, action[1], b'{"detail":"injected fault"}', extra)
                    continue
                status, resp_headers, resp_body = self._forward(request_line, headers, body)
                if kind == "forward_then_cut":
                    conn.close()
                    return
                _respond(conn, status, resp_body, {"Content-Type": resp_headers.get("content-type", "application/json")})
        except OSError:
            return
        finally:
            if conn not in self._held:
                conn.close()

    def _forward(self, request_line: str, headers: dict[str, str], body: bytes):
        import http.client

        method, path, _ = request_line.split(" ", 2)
        up = http.client.HTTPConnection(*self._up, timeout=30)
        try:
            fwd = {k: v for k, v in headers.items() if k not in ("connection", "host", "content-length")}
            up.request(method, path, body=body, headers=fwd)
            resp = up.getresponse()
            data = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        finally:
            up.close()

    def count(self, action: str) -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.action == action)

    def close(self) -> None:
        self._sock.close()
        for conn in self._held:
            conn.close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_head(reader) -> tuple[str, dict[str, str]] | None:
    request_line = reader.readline()
    if not request_line:
        return None
    headers: dict[str, str] = {}
    while True:
        line = reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return request_line.decode("latin-1").strip(), headers


def _respond(conn: socket.socket, status: int, body: bytes, headers: dict[str, str]) -> None:
    lines = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", "Connection: keep-alive"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)


def first_n(n: int, action: tuple, then: tuple = ("forward",)) -> Plan:
    return lambda i: action if i < n else then
