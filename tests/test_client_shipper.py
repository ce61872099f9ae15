"""Client shipper against the real server, and against a server that is down, hung or flaky.

Set CENTRAL_LOGGER_TEST_URL and CENTRAL_LOGGER_TEST_KEY to run against an already running
server instead of starting one.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import math
import os
import subprocess
import sys
import textwrap
import time
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logger_app.client import AsyncLogShipper, LogShipper, LogShipperHandler, record_to_log
from logger_app.client._retry import backoff_delay, parse_retry_after
from tests.support.proxies import Blackhole, HttpFaultProxy, closed_port_url, first_n
from tests.support.server import REPO, create_client_key, read_back, read_one, start_server

# Fast retries so that recovery tests finish in seconds; the policy itself is unit-tested below.
FAST = dict(flush_interval=0.05, backoff_base=0.05, backoff_cap=0.2)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    url, key = os.environ.get("CENTRAL_LOGGER_TEST_URL"), os.environ.get("CENTRAL_LOGGER_TEST_KEY")
    if url and key:
        yield url, key
        return
    tmp = tmp_path_factory.mktemp("central-logger")
    # read_back pages through everything the module has stored with one key, as fast as the
    # server answers: the default read limit (tests/test_read_rate_limit.py) would cut it off.
    srv = start_server(f"sqlite+aiosqlite:///{tmp}/logger.db", tmp, read_rate_limit_per_key="0")
    try:
        yield srv.url, create_client_key(srv.env, "acme")
    finally:
        srv.stop()


def prefix() -> str:
    return f"t-{uuid.uuid4().hex[:10]}-"


def make_logs(pfx: str, n: int) -> list[dict]:
    return [
        {"ticket_id": f"{pfx}{i}", "status": "SUCCESS", "payload": {"i": i}, "metrics": {"tokens": i}}
        for i in range(n)
    ]


def assert_exactly_once(url: str, key: str, pfx: str, expected_ids: set[str]) -> list[dict]:
    stored = read_back(url, key, ticket_prefix=pfx)
    counts = collections.Counter(item["ticket_id"] for item in stored)
    dupes = {t: c for t, c in counts.items() if c > 1}
    assert not dupes, f"stored more than once: {dupes}"
    assert set(counts) == expected_ids
    return stored


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]


# -- packaging ------------------------------------------------------------------------------


def test_client_imports_with_standard_library_only():
    # -S drops site-packages entirely: if anything outside the stdlib were needed, this fails.
    code = textwrap.dedent(
        """
        import sys
        sys.path.insert(0, ".")
        import logger_app.client
        outside = sorted(
            m for m in sys.modules
            if m.split(".")[0] not in sys.stdlib_module_names
            and m not in ("__main__", "logger_app") and not m.startswith("logger_app.client")
        )
        print(outside)
        """
    )
    res = subprocess.run([sys.executable, "-S", "-c", code], cwd=REPO, capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"


# -- retry policy (pure functions) ----------------------------------------------------------


def test_retry_after_parsing():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 0.5 ") == 0.5
    assert parse_retry_after("-4") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("nan") is None
    from datetime import datetime, timezone

    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:10 GMT", now=now) == 10.0


@given(attempt=st.integers(0, 10_000), r=st.floats(0, 1, exclude_max=True))
def test_backoff_is_capped_growing_and_jittered(attempt, r):
    d = backoff_delay(attempt, base=0.2, cap=30.0, rand=lambda: r)
    step = min(30.0, 0.2 * 2 ** min(attempt, 32))
    assert step / 2 <= d < step + 1e-9
    assert backoff_delay(attempt, base=0.2, cap=30.0, retry_after=7, rand=lambda: r) >= 7
    assert backoff_delay(attempt, base=0.2, cap=30.0, retry_after=10**6, max_retry_after=60, rand=lambda: r) <= 60.2


# -- ship() contract without any server -----------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
weird = st.sampled_from([object(), {1, 2}, b"bytes", float("nan"), lambda: 1])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(log=st.one_of(st.dictionaries(st.text(max_size=10), json_values | weird, max_size=6), json_values, weird))
def test_ship_never_raises_and_reports_drops(log):
    shipper = LogShipper(closed_port_url(), "k", max_queue=5, flush_interval=60)
    try:
        before = shipper.stats
        ok = shipper.ship(log)
        after = shipper.stats
        assert isinstance(ok, bool)
        if ok:
            assert after["queued"] == before["queued"] + 1
        else:
            assert after["dropped"] == before["dropped"] + 1
            assert not isinstance(log, dict) or _not_json(log)
    finally:
        shipper.close(0)


def _not_json(obj) -> bool:
    try:
        json.dumps(obj, allow_nan=False)
        return False
    except (TypeError, ValueError):
        return True


def test_idempotency_key_added_kept_and_caller_dict_untouched():
    shipper = LogShipper(closed_port_url(), "k", flush_interval=60)
    mine = {"ticket_id": "a", "status": "SUCCESS"}
    assert shipper.ship(mine)
    assert shipper.ship({"ticket_id": "b", "status": "SUCCESS", "idempotency_key": "given"})
    assert mine == {"ticket_id": "a", "status": "SUCCESS"}
    queued = [json.loads(d) for _, d in shipper._queue]
    assert uuid.UUID(hex=queued[0]["idempotency_key"]).version == 4
    assert queued[0]["idempotency_key"] == uuid.UUID(hex=queued[0]["idempotency_key"]).hex
    assert queued[1]["idempotency_key"] == "given"
    shipper.close(0)
    assert shipper.ship(mine) is False


def test_full_queue_drops_oldest_and_counts_it():
    shipper = LogShipper(closed_port_url(), "k", max_queue=3, flush_interval=60, batch_size=100)
    for i in range(5):
        assert shipper.ship({"ticket_id": str(i), "status": "SUCCESS"})
    assert [json.loads(d)["ticket_id"] for _, d in shipper._queue] == ["2", "3", "4"]
    assert shipper.stats["dropped"] == 2
    shipper.close(0)


# -- the real server ------------------------------------------------------------------------


def test_ships_to_real_server_exactly_once(server):
    url, key = server
    pfx = prefix()
    logs = make_logs(pfx, 450)
    logs[0].update(environment="prod", category="llm", custom_field={"kept": True})
    with LogShipper(url, key, flush_interval=0.1) as shipper:
        assert all(shipper.ship(log) for log in logs)
        assert shipper.flush(20)
        assert shipper.stats == {"shipped": 450, "dropped": 0, "retried": 0, "failed": 0, "queued": 0}
    stored = assert_exactly_once(url, key, pfx, {log["ticket_id"] for log in logs})
    first = read_one(url, key, next(i["id"] for i in stored if i["ticket_id"] == f"{pfx}0"))
    assert first["payload"] == {"i": 0} and first["metrics"] == {"tokens": 0}
    assert first["environment"] == "prod" and first["category"] == "llm"
    assert first["extra"] == {"custom_field": {"kept": True}} and len(first["idempotency_key"]) == 32


def test_many_threads_shipping_at_once(server):
    import threading

    url, key = server
    pfx = prefix()
    shipper = LogShipper(url, key, flush_interval=0.05)
    results: list[bool] = []

    def worker(t: int) -> None:
        results.extend(shipper.ship({"ticket_id": f"{pfx}{t}-{i}", "status": "SUCCESS"}) for i in range(250))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(results) and len(results) == 2000
    assert shipper.flush(30)
    assert shipper.stats["shipped"] == 2000
    shipper.close(1)
    assert_exactly_once(url, key, pfx, {f"{pfx}{t}-{i}" for t in range(8) for i in range(250)})


def test_gzip_compressed_batches_are_accepted(server):
    url, key = server
    pfx = prefix()
    with HttpFaultProxy(url, lambda i: ("forward",)) as proxy:
        with LogShipper(proxy.url, key, compress=True, **FAST) as shipper:
            for log in make_logs(pfx, 100):
                shipper.ship(log)
            assert shipper.flush(10)
            assert shipper.stats["shipped"] == 100
    assert proxy.requests[0].body[:2] == b"\x1f\x8b"
    assert_exactly_once(url, key, pfx, {f"{pfx}{i}" for i in range(100)})


def test_partial_success_207_counts_rejected_items_as_failed(server):
    url, key = server
    pfx = prefix()
    logs = make_logs(pfx, 5)
    logs[2]["status"] = "NOT-A-STATUS"
    with HttpFaultProxy(url, lambda i: ("forward",)) as proxy:
        shipper = LogShipper(proxy.url, key, **FAST)
        for log in logs:
            shipper.ship(log)
        assert shipper.flush(10)
        stats = shipper.stats
        shipper.close(1)
    assert (stats["shipped"], stats["failed"], stats["retried"]) == (4, 1, 0)
    assert len(proxy.requests) == 1
    assert_exactly_once(url, key, pfx, {f"{pfx}{i}" for i in (0, 1, 3, 4)})


@pytest.mark.parametrize("status", [400, 401, 403, 413])
def test_client_errors_are_failed_not_retried(server, status):
    url, key = server
    with HttpFaultProxy(url, lambda i: ("status", status)) as proxy:
        shipper = LogShipper(proxy.url, key, **FAST)
        for log in make_logs(prefix(), 10):
            shipper.ship(log)
        assert shipper.flush(5)
        time.sleep(0.2)
        stats = shipper.stats
        shipper.close(1)
    assert (stats["failed"], stats["retried"], stats["shipped"]) == (10, 0, 0)
    assert len(proxy.requests) == 1
    assert str(status) in shipper.last_error


def test_wrong_api_key_is_not_retried_against_real_server(server):
    url, _ = server
    shipper = LogShipper(url, "not-a-key", **FAST)
    shipper.ship({"ticket_id": "x", "status": "SUCCESS"})
    assert shipper.flush(5)
    assert (shipper.stats["failed"], shipper.stats["retried"]) == (1, 0)
    assert "401" in shipper.last_error or "403" in shipper.last_error
    shipper.close(1)


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_retryable_status_then_recovery_stores_everything_once(server, status):
    url, key = server
    pfx = prefix()
    logs = make_logs(pfx, 300)
    with HttpFaultProxy(url, first_n(3, ("status", status))) as proxy:
        shipper = LogShipper(proxy.url, key, batch_size=100, **FAST)
        for log in logs:
            assert shipper.ship(log)
        assert shipper.flush(30)
        stats = shipper.stats
        shipper.close(1)
    assert stats["shipped"] == 300 and stats["failed"] == 0 and stats["dropped"] == 0
    assert stats["retried"] >= 3 * 1  # at least one re-send per injected failure
    assert proxy.count("status") == 3
    assert_exactly_once(url, key, pfx, {log["ticket_id"] for log in logs})


def test_retry_after_header_is_honoured(server):
    url, key = server
    plan = first_n(1, ("status", 503, {"Retry-After": "1"}))
    with HttpFaultProxy(url, plan) as proxy:
        shipper = LogShipper(proxy.url, key, **FAST)
        shipper.ship({"ticket_id": prefix(), "status": "SUCCESS"})
        assert shipper.flush(10)
        shipper.close(1)
    first, second = proxy.requests[:2]
    assert second.at - first.at >= 0.95


def test_lost_response_is_retried_and_stored_once(server):
    # The server stores the batch but the answer never arrives: only idempotency keys
    # stop the retry from storing everything twice.
    url, key = server
    pfx = prefix()
    logs = make_logs(pfx, 50)
    with HttpFaultProxy(url, first_n(2, ("forward_then_cut",))) as proxy:
        shipper = LogShipper(proxy.url, key, **FAST)
        for log in logs:
            shipper.ship(log)
        assert shipper.flush(30)
        stats = shipper.stats
        shipper.close(1)
    assert proxy.count("forward_then_cut") == 2
    assert stats["retried"] >= 2 * 50 and stats["shipped"] == 50
    assert_exactly_once(url, key, pfx, {log["ticket_id"] for log in logs})


def test_blackholed_then_recovered_with_drops_keeps_the_rest_exactly_once(server):
    url, key = server
    pfx = prefix()
    logs = make_logs(pfx, 1000)
    # The first two connections hang (client times out), then the server is reachable.
    with HttpFaultProxy(url, first_n(2, ("hang",))) as proxy:
        shipper = LogShipper(proxy.url, key, max_queue=300, batch_size=100, timeout=0.5, **FAST)
        for log in logs:
            assert shipper.ship(log)
        assert shipper.flush(30)
        stats = shipper.stats
        shipper.close(1)
    assert proxy.count("hang") == 2
    assert stats["dropped"] > 0
    assert stats["shipped"] + stats["dropped"] == 1000 and stats["failed"] == 0
    stored = read_back(url, key, ticket_prefix=pfx)
    assert len(stored) == stats["shipped"]
    stored_ids = [s["ticket_id"] for s in stored]
    assert len(set(stored_ids)) == len(stored_ids)
    # Drop-oldest: the newest logs always survive.
    assert {log["ticket_id"] for log in logs[-300:]} <= set(stored_ids)


def test_server_down_ship_stays_fast_and_close_is_bounded():
    shipper = LogShipper(closed_port_url(), "k", **FAST)
    timings = []
    for log in make_logs(prefix(), 2000):
        t = time.perf_counter()
        assert shipper.ship(log)
        timings.append(time.perf_counter() - t)
    assert p99(timings) < 0.005
    assert shipper.flush(0.3) is False
    time.sleep(0.3)
    assert shipper.stats["retried"] > 0 and shipper.stats["shipped"] == 0
    assert "Connection" in (shipper.last_error or "")
    t = time.monotonic()
    assert shipper.close(0.5) is False
    assert time.monotonic() - t < 1.0
    deadline = time.monotonic() + 2  # the batch in flight is counted when its backoff wakes
    while shipper.stats["dropped"] < 2000 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert shipper.stats["dropped"] == 2000
    assert shipper.ship({"ticket_id": "late", "status": "SUCCESS"}) is False


def test_max_retries_turns_retryable_errors_into_failures():
    shipper = LogShipper(closed_port_url(), "k", max_retries=2, **FAST)
    for log in make_logs(prefix(), 10):
        shipper.ship(log)
    assert shipper.flush(5)
    assert (shipper.stats["failed"], shipper.stats["retried"], shipper.stats["dropped"]) == (10, 20, 0)
    shipper.close(0)


def test_worker_crash_does_not_wedge_the_shipper(monkeypatch):
    shipper = LogShipper(closed_port_url(), "k", max_retries=0, **FAST)
    monkeypatch.setattr(shipper, "_send", lambda batch: 1 / 0)
    shipper.ship({"ticket_id": "a", "status": "SUCCESS"})
    assert shipper.flush(2)  # the lost batch is not waited for
    monkeypatch.undo()
    assert shipper.ship({"ticket_id": "b", "status": "SUCCESS"})
    assert shipper.flush(2) and shipper.stats["failed"] == 1
    shipper.close(0)


def test_ship_p99_latency_while_blackholed():
    with Blackhole() as hole:
        shipper = LogShipper(hole.url, "k", max_queue=1000, batch_size=100, timeout=2.0, flush_interval=0.01)
        timings = []
        for log in make_logs(prefix(), 20_000):
            t = time.perf_counter()
            shipper.ship(log)
            timings.append(time.perf_counter() - t)
        stats = shipper.stats
        assert hole.connections >= 1
        assert p99(timings) < 0.005, f"p99 {p99(timings) * 1e3:.3f} ms"
        # Queue bounded: at most max_queue waiting plus one batch in flight.
        assert stats["queued"] == 1000 and stats["dropped"] >= 20_000 - 1000 - 100
        t = time.monotonic()
        shipper.close(0.2)
        assert time.monotonic() - t < 0.5


async def test_event_loop_is_not_blocked_while_blackholed():
    with Blackhole() as hole:
        # A request into the blackhole takes the full 5 s timeout; a loop that waited on it
        # would show a lag of seconds. The bound below leaves room for a busy CI machine.
        shipper = AsyncLogShipper(hole.url, "k", timeout=5.0, flush_interval=0.01, batch_size=50)
        lags: list[float] = []
        stop = asyncio.Event()

        async def ticker():
            while not stop.is_set():
                t = time.perf_counter()
                await asyncio.sleep(0.001)
                lags.append(time.perf_counter() - t - 0.001)

        tick = asyncio.create_task(ticker())
        pfx = prefix()
        for burst in range(50):
            for i in range(100):
                assert shipper.ship({"ticket_id": f"{pfx}{burst}-{i}", "status": "SUCCESS"})
            await asyncio.sleep(0.002)
        # Awaiting a flush that cannot succeed must not freeze the loop either.
        ticks_before = len(lags)
        assert await shipper.flush(0.3) is False
        assert len(lags) - ticks_before > 20
        stop.set()
        await tick
        assert hole.connections >= 1
        assert max(lags) < 0.5, f"loop lag max {max(lags) * 1e3:.1f} ms"
        assert p99(lags) < 0.05, f"loop lag p99 {p99(lags) * 1e3:.1f} ms"
        assert await shipper.close(0.1) is False


async def test_async_shipper_delivers(server):
    url, key = server
    pfx = prefix()
    async with AsyncLogShipper(url, key, flush_interval=0.05) as shipper:
        for log in make_logs(pfx, 20):
            shipper.ship(log)
        assert await shipper.flush(10)
    assert_exactly_once(url, key, pfx, {f"{pfx}{i}" for i in range(20)})


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_child_can_ship(server):
    url, key = server
    pfx = prefix()
    shipper = LogShipper(url, key, flush_interval=0.05)
    shipper.ship({"ticket_id": f"{pfx}parent-before", "status": "SUCCESS"})
    # Hold the shipper's lock while forking: a child that inherited it locked would hang.
    with shipper._lock:
        pid = os.fork()
    if pid == 0:  # child: never return into pytest
        code = 1
        try:
            ok = shipper.ship({"ticket_id": f"{pfx}child", "status": "SUCCESS"})
            if ok and shipper.flush(10) and shipper.stats["shipped"] == 1:
                code = 0
        finally:
            os._exit(code)
    shipper.ship({"ticket_id": f"{pfx}parent-after", "status": "SUCCESS"})
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert shipper.flush(10)
    shipper.close(1)
    # The parent's queued log is shipped by the parent only, not again by the child.
    assert_exactly_once(url, key, pfx, {f"{pfx}parent-before", f"{pfx}child", f"{pfx}parent-after"})


def test_atexit_delivers_without_explicit_flush(server):
    url, key = server
    pfx = prefix()
    script = f"""
import sys; sys.path.insert(0, {str(REPO)!r})
from logger_app.client import LogShipper
s = LogShipper({url!r}, {key!r}, flush_interval=30)
for i in range(25):
    s.ship({{"ticket_id": "{pfx}" + str(i), "status": "SUCCESS"}})
"""
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    assert_exactly_once(url, key, pfx, {f"{pfx}{i}" for i in range(25)})


def test_atexit_waits_at_most_the_timeout_when_blackholed():
    with Blackhole() as hole:
        script = f"""
import sys; sys.path.insert(0, {str(REPO)!r})
from logger_app.client import LogShipper
s = LogShipper({hole.url!r}, "k", timeout=10, atexit_timeout=0.5, flush_interval=0)
s.ship({{"ticket_id": "x", "status": "SUCCESS"}})
"""
        t = time.monotonic()
        res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
        elapsed = time.monotonic() - t
    assert res.returncode == 0, res.stderr
    assert elapsed < 3.0  # interpreter start-up + 0.5 s


# -- logging.Handler adapter ---------------------------------------------------------------


def _record(msg, level=logging.INFO, args=None, **extra) -> logging.LogRecord:
    logger = logging.getLogger("workflow.test")
    return logger.makeRecord(logger.name, level, __file__, 1, msg, args, None, extra=extra or None)


def test_record_to_log_mapping_rules():
    explicit = record_to_log(_record("ignored", central_log={"ticket_id": "T1", "metrics": {"a": 1}}))
    assert explicit["ticket_id"] == "T1" and explicit["metrics"] == {"a": 1} and explicit["status"] == "SUCCESS"
    assert "payload" not in explicit

    as_dict = record_to_log(_record({"ticket_id": "T2", "status": "ERROR"}, level=logging.INFO))
    assert as_dict["ticket_id"] == "T2" and as_dict["status"] == "ERROR"

    minimal = record_to_log(_record("took %d s", level=logging.ERROR, args=(3,), ticket_id="T3"), environment="dev")
    assert minimal["ticket_id"] == "T3" and minimal["status"] == "ERROR" and minimal["environment"] == "dev"
    assert minimal["payload"] == {"message": "took 3 s", "logger": "workflow.test", "level": "ERROR"}
    assert minimal["executed_at"].endswith("+00:00")

    assert record_to_log(_record("no ticket"))["ticket_id"] == "workflow.test"
    assert record_to_log(_record("no ticket"), default_ticket_id="D")["ticket_id"] == "D"
    assert record_to_log(_record("warn", level=logging.WARNING))["status"] == "SUCCESS"


def test_handler_ships_through_real_server(server):
    url, key = server
    pfx = prefix()
    shipper = LogShipper(url, key, flush_interval=0.05)
    handler = LogShipperHandler(shipper, environment="test")
    logger = logging.getLogger(f"workflow.{pfx}")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        logger.info("step done", extra={"ticket_id": f"{pfx}a"})
        logger.error("step failed", extra={"central_log": {"ticket_id": f"{pfx}b", "metrics": {"cost": 0.5}}})
        logger.info({"ticket_id": f"{pfx}c", "status": "SUCCESS", "payload": {"k": "v"}})
        # The shipper's own warnings are never shipped through itself.
        logging.getLogger("logger_app.client").addHandler(handler)
        logging.getLogger("logger_app.client").warning("internal")
        logging.getLogger("logger_app.client").removeHandler(handler)
        handler.flush()
        assert shipper.stats["shipped"] == 3
    finally:
        logger.removeHandler(handler)
        handler.close()
        shipper.close(1)
    listed = assert_exactly_once(url, key, pfx, {f"{pfx}a", f"{pfx}b", f"{pfx}c"})
    stored = {s["ticket_id"]: read_one(url, key, s["id"]) for s in listed}
    assert stored[f"{pfx}a"]["status"] == "SUCCESS" and stored[f"{pfx}a"]["payload"]["message"] == "step done"
    assert stored[f"{pfx}a"]["environment"] == "test"
    assert stored[f"{pfx}b"]["status"] == "ERROR" and stored[f"{pfx}b"]["metrics"] == {"cost": 0.5}
    assert stored[f"{pfx}c"]["payload"] == {"k": "v"}
