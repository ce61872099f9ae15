"""Server-side dashboard sessions: tokens, tickets, expiry, logout and login throttling."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from logger_app.db.models import LoginAttempt, UserSession
from logger_app.db.types import utcnow
from logger_app.services.access import accounts, clients, sessions, users

PW = "correct-horse-battery"


async def _make_client_user(db, name="carol", client="acme"):
    await clients.create_client(db, client)
    return await users.create_user(db, name, PW, "client", client)


async def _sign_in(db, name="carol", password=PW, ip="10.0.0.1") -> str:
    ticket = await sessions.login(db, name, password, ip)
    assert ticket is not None
    token = await sessions.redeem_ticket(db, ticket)
    assert token is not None
    return token


async def test_login_gives_a_session_scoped_to_the_users_client(runtime):
    db = runtime.db
    u = await _make_client_user(db)
    token = await _sign_in(db)
    found = await sessions.resolve(db, token)
    assert found is not None and found.user_id == u.id and found.role == "client"
    assert found.principal.client_id == "acme" and not found.principal.is_admin
    admin = await sessions.resolve(db, await _sign_in(db, "admin", "admin-password"))
    assert admin.principal.is_admin and admin.principal.client_id is None


async def test_only_the_token_hash_is_stored_and_every_login_gets_a_new_token(runtime):
    db = runtime.db
    await _make_client_user(db)
    first, second = await _sign_in(db), await _sign_in(db)
    assert first != second and len(first) >= 43  # 32 random bytes, url-safe base64
    async with db.read() as s:
        stored = (await s.scalars(select(UserSession.token_hash))).all()
    assert first not in stored and second not in stored
    assert all(len(h) == 64 for h in stored)


async def test_wrong_password_and_unknown_user_are_refused_alike(runtime):
    db = runtime.db
    await _make_client_user(db)
    assert await sessions.login(db, "carol", "wrong-password", "10.0.0.1") is None
    assert await sessions.login(db, "nobody", PW, "10.0.0.2") is None


async def test_ticket_is_single_use_short_lived_and_never_a_session(runtime):
    db = runtime.db
    await _make_client_user(db)
    ticket = await sessions.login(db, "carol", PW, "10.0.0.1")
    assert await sessions.resolve(db, ticket) is None  # a ticket is not a cookie
    assert await sessions.resolve(db, "ticket:" + ticket) is None
    token = await sessions.redeem_ticket(db, ticket)
    assert token is not None
    assert await sessions.redeem_ticket(db, ticket) is None  # second use
    assert await sessions.redeem_ticket(db, token) is None  # a cookie is not a ticket

    stale = await sessions.login(db, "carol", PW, "10.0.0.1")
    async with db.write() as s:
        await s.execute(update(UserSession).where(UserSession.ended_at > utcnow())
                        .values(ended_at=utcnow() - timedelta(seconds=1)))
        await s.commit()
    assert await sessions.redeem_ticket(db, stale) is None
    assert await sessions.redeem_ticket(db, "") is None
    assert await sessions.redeem_ticket(db, "x" * 5000) is None


async def _age(db, token_hash_filter=None, **values):
    async with db.write() as s:
        await s.execute(update(UserSession).where(UserSession.ended_at.is_(None)).values(**values))
        await s.commit()


async def test_idle_expiry_after_12_hours(runtime):
    db = runtime.db
    await _make_client_user(db)
    token = await _sign_in(db)
    await _age(db, last_seen_at=utcnow() - timedelta(hours=11, minutes=50))
    assert await sessions.resolve(db, token) is not None  # and this use resets the idle clock
    async with db.read() as s:
        seen = await s.scalar(select(UserSession.last_seen_at).where(UserSession.ended_at.is_(None)))
    assert utcnow() - seen < timedelta(minutes=1)
    await _age(db, last_seen_at=utcnow() - timedelta(hours=12, minutes=1))
    assert await sessions.resolve(db, token) is None


async def test_absolute_expiry_after_7_days_even_when_active(runtime):
    db = runtime.db
    await _make_client_user(db)
    token = await _sign_in(db)
    await _age(db, created_at=utcnow() - timedelta(days=7, minutes=1), last_seen_at=utcnow())
    assert await sessions.resolve(db, token) is None


async def test_last_seen_is_written_at_most_once_a_minute(runtime):
    db = runtime.db
    await _make_client_user(db)
    token = await _sign_in(db)
    recent = utcnow() - timedelta(seconds=30)
    await _age(db, last_seen_at=recent)
    await sessions.resolve(db, token)
    async with db.read() as s:
        seen = await s.scalar(select(UserSession.last_seen_at).where(UserSession.ended_at.is_(None)))
    assert abs(seen - recent) < timedelta(milliseconds=5)


async def test_logout_and_disabling_end_access(runtime):
    db = runtime.db
    await _make_client_user(db)
    token = await _sign_in(db)
    await sessions.end_session(db, token)
    assert await sessions.resolve(db, token) is None

    token = await _sign_in(db)
    await accounts.set_user_disabled(db, "carol")
    assert await sessions.resolve(db, token) is None
    await accounts.set_user_disabled(db, "carol", False)
    assert await sessions.resolve(db, token) is None  # enabling again never revives old sessions
    token = await _sign_in(db)
    await sessions.end_user_sessions(db, (await sessions.resolve(db, token)).user_id)
    assert await sessions.resolve(db, token) is None


async def test_five_failures_for_a_username_lock_it_even_from_other_ips(runtime):
    db = runtime.db
    await _make_client_user(db)
    for i in range(5):
        assert await sessions.login(db, "carol", "wrong-password", f"10.0.1.{i}") is None
    assert await sessions.login(db, "carol", PW, "10.0.2.1") is None  # right password, still refused
    assert await sessions.login(db, "admin", "admin-password", "10.0.2.1") is not None  # others unaffected

    # The lock lifts once the failures are older than the 15-minute window.
    async with db.write() as s:
        await s.execute(update(LoginAttempt).values(at=utcnow() - timedelta(minutes=16)))
        await s.commit()
    assert await sessions.login(db, "carol", PW, "10.0.2.1") is not None


async def test_five_failures_from_one_ip_lock_that_ip_for_every_username(runtime):
    db = runtime.db
    await _make_client_user(db)
    for i in range(5):
        assert await sessions.login(db, f"guess{i}", "whatever-pass", "10.9.9.9") is None
    assert await sessions.login(db, "carol", PW, "10.9.9.9") is None
    assert await sessions.login(db, "carol", PW, "10.9.9.10") is not None


async def test_users_of_a_disabled_client_are_signed_out(runtime):
    await _make_client_user(runtime.db)
    token = await _sign_in(runtime.db)
    assert await sessions.resolve(runtime.db, token) is not None
    await accounts.set_client_disabled(runtime.db, "acme")
    assert await sessions.resolve(runtime.db, token) is None
    await accounts.set_client_disabled(runtime.db, "acme", False)
    assert await sessions.resolve(runtime.db, token) is None  # enabling again never revives old sessions
    assert await sessions.resolve(runtime.db, await _sign_in(runtime.db)) is not None
