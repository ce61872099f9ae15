"""LogShipper: queue logs in memory, send them in batches from a background thread.

The caller's thread only serialises the log and appends it under a lock that the worker
holds for microseconds; every network wait happens on the worker, so ``ship()`` cannot be
slowed down by a slow, dead or hanging server.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Mapping
from typing import Any

from . import _hooks
from ._retry import RETRYABLE_STATUSES, RetryPolicy, parse_retry_after
from ._transport import HttpTransport
from ._wire import batch_body, count_rejected, encode_log, new_idempotency_key

# The shipper's own complaints go here; LogShipperHandler ignores this logger so a broken
# server cannot make the shipper ship reports about itself in a loop.
_log = logging.getLogger("logger_app.client")

_INF = float("inf")


class LogShipper:
    """Ship logs to a Central Logger service without ever blocking the caller.

    Counters (``stats``) count log items: ``shipped`` stored by the server, ``failed``
    refused by it (4xx, or rejected inside a 207), ``dropped`` never sent (queue full,
    unserialisable, shipper closed), ``retried`` item re-sends after a retryable error.
    """

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        max_queue: int = 10_000,
        batch_size: int = 200,
        flush_interval: float = 1.0,
        timeout: float = 5.0,
        max_batch_bytes: int = 512 * 1024,
        backoff_base: float = 0.2,
        backoff_cap: float = 30.0,
        max_retry_after: float = 60.0,
        max_retries: int | None = None,
        atexit_timeout: float | None = None,
        compress: bool = False,
    ) -> None:
        if max_queue < 1 or batch_size < 1 or max_batch_bytes < 64:
            raise ValueError("max_queue and batch_size must be >= 1, max_batch_bytes >= 64")
        if flush_interval < 0 or timeout <= 0:
            raise ValueError("flush_interval must be >= 0 and timeout > 0")
        self.url = url.rstrip("/")
        self._transport = HttpTransport(self.url, api_key, timeout)
        self._max_queue = max_queue
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._timeout = timeout
        # The server refuses bodies over its limit (1 MiB by default) with 413, which is not
        # retried; cutting batches by size as well as count keeps big logs from being lost.
        self._max_batch_bytes = max_batch_bytes
        # max_retries=None: retry until the server answers or the shipper is closed. Memory
        # stays bounded anyway, because the queue drops its oldest entries when full.
        self._retry = RetryPolicy(
            base=backoff_base, cap=backoff_cap, max_retry_after=max_retry_after, max_retries=max_retries
        )
        self._atexit_timeout = timeout if atexit_timeout is None else atexit_timeout
        # Off by default: on loopback or a LAN, compressing costs more CPU than it saves time.
        # The server's body limit applies to the inflated size, so batches are cut the same.
        self._compress = compress
        self._closed = False
        self.last_error: str | None = None
        self._init_runtime()
        _hooks.register(self)

    def _init_runtime(self) -> None:
        # Everything a forked child must not inherit: a lock possibly held by a thread that
        # does not exist there, a worker that does not exist there, and the parent's queue
        # (the parent still ships those; the child would send them twice).
        self._pid = os.getpid()
        # Re-entrant so that a signal handler logging through LogShipperHandler while this
        # thread is inside ship() cannot deadlock it.
        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)  # worker waits for items / flush / close
        self._done = threading.Condition(self._lock)  # flush() and close() wait for progress
        self._queue: deque[tuple[int, bytes]] = deque()
        self._inflight_min: int | None = None  # lowest sequence number being sent
        self._next_seq = 0
        self._thread: threading.Thread | None = None
        self._flush_requested = False
        self._closing = self._closed
        self._abandon = False
        self._stats = {"shipped": 0, "dropped": 0, "retried": 0, "failed": 0}

    def _after_fork_in_child(self) -> None:
        self._init_runtime()
        self._transport.forget_connection()

    def _check_pid(self) -> None:
        if self._pid != os.getpid():
            self._after_fork_in_child()

    # -- caller side -----------------------------------------------------------------------

    def ship(self, log: Mapping[str, Any]) -> bool:
        """Queue one log. Never blocks, never raises; False means the log was dropped."""
        try:
            self._check_pid()
            if self._closed or not isinstance(log, Mapping):
                return self._drop_one()
            if type(log) is not dict:
                log = dict(log)  # the C encoder only takes real dicts (and this snapshots views)
            if not log.get("idempotency_key"):
                # A key per log (not per batch) lets the server store a retried batch once
                # even when batches are re-cut differently on the next attempt.
                log = {**log, "idempotency_key": new_idempotency_key()}
            # Serialise now: it proves the log is JSON (NaN is not) and snapshots it, so
            # a caller mutating its dict afterwards cannot change what gets sent.
            data = encode_log(log).encode()
            if len(data) > self._max_batch_bytes:
                return self._drop_one()
            with self._lock:
                if self._closed:
                    self._stats["dropped"] += 1
                    return False
                if self._thread is None:
                    self._start_worker()
                queue = self._queue
                if len(queue) >= self._max_queue:
                    queue.popleft()
                    self._stats["dropped"] += 1
                    self._done.notify_all()
                queue.append((self._next_seq, data))
                self._next_seq += 1
                n = len(queue)
                if n == 1 or n == self._batch_size:
                    self._wake.notify()
            return True
        except Exception:  # noqa: BLE001 - the contract is "never raises into the caller"
            return self._drop_one()

    def _drop_one(self) -> bool:
        try:
            with self._lock:
                self._stats["dropped"] += 1
        except Exception:  # noqa: BLE001
            pass
        return False

    @property
    def stats(self) -> dict[str, int]:
        """A snapshot of the counters plus ``queued`` (waiting, not yet being sent)."""
        self._check_pid()
        with self._lock:
            return {**self._stats, "queued": len(self._queue)}

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every log shipped before this call is stored, failed or dropped.

        Returns False if that did not happen within ``timeout`` (default: the request timeout).
        """
        self._check_pid()
        timeout = self._timeout if timeout is None else timeout
        if threading.current_thread() is self._thread:
            return False  # the worker waiting for itself would only burn the timeout
        with self._lock:
            target = self._next_seq - 1
            if self._min_pending() > target:
                return True
            self._flush_requested = True
            self._wake.notify()
            return self._done.wait_for(lambda: self._min_pending() > target, timeout)

    def close(self, timeout: float | None = None) -> bool:
        """Stop accepting logs and try to deliver the queue within ``timeout`` seconds.

        Whatever is still queued after that is counted as dropped at once; a batch still
        in flight is counted when its request ends (shipped if it got through after all).
        Returns True if everything was resolved in time.
        """
        self._check_pid()
        timeout = self._timeout if timeout is None else timeout
        self._begin_close()
        return self._finish_close(time.monotonic() + timeout)

    def _begin_close(self) -> None:
        with self._lock:
            self._closed = self._closing = True
            self._wake.notify_all()

    def _finish_close(self, deadline: float) -> bool:
        with self._lock:
            target = self._next_seq - 1
            drained = self._done.wait_for(
                lambda: self._min_pending() > target, max(0.0, deadline - time.monotonic())
            )
            if not drained:
                self._abandon = True
                self._stats["dropped"] += len(self._queue)
                self._queue.clear()
                self._wake.notify_all()
            thread = self._thread
        if drained and thread is not None and thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))
        return drained

    def __enter__(self) -> LogShipper:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _min_pending(self) -> float:
        # Items resolve almost but not exactly in order (drop-oldest can overtake the batch
        # in flight), so flush tracks the oldest unresolved sequence number, not a count.
        low = _INF if self._inflight_min is None else self._inflight_min
        if self._queue:
            low = min(low, self._queue[0][0])
        return low

    # -- worker side -----------------------------------------------------------------------

    def _start_worker(self) -> None:
        self._thread = threading.Thread(target=self._run, name="central-logger-shipper", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while (batch := self._next_batch()) is not None:
                self._send(batch)
        except Exception:  # noqa: BLE001 - a bug here must not kill the host program
            _log.exception("central logger shipper worker crashed; the next ship() restarts it")
            with self._lock:
                # Unblock flush() and let ship() start a fresh worker instead of queueing forever.
                self._thread = None
                self._inflight_min = None
                self._done.notify_all()
        finally:
            self._transport.close()

    def _next_batch(self) -> list[tuple[int, bytes]] | None:
        with self._lock:
            while not self._queue:
                if self._closing or self._abandon:
                    return None
                self._flush_requested = False
                self._wake.wait()
            # Wait for a full batch, but no longer than flush_interval after the first item.
            deadline = time.monotonic() + self._flush_interval
            while (
                len(self._queue) < self._batch_size
                and not (self._flush_requested or self._closing or self._abandon)
            ):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._wake.wait(remaining)
            if self._abandon:
                return None
            batch: list[tuple[int, bytes]] = []
            size = 0
            while self._queue and len(batch) < self._batch_size:
                item_size = len(self._queue[0][1]) + 1
                if batch and size + item_size > self._max_batch_bytes:
                    break
                batch.append(self._queue.popleft())
                size += item_size
            self._inflight_min = batch[0][0] if batch else None
            return batch

    def _send(self, batch: list[tuple[int, bytes]]) -> None:
        body = batch_body([data for _, data in batch], compress=self._compress)
        attempt = 0
        while True:
            retry_after = None
            try:
                status, headers, payload = self._transport.post(body, gzipped=self._compress)
            except Exception as exc:  # noqa: BLE001 - refused, reset, timeout, bad HTTP...
                error = f"{type(exc).__name__}: {exc}"
            else:
                if 200 <= status < 300:
                    self._settle(batch, status, payload)
                    return
                error = f"HTTP {status}: {payload[:200]!r}"
                if status not in RETRYABLE_STATUSES:
                    self._fail(batch, error)
                    return
                retry_after = parse_retry_after(headers.get("Retry-After"))
            if self._retry.gives_up(attempt):
                self._fail(batch, error)
                return
            if attempt == 0:
                _log.warning("central logger at %s unavailable, will retry: %s", self.url, error)
            self.last_error = error
            delay = self._retry.delay(attempt, retry_after)
            attempt += 1
            with self._lock:
                if self._wake.wait_for(lambda: self._abandon, delay):
                    self._stats["dropped"] += len(batch)
                    self._resolve()
                    return
                self._stats["retried"] += len(batch)

    def _settle(self, batch: list[tuple[int, bytes]], status: int, payload: bytes) -> None:
        rejected = 0
        if status == 207 or payload[:1] == b"{":
            rejected = count_rejected(payload, len(batch))
            if rejected:
                self.last_error = f"HTTP {status}: {rejected} of {len(batch)} logs rejected"
                _log.warning("central logger rejected %d of %d logs: %s", rejected, len(batch), payload[:300])
        with self._lock:
            self._stats["shipped"] += len(batch) - rejected
            self._stats["failed"] += rejected
            self._resolve()

    def _fail(self, batch: list[tuple[int, bytes]], error: str) -> None:
        self.last_error = error
        _log.warning("central logger refused %d logs (not retried): %s", len(batch), error)
        with self._lock:
            self._stats["failed"] += len(batch)
            self._resolve()

    def _resolve(self) -> None:
        # Caller holds the lock.
        self._inflight_min = None
        self._done.notify_all()
