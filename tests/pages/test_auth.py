"""Signing in and out of the dashboard, as a browser would experience it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from logger_app.db.models import User, UserSession
from logger_app.db.types import utcnow
from logger_app.pages.guard import logout_token
from logger_app.services.access import sessions
from tests.support.pages import browser_cookie, session_cookie, sign_in, wait_for_navigation


async def _login_error(user) -> str:
    await user.should_see(marker="login-error", retries=100)
    return user.find(marker="login-error").elements.pop().text


async def test_protected_page_sends_to_login_and_back_after_signing_in(user):
    await user.open("/admin/users?x=1")
    await user.should_see(marker="login")  # redirected to the login form
    assert session_cookie(user) is None
    await sign_in(user, path="/login?next=%2Fadmin%2Fusers%3Fx%3D1")
    await wait_for_navigation(user, "/auth/complete")
    await user.should_see(marker="user-admin")  # the users page, signed in as admin
    await user.should_see("Central Logger")
    assert session_cookie(user)

    # Signed in, /login itself forwards to the target instead of asking again.
    await user.open("/login?next=/admin/clients")
    await user.should_see(marker="create-client")


async def test_session_cookie_is_httponly_lax_and_site_wide(user, db):
    ticket = await sessions.create_ticket(db, 1, await browser_cookie(user))
    response = await user.http_client.get(f"/auth/complete?ticket={ticket}&next=/admin/users")
    assert response.status_code == 303 and response.headers["location"] == "/admin/users"
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith("cl_session=") and "httponly" in cookie and "samesite=lax" in cookie
    assert "path=/" in cookie and "secure" not in cookie  # cookie_secure defaults off for http://localhost


async def test_tickets_work_once_and_next_never_leaves_the_site(user, db):
    browser = await browser_cookie(user)
    ticket = await sessions.create_ticket(db, 1, browser)
    first = await user.http_client.get(f"/auth/complete?ticket={ticket}&next=//evil.example/x")
    assert first.headers["location"] == "/"
    again = await user.http_client.get(f"/auth/complete?ticket={ticket}&next=/admin/users")
    assert again.headers["location"] == "/login"
    for target in ("https://evil.example", "/\\evil.example", "javascript:alert(1)"):
        t = await sessions.create_ticket(db, 1, browser)
        r = await user.http_client.get("/auth/complete", params={"ticket": t, "next": target})
        assert r.headers["location"] == "/", target
    bogus = await user.http_client.get("/auth/complete?ticket=not-a-ticket")
    assert bogus.headers["location"] == "/login"


async def test_ticket_exchange_only_from_our_own_pages(user, db):
    browser = await browser_cookie(user)
    for site in ("cross-site", "same-site", "none", None):
        ticket = await sessions.create_ticket(db, 1, browser)
        headers = {"Sec-Fetch-Site": site} if site else {}
        if site is None:
            user.http_client.headers.pop("Sec-Fetch-Site")
        try:
            r = await user.http_client.get(f"/auth/complete?ticket={ticket}", headers=headers)
        finally:
            user.http_client.headers["Sec-Fetch-Site"] = "same-origin"
        assert r.headers["location"] == "/login" and "cl_session" not in r.headers.get("set-cookie", ""), site


async def test_a_ticket_works_only_in_the_browser_it_was_made_for(user, db):
    """A ticket read from a URL or a log, replayed from another browser, opens nothing."""
    await browser_cookie(user)
    for other in ("", "x" * 43):
        ticket = await sessions.create_ticket(db, 1, other)
        r = await user.http_client.get(f"/auth/complete?ticket={ticket}")
        assert r.headers["location"] == "/login" and "cl_session" not in r.headers.get("set-cookie", "")


async def test_wrong_password_and_unknown_user_get_the_same_message(user):
    await sign_in(user, "admin", "not-the-password")
    wrong = await _login_error(user)
    await sign_in(user, "no-such-user", "admin-password")
    unknown = await _login_error(user)
    assert wrong == unknown == sessions.LOGIN_FAILED
    assert session_cookie(user) is None
    assert user.back_history[-1].startswith("/login")


async def test_five_failures_lock_the_account_with_the_same_message(user):
    for _ in range(5):
        await sign_in(user, "admin", "not-the-password")
        await _login_error(user)
    await sign_in(user, "admin", "admin-password")  # correct now, but locked
    assert await _login_error(user) == sessions.LOGIN_FAILED
    assert session_cookie(user) is None


async def test_logout_ends_the_session_on_the_server(user, db):
    await sign_in(user, path="/login?next=/admin/users")
    await wait_for_navigation(user, "/auth/complete")
    await user.should_see(marker="user-admin")
    old_cookie = session_cookie(user)

    r = await user.http_client.post("/logout", data={"token": logout_token(old_cookie)})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert session_cookie(user) is None
    async with db.read() as s:
        ended = await s.scalar(select(UserSession.ended_at).where(UserSession.ended_at < utcnow(),
                                                                   UserSession.last_seen_at != UserSession.ended_at))
    assert ended is not None

    # Replaying the old cookie (e.g. copied before logout) no longer opens anything.
    replay = await user.http_client.get("/admin/users", headers={"Cookie": f"cl_session={old_cookie}"})
    assert replay.status_code == 303 and replay.headers["location"].startswith("/login")


async def test_logout_needs_a_post_with_the_sessions_form_token(user, db):
    token = await sessions.create_session(db, 1)
    user.http_client.cookies.set("cl_session", token)
    link = await user.http_client.get("/logout", headers={"Sec-Fetch-Site": "cross-site"})
    assert link.status_code == 405
    for form in ({}, {"token": "0" * 64}, {"token": logout_token("another-session")}):
        r = await user.http_client.post("/logout", data=form)
        assert r.headers["location"] == "/"
    assert await sessions.resolve(db, token) is not None


async def test_idle_session_expires(user, db):
    await sign_in(user, path="/login?next=/admin/clients")
    await wait_for_navigation(user, "/auth/complete")
    await user.should_see(marker="create-client")
    async with db.write() as s:
        await s.execute(update(UserSession).where(UserSession.ended_at.is_(None))
                        .values(last_seen_at=utcnow() - timedelta(hours=13)))
        await s.commit()
    await user.open("/admin/clients")
    await user.should_see(marker="login")


async def test_disabled_user_loses_access_at_once(user, db):
    await sign_in(user, path="/login?next=/admin/clients")
    await wait_for_navigation(user, "/auth/complete")
    await user.should_see(marker="create-client")
    async with db.write() as s:
        await s.execute(update(User).where(User.username == "admin").values(disabled=True))
        await s.commit()
    await user.open("/admin/clients")
    await user.should_see(marker="login")
