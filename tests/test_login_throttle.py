"""The login throttle under a burst: attempts are counted before the password is checked, so a
burst of concurrent guesses evaluates at most the limit; argon2 runs at most a few at a time.
SQLite and PostgreSQL (the count must hold across processes, so it lives in the database)."""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from logger_app.services.access import clients, sessions, users
from logger_app.services.errors import LoginBusy

PW = "correct-horse-battery"


class CountingOffload:
    """Runs work in a thread like the real offload, counting password checks and their overlap."""

    def __init__(self) -> None:
        self.verified: list[str] = []
        self.running = 0
        self.most_at_once = 0

    async def __call__(self, fn, *args):
        if fn is users.verify_password:
            self.verified.append(args[0])
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            return await asyncio.to_thread(fn, *args)
        finally:
            if fn is users.verify_password:
                self.running -= 1


async def _burst(db, guesses: list[str], offload, ip_of=lambda i: "10.7.7.7") -> list:
    async def one(i: int, guess: str):
        try:
            return await sessions.login(db, "carol", guess, ip_of(i), offload=offload)
        except LoginBusy:
            return "busy"

    return await asyncio.gather(*(one(i, g) for i, g in enumerate(guesses)))


@pytest.fixture
async def carol(runtime):
    await clients.create_client(runtime.db, "acme")
    await users.create_user(runtime.db, "carol", PW, "client", "acme")


async def test_a_burst_of_40_guesses_evaluates_at_most_the_limit(runtime, carol, monkeypatch):
    # Lift the concurrency cap so the throttle itself is what is tested (the cap is tested below).
    monkeypatch.setattr(sessions, "MAX_CONCURRENT_VERIFIES", 100)
    guesses = [f"wrong-guess-{i}" for i in range(39)] + [PW]
    random.Random(7).shuffle(guesses)
    offload = CountingOffload()
    results = await _burst(runtime.db, guesses, offload, ip_of=lambda i: f"10.7.{i}.1")
    assert len(offload.verified) <= sessions.MAX_FAILURES
    accepted = [g for g, r in zip(guesses, results) if isinstance(r, str) and r != "busy"]
    # The right password is accepted only if it was among the few evaluated, never past the limit.
    assert accepted == ([PW] if PW in offload.verified else [])
    if not accepted:
        # Further guesses only get the rest of the budget; once it is spent the right password is
        # refused without being checked.
        while len(offload.verified) < sessions.MAX_FAILURES:
            before = len(offload.verified)
            assert await sessions.login(runtime.db, "carol", "wrong-again", "10.8.8.7", offload=offload) is None
            assert len(offload.verified) == before + 1
        assert await sessions.login(runtime.db, "carol", PW, "10.8.8.8", offload=offload) is None
        assert len(offload.verified) == sessions.MAX_FAILURES


async def test_a_locked_account_answers_as_slowly_as_a_real_check(runtime, carol):
    for i in range(sessions.MAX_FAILURES):
        assert await sessions.login(runtime.db, "carol", f"wrong-{i}", f"10.6.{i}.1") is None
    started = time.monotonic()
    await users.authenticate_user(runtime.db, "carol", "wrong")
    real_check = time.monotonic() - started
    started = time.monotonic()
    assert await sessions.login(runtime.db, "carol", PW, "10.6.9.1") is None
    # A lower bound only: the throttled answer waits about as long as argon2 takes.
    assert time.monotonic() - started >= 0.5 * real_check


async def test_argon2_runs_at_most_a_few_at_once_and_the_excess_is_refused_at_once(runtime, carol):
    offload = CountingOffload()
    results = await _burst(runtime.db, [f"wrong-{i}" for i in range(40)], offload, ip_of=lambda i: f"10.5.{i}.1")
    assert offload.most_at_once <= sessions.MAX_CONCURRENT_VERIFIES
    assert results.count("busy") >= 40 - sessions.MAX_FAILURES
    assert all(r is None or r == "busy" for r in results)
    # The burst is over: the slots are free again and the limit is still counted in the database.
    assert await sessions.login(runtime.db, "admin", "admin-password", "10.5.99.1") is not None
