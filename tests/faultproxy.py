"""A TCP proxy in front of the shared PostgreSQL that the test switches between three modes.

  forward    relay bytes both ways (a healthy network)
  blackhole  accept connections and swallow every byte, never answering (a dead host, a bad firewall)
  refuse     close the listening port and reset every open connection (database down)

The shared PostgreSQL itself is never touched: only the proxy's own sockets are closed. Threads,
not asyncio, so the proxy keeps working even if the app under test stalls its event loop."""

from __future__ import annotations

import socket
import struct
import threading

MODES = ("forward", "blackhole", "refuse")


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


class FaultProxy:
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

    def __enter__(self) -> FaultProxy:
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
