"""Minimal HTTP POST over a kept-alive http.client connection (standard library only)."""

from __future__ import annotations

import http.client
import ssl
from urllib.parse import urlsplit

BATCH_PATH = "/api/v1/logs/batch"

# A kept-alive socket that the server has since closed fails on first use with one of
# these, before the request could have been processed by a live server; one immediate
# reconnect is cheaper than a backoff sleep after every idle period.
_STALE_CONNECTION_ERRORS = (
    http.client.RemoteDisconnected,
    ConnectionResetError,
    ConnectionAbortedError,
    BrokenPipeError,
)


class HttpTransport:
    """Posts request bodies to ``{url}/api/v1/logs/batch``. Not thread-safe: one worker uses it."""

    def __init__(self, url: str, api_key: str, timeout: float) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"url must be http(s)://host[:port][/prefix], got {url!r}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._path = parts.path.rstrip("/") + BATCH_PATH
        self._timeout = timeout
        self._headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "X-API-Key": api_key,
            "User-Agent": "central-logger-client/0.1",
        }
        self._conn: http.client.HTTPConnection | None = None

    @property
    def endpoint(self) -> str:
        scheme = "https" if self._https else "http"
        port = f":{self._port}" if self._port else ""
        return f"{scheme}://{self._host}{port}{self._path}"

    def post(self, body: bytes, *, gzipped: bool = False) -> tuple[int, http.client.HTTPMessage, bytes]:
        """Return (status, headers, body). Raises OSError/HTTPException on transport failure."""
        headers = {**self._headers, "Content-Encoding": "gzip"} if gzipped else self._headers
        reused = self._conn is not None
        try:
            return self._post_once(body, headers)
        except _STALE_CONNECTION_ERRORS:
            if not reused:
                raise
            return self._post_once(body, headers)

    def _post_once(self, body: bytes, headers: dict[str, str]) -> tuple[int, http.client.HTTPMessage, bytes]:
        if self._conn is None:
            if self._https:
                self._conn = http.client.HTTPSConnection(
                    self._host, self._port, timeout=self._timeout, context=ssl.create_default_context()
                )
            else:
                self._conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        try:
            self._conn.request("POST", self._path, body=body, headers=headers)
            resp = self._conn.getresponse()
            data = resp.read()
        except BaseException:
            # A half-used connection is in an unknown state; never send on it again.
            self.close()
            raise
        return resp.status, resp.headers, data

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except OSError:
                pass

    def forget_connection(self) -> None:
        """Drop the socket inherited over fork() without closing it: it is the parent's."""
        self._conn = None
