"""Fault injectors that sit in front of (or instead of) a real server, at the TCP or HTTP level.

  TcpFaultProxy   in front of the shared PostgreSQL; the test switches it between three modes:
                    forward    relay bytes both ways (a healthy network)
                    blackhole  accept connections and swallow every byte, never answering (a dead
                               host, a bad firewall)
                    refuse     close the listening port and reset every open connection (database down)
                  The shared PostgreSQL itself is never touched: only the proxy's own sockets are closed.
  HttpFaultProxy  an HTTP/1.1 proxy in front of the real logger server that misbehaves per request,
                  on a plan; it never pretends to be the logs API except to answer with a canned
                  error status.
  Blackhole       accepts TCP connections and never answers.
  closed_port_url a URL on which nothing listens.

Threads, not asyncio, so the proxies keep working even if the code under test stalls its event loop."""

from __future__ import annotations

import http.client
import socket
import struct
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.support.server import free_port

MODES = ("forward", "blackhole", "refuse")  # TcpFaultProxy's


def _close(sock: socket.socket, reset: bool) -> None:
    """Close so that the peer and our own pump thread notice at once.

    A bare close() does not wake a thread blocked in recv() on the same socket, and the kernel
    keeps the connection open until that recv returns; shutdown() wakes it. With `reset` the peer
    gets an RST (SO_LINGER 0), as from a crashed host, instead of an orderly FIN."""
    try:
        if reset:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RD if reset else socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class _Pipe:
    def __init__(self, client: socket.socket, upstream: socket.socket | None):
        self.client = client
        self.upstream = upstream
        self.swallow = upstream is None  # blackholed: read and drop, never answer

    def close(self, reset: bool = False) -> None:
        _close(self.client, reset)
        if self.upstream is not None:
            _close(self.upstream, reset)


class TcpFaultProxy:
    def __init__(self, target_host: str = "127.0.0.1", target_port: int = 5432):
        self.target = (target_host, target_port)
        self.mode = "forward"
        self._lock = threading.Lock()
        self._pipes: set[_Pipe] = set()
        self._listener: socket.socket | None = None
        self.port = 0
        self.accepted = 0
        self._listen()

    # -- control ---------------------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        assert mode in MODES, mode
        with self._lock:
            old, self.mode = self.mode, mode
            pipes = list(self._pipes)
        if mode == "refuse":
            self._close_listener()
            self._drop(pipes)
        elif mode == "blackhole":
            if self._listener is None:
                self._listen()
            for pipe in pipes:  # open connections go silent too: nothing more is relayed
                pipe.swallow = True
        else:
            if self._listener is None:
                self._listen()
            if old == "blackhole":
                # Bytes were swallowed, so those sessions are corrupt: end them, as a peer whose
                # state was lost would. New connections are relayed again.
                self._drop(pipes)

    def close(self) -> None:
        self._close_listener()
        with self._lock:
            pipes = list(self._pipes)
        self._drop(pipes)

    @property
    def url_host_port(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> TcpFaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------------
    def _listen(self) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))  # the same port again after 'refuse'
        sock.listen(256)
        self.port = sock.getsockname()[1]
        self._listener = sock
        threading.Thread(target=self._accept, args=(sock,), daemon=True).start()

    def _close_listener(self) -> None:
        sock, self._listener = self._listener, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _drop(self, pipes: list[_Pipe]) -> None:
        for pipe in pipes:
            with self._lock:
                self._pipes.discard(pipe)
            pipe.close(reset=True)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            self.accepted += 1
            upstream = None
            if self.mode == "forward":
                try:
                    upstream = socket.create_connection(self.target, timeout=5)
                    upstream.settimeout(None)
                except OSError:
                    _close(client, reset=True)
                    continue
            pipe = _Pipe(client, upstream)
            with self._lock:
                self._pipes.add(pipe)
            threading.Thread(target=self._pump, args=(pipe, client, upstream), daemon=True).start()
            if upstream is not None:
                threading.Thread(target=self._pump, args=(pipe, upstream, client), daemon=True).start()

    def _pump(self, pipe: _Pipe, src: socket.socket, dst: socket.socket | None) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if pipe.swallow or dst is None:
                    continue
                dst.sendall(data)
        except OSError:
            pass
        with self._lock:
            self._pipes.discard(pipe)
        pipe.close()


# -- in front of (or instead of) the logger server -----------------------------------------


def closed_port_url() -> str:
    """A URL on which nothing listens (connection refused at once)."""
    return f"http://127.0.0.1:{free_port()}"


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


class HttpFaultProxy:
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

    def __enter__(self) -> HttpFaultProxy:
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
