"""Serving the built app with uvicorn."""

from __future__ import annotations

import asyncio
import socket

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .config import Settings
from .edge.logfilter import uvicorn_log_config

# uvicorn has no limit on the size of a request head and no deadline for receiving it (its
# keep-alive timer only runs between requests), so one client could buffer a 64 MiB header or hold
# sockets forever by trickling header bytes. The body has its own limit and deadline (api/body.py).
MAX_HEAD_BYTES = 64 * 1024
HEAD_TIMEOUT_SECONDS = 10.0


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol plus a cap on the request head size and a deadline for it."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_bytes = 0
        self._in_head = False
        self._head_timer: asyncio.TimerHandle | None = self.loop.call_later(HEAD_TIMEOUT_SECONDS, self._head_timed_out)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head_bytes = True, 0
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(HEAD_TIMEOUT_SECONDS, self._head_timed_out)

    def on_headers_complete(self) -> None:
        self._in_head = False
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        began_in_head = self._in_head
        super().data_received(data)
        if self._in_head and began_in_head and not self.transport.is_closing():
            # Counted after parsing, and only a read that began inside a head: a read that ends one
            # request's body and begins the next head is not all head (a client that sends its next
            # request as soon as an early answer arrives, a 401/413/503 sent before the body was
            # read, got 431 for the rest of its body: 16 of 32 batch clients in bench/ingest.py
            # --batch-concurrency 32 once 503s came early). A head is so cut at 64 KiB plus one read.
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self.logger.warning("request head larger than %d bytes; closing", MAX_HEAD_BYTES)
                self._in_head = False
                self._reply_and_close(b"431 Request Header Fields Too Large")

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().connection_lost(exc)

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing() and (self._in_head or self.cycle is None):
            self._reply_and_close(b"408 Request Timeout")

    def _reply_and_close(self, status: bytes) -> None:
        self.transport.write(b"HTTP/1.1 " + status + b"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        self.transport.close()


def serve(app: FastAPI, settings: Settings, host: str | None = None, port: int | None = None,
          sockets: list[socket.socket] | None = None) -> None:
    """Serve `app` on host:port, or on `sockets` bound by the `--workers` supervisor (supervisor.py)."""
    if sockets is None and settings.metrics_bind:
        from .telemetry.metrics import serve_private

        serve_private(settings.metrics_bind)  # a daemon thread; with --workers the supervisor serves it
    config = uvicorn.Config(
        app,
        host=host or settings.host,
        port=port or settings.port,
        http=GuardedHttpToolsProtocol,
        # No limit_concurrency: uvicorn counts open connections against it, so idle sockets would
        # turn real requests into 503s. timeout_keep_alive (5 s) closes idle kept-alive sockets.
        timeout_keep_alive=5,
        # Per-request access lines cost ingest throughput and would only repeat what the ingest
        # counters already record; errors are still logged.
        access_log=False,
        log_level="info",
        # Scrubbed log lines (edge/logfilter.py): no socket ids, SQL or tracebacks.
        log_config=uvicorn_log_config(settings.log_format),
        # The edge middleware decides whom to believe (LOGGER_TRUSTED_PROXIES); uvicorn's own
        # default believes X-Forwarded-For from any local peer.
        proxy_headers=False,
        timeout_graceful_shutdown=5,
    )
    uvicorn.Server(config).run(sockets=sockets)
