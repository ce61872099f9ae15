"""The admin pages: clients, API keys and dashboard users, and who may use them."""

from __future__ import annotations

import asyncio

import httpx
from nicegui import ui
from sqlalchemy import update

from logger_app.db.models import UserSession
from logger_app.services.access import clients, keys, sessions, users
from tests.support.pages import sign_in, wait_for_navigation

CLIENT_PW = "client-password"


async def _as_admin(user, path: str) -> None:
    await sign_in(user, path=f"/login?next={path}")
    await wait_for_navigation(user, "/auth/complete")


async def _eventually(check, tries: int = 100) -> None:
    for _ in range(tries):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition never became true")


async def _api_status(settings, key: str) -> int:
    from logger_app.app import create_api

    # A fresh API process view with no key cache, as another server process would see it.
    app = create_api(settings.model_copy(update={"key_cache_seconds": 0}))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            return (await client.get("/api/v1/logs", headers={"X-API-Key": key})).status_code


async def test_client_user_gets_403_on_admin_pages_and_sees_no_admin_links(user, db):
    await clients.create_client(db, "acme")
    await users.create_user(db, "carol", CLIENT_PW, "client", "acme")
    await sign_in(user, "carol", CLIENT_PW, path="/login?next=/admin/clients")
    await wait_for_navigation(user, "/auth/complete")
    await user.should_see("403 – not allowed")
    await user.should_not_see(marker="create-client")
    await user.should_not_see("Users")  # no admin navigation for client users
    await user.open("/admin/users")
    await user.should_see("403 – not allowed")
    await user.should_not_see(marker="create-user")


async def test_admin_creates_client_and_key_shown_once_then_revokes_it(user, app_env):
    await _as_admin(user, "/admin/clients")
    user.find(marker="new-client-id").type("acme")
    user.find(marker="new-client-name").type("Acme Corp")
    user.find(marker="create-client").click()
    await user.should_see(marker="client-acme", retries=50)
    await user.should_see("Acme Corp")

    user.find(marker="key-label-acme").type("ci runner")
    user.find(marker="create-key-acme").click()
    await user.should_see(marker="new-key", retries=50)
    key = user.find(marker="new-key").elements.pop().value
    assert key.startswith("lk_") and len(key) > 40
    await user.should_see("shown only this once")
    assert await _api_status(app_env, key) == 200

    user.find(marker="key-done").click()
    prefix = key[:keys.PREFIX_LEN]
    await user.open("/admin/clients")  # a fresh view lists the key by prefix only
    await user.should_see(marker=f"key-{prefix}")
    await user.should_see("ci runner")
    await user.should_not_see(key)
    await user.should_not_see(marker="new-key")

    user.find(marker=f"revoke-{prefix}").click()
    await user.should_not_see(marker=f"revoke-{prefix}", retries=50)
    await user.should_see("revoked")
    assert await _api_status(app_env, key) == 401


async def test_admin_disables_a_client(user, db):
    await clients.create_client(db, "acme")
    await _as_admin(user, "/admin/clients")
    user.find(marker="toggle-client-acme").click()

    async def disabled() -> bool:
        return (await clients.get_client(db, "acme")).disabled

    await _eventually(disabled)
    await user.should_see("Enable", retries=50)


async def test_bad_client_id_is_reported_not_crashing(user, db):
    await _as_admin(user, "/admin/clients")
    user.find(marker="new-client-id").type("Not Valid!")
    user.find(marker="create-client").click()
    await asyncio.sleep(0.3)
    assert await clients.list_clients(db) == []
    await user.should_see(marker="create-client")  # the page is still there


async def test_admin_creates_disables_and_resets_users(user, db):
    await clients.create_client(db, "acme")
    await _as_admin(user, "/admin/users")
    user.find(marker="new-username").type("dave")
    user.find(marker="new-password").type("first-password")
    user.find(marker="new-client").elements.pop().value = "acme"
    user.find(marker="create-user").click()
    await user.should_see(marker="user-dave", retries=100)
    dave = next(u for u in await users.list_users(db) if u.username == "dave")
    assert dave.role == "client" and dave.client_id == "acme" and not dave.disabled

    token = await sessions.create_session(db, dave.id)
    user.find(marker="reset-dave").click()
    user.find(marker="reset-password").type("second-password")
    user.find(marker="reset-save").click()

    async def new_password_works() -> bool:
        return await users.authenticate_user(db, "dave", "second-password") is not None

    await _eventually(new_password_works)
    assert await users.authenticate_user(db, "dave", "first-password") is None
    assert await sessions.resolve(db, token) is None  # a reset signs the user out everywhere

    user.find(marker="toggle-user-dave").click()

    async def dave_disabled() -> bool:
        return next(u for u in await users.list_users(db) if u.username == "dave").disabled

    await _eventually(dave_disabled)
    assert await users.authenticate_user(db, "dave", "second-password") is None


async def test_admin_cannot_disable_themselves(user):
    await _as_admin(user, "/admin/users")
    await user.should_see(marker="user-admin")
    await user.should_see("(you)")
    await user.should_not_see(marker="toggle-user-admin")


async def test_handlers_recheck_the_session_before_acting(user, db):
    await _as_admin(user, "/admin/clients")
    await user.should_see(marker="create-client")
    # The session ends (logout in another tab, expiry) while this page stays open.
    async with db.write() as s:
        await s.execute(update(UserSession).where(UserSession.ended_at.is_(None)).values(ended_at=sessions.utcnow()))
        await s.commit()
    user.find(marker="new-client-id").type("sneaky")
    user.find(marker="create-client").click()
    await wait_for_navigation(user, "/login")
    assert await clients.list_clients(db) == []
    await user.should_see(marker="login")


async def test_user_create_rejects_short_passwords_without_crashing(user, db):
    await _as_admin(user, "/admin/users")
    user.find(marker="new-username").type("erin")
    user.find(marker="new-password").type("short")
    user.find(marker="new-role").elements.pop().value = "admin"
    user.find(marker="create-user").click()
    await asyncio.sleep(0.5)
    assert [u.username for u in await users.list_users(db)] == ["admin"]
    assert user.find(kind=ui.input, marker="new-username").elements.pop().value == "erin"


async def test_theme_choice_is_saved_for_the_user(user, db):
    await _as_admin(user, "/admin/clients")
    user.find(marker="theme-toggle").click()

    async def saved_dark() -> bool:
        return (await users.get_user(db, 1)).dark_mode is True

    await _eventually(saved_dark)
    await user.open("/admin/users")  # the next page starts dark
    assert user.find(kind=ui.dark_mode).elements.pop().value is True


def test_client_selector_url_keeps_other_parameters():
    from logger_app.pages.layout import client_url

    q = [("status", "ERROR"), ("client_id", "acme"), ("q", "a b")]
    assert client_url("/logs", q, "globex") == "/logs?status=ERROR&q=a+b&client_id=globex"
    assert client_url("/logs", q, None) == "/logs?status=ERROR&q=a+b"
    assert client_url("/", [("client_id", "acme")], "") == "/"


async def test_clients_show_their_activity_and_can_be_renamed_filtered_and_sorted(user, db):
    from datetime import timedelta

    from logger_app.db.models import IngestStat
    from logger_app.db.types import utcnow
    from logger_app.services.ingest.counters import hour_of

    for cid in ("acme", "globex", "initech"):
        await clients.create_client(db, cid)
    now = hour_of(utcnow())
    async with db.write() as session:
        session.add_all([
            IngestStat(client_id="acme", hour=now, accepted=120, duplicates=0, rejected_auth=0, rejected_validation=3,
                       rejected_too_large=1, rejected_unavailable=0),
            IngestStat(client_id="acme", hour=now - timedelta(hours=30), accepted=999, duplicates=0, rejected_auth=0,
                       rejected_validation=50, rejected_too_large=0, rejected_unavailable=0),  # older than 24 h
            IngestStat(client_id="globex", hour=now - timedelta(hours=2), accepted=7, duplicates=0, rejected_auth=0,
                       rejected_validation=0, rejected_too_large=0, rejected_unavailable=0),
            IngestStat(client_id="initech", hour=now - timedelta(hours=5), accepted=500, duplicates=0, rejected_auth=0,
                       rejected_validation=0, rejected_too_large=0, rejected_unavailable=0),
        ])
        await session.commit()
    await _as_admin(user, "/admin/clients")
    await user.should_see(marker="client-acme", retries=50)
    assert user.find(marker="logs-24h-acme").elements.pop().text == "120"
    assert user.find(marker="rejected-24h-acme").elements.pop().text == "4"
    assert user.find(marker="last-ingest-acme").elements.pop().text == now.strftime("%Y-%m-%d %H:%M")
    assert user.find(marker="logs-24h-initech").elements.pop().text == "500"

    def row_order() -> list[str]:
        return [m[len("client-"):] for e in user.client.layout.descendants() for m in e._markers
                if m in ("client-acme", "client-globex", "client-initech")]

    async def order_becomes(expected: list[str]) -> None:
        for _ in range(100):
            if row_order() == expected:
                return
            await asyncio.sleep(0.05)
        assert row_order() == expected

    assert row_order() == ["acme", "globex", "initech"]  # by id
    user.find(marker="client-sort").elements.pop().value = "logs"
    await order_becomes(["initech", "acme", "globex"])
    user.find(marker="client-sort").elements.pop().value = "last"
    await order_becomes(["acme", "globex", "initech"])
    user.find(marker="client-sort").elements.pop().value = "rejected"
    await order_becomes(["acme", "globex", "initech"])
    user.find(marker="client-filter").type("glob")
    await user.should_see("1 of 3 clients", retries=50)
    await user.should_not_see(marker="client-acme")

    user.find(marker="rename-globex").click()
    user.find(marker="rename-name").clear().type("Globex Helpdesk EU")
    user.find(marker="rename-save").click()

    async def renamed() -> bool:
        return (await clients.get_client(db, "globex")).name == "Globex Helpdesk EU"

    await _eventually(renamed)
    await user.should_see("Globex Helpdesk EU", retries=50)


async def test_users_show_created_and_last_sign_in_and_the_form_says_a_client_user_needs_a_client(user, db):
    await clients.create_client(db, "acme")
    await users.create_user(db, "erin", CLIENT_PW, "client", "acme")
    await _as_admin(user, "/admin/users")
    await user.should_see(marker="user-erin")
    assert user.find(marker="last-sign-in-erin").elements.pop().text == "never"
    assert user.find(marker="last-sign-in-admin").elements.pop().text != "never"  # signed in just now
    await user.should_see("A client user needs a client")
    user.find(marker="new-role").elements.pop().value = "admin"
    await user.should_see("An admin sees every client", retries=50)
