"""/logs/{id}: the debugger renders any payload as text, respects scope, caps what it ships."""

from __future__ import annotations

import json
import random

from nicegui import ui

from logger_app.demo import demo_log
from logger_app.pages import trace_view
from logger_app.pages.view_utils import EXPANDED_CHARS, PREVIEW_CHARS
from tests.support.data import NOW, add_logs, make_log, public_id
from tests.support.pages import CLIENT_PASSWORD, client_user, eventually, login

XSS = "<script>alert('x')</script><img src=x onerror=alert(1)>"


def labels(user) -> list[str]:
    with user:
        return [e.text for e in user.find(kind=ui.label).elements]


async def test_demo_shaped_log_shows_the_whole_trace(user, db):
    rng = random.Random(3)
    log = demo_log(rng, "acme", NOW, 1)
    log["status"], log["payload"]["errors"] = "ERROR", [
        {"type": "ToolError", "message": "refund limit", "traceback": "Traceback (most recent call last):\n  boom"}]
    first, again = await add_logs(db, "acme", [log, {**log, "executed_at": None}])
    await login(user)
    await user.open(f"/logs/{first}")
    step = log["payload"]["react_iterations"][0]
    await user.should_see(log["ticket_id"])
    await user.should_see(step["thought"])
    await user.should_see(step["observation"])
    with user:
        titles = [e.text for e in user.find(marker="step-title").elements]
    # One waterfall row per step: each iteration's thought and its tool call.
    assert f"tool · {step['action']['tool']}" in titles
    assert sum(t.startswith("tool") for t in titles) == len(log["payload"]["react_iterations"])
    await user.should_see("ToolError")
    await user.should_see("refund limit")
    await user.should_see("Traceback (most recent call last):\n  boom")
    await user.should_see("Other runs of this ticket")
    with user:
        links = [e.props.get("href") for e in user.find(kind=ui.link).elements]
    assert f"/logs/{again}" in links


async def test_odd_payloads_render_as_text(user, db):
    odd = [
        make_log("NULL-PAYLOAD", payload=None),
        {**make_log("LIST-PAYLOAD"), "payload": [1, [2, [3, None]], {"a": XSS}], "metrics": ["not", "a", "dict"]},
        make_log("WEIRD", payload={
            "react_iterations": {"not": "a list"},
            "tool_calls": [None, "just text", {"tool": {"nested": [1, 2]}, "input": [[XSS]]}],
            "errors": "a string, not a list",
            "final_answer": {":innerHTML": XSS},
            ":alert(1)": XSS,
            "deep": [[[[[[[[{"x": [1, 2, {"y": None}]}]]]]]]]],
        }),
        make_log("STEPS", payload={"react_iterations": [None, 7, {"iteration": "x", "action": "a string action",
                                                                  "thought": XSS, ":onerror": "alert(1)"}]}),
    ]
    ids = await add_logs(db, "acme", odd, raw=True)
    await login(user)
    for log_id, ticket in zip(ids, ["NULL-PAYLOAD", "LIST-PAYLOAD", "WEIRD", "STEPS"]):
        await user.open(f"/logs/{log_id}")
        await user.should_see(ticket)
        await user.should_not_see(kind=ui.html)
        await user.should_not_see(kind=ui.markdown)
    await user.open(f"/logs/{ids[0]}")
    await user.should_see("This log has no payload.")
    await user.open(f"/logs/{ids[2]}")
    with user:  # read as a trace, so the generic tree is folded: open it
        expansion = user.find(kind=ui.expansion, content="Other payload fields").elements.pop()
        expansion.value = True
    await user.should_see(":alert(1)")  # an unknown key is a plain label
    assert any(XSS in text for text in labels(user))  # the script is shown as text
    await user.open(f"/logs/{ids[3]}")
    assert XSS in labels(user)
    await user.should_see("a string action")


async def test_long_texts_are_truncated_until_asked(user, db):
    huge = "x" * 300_000
    [log_id] = await add_logs(db, "acme", [make_log("LONG", payload={"final_answer": huge})])
    await login(user)
    await user.open(f"/logs/{log_id}")
    assert max(len(t) for t in labels(user)) == PREVIEW_CHARS
    user.find("show more (").click()
    await eventually(lambda: max(len(t) for t in labels(user)) > PREVIEW_CHARS)
    assert max(len(t) for t in labels(user)) < EXPANDED_CHARS + 200


async def test_raw_json_viewer_is_capped(user, db):
    payload = {"big": "y" * 100_000, "many": list(range(1000)), ":key": "v"}
    [log_id] = await add_logs(db, "acme", [make_log("RAW", payload=payload)])
    await login(user)
    await user.open(f"/logs/{log_id}")
    await user.should_not_see(kind=ui.json_editor)  # built only when opened
    with user:
        user.find(kind=ui.expansion, content="Raw JSON").elements.pop().value = True
    await eventually(lambda: user._gather_elements(kind=ui.json_editor))
    with user:
        editor = user.find(kind=ui.json_editor).elements.pop()
    shipped = json.dumps(editor.properties)
    assert len(shipped) < 20_000
    assert editor.properties["readOnly"] is True


def test_capped_bounds_any_shape():
    deep: list = []
    node = deep
    for _ in range(500):
        node.append([])
        node = node[0]
    value = {"s": "z" * 10_000, "l": list(range(10_000)), "d": {str(i): i for i in range(1000)}, "deep": deep}
    out = trace_view.capped(value)
    assert len(json.dumps(out)) < 30_000
    assert trace_view.capped(None) is None and trace_view.capped([1, "a"]) == [1, "a"]


async def test_other_clients_log_and_missing_ids_are_not_found(user, db):
    [acme_id] = await add_logs(db, "acme", [make_log("ACME-SECRET")])
    [globex_id] = await add_logs(db, "globex", [make_log("GLOBEX-SECRET")])
    await client_user(db, "acme-user", "acme")
    await login(user, "acme-user", CLIENT_PASSWORD)
    await user.open(f"/logs/{acme_id}")
    await user.should_see("ACME-SECRET")
    for path in (f"/logs/{globex_id}", f"/logs/{public_id(10**12)}", "/logs/999999", "/logs/abc",
                 "/logs/99999999999999999999999", "/logs/log_0123456789ABCDEF"):
        await user.open(path)
        await user.should_see("Ticket not found")
        await user.should_not_see("GLOBEX-SECRET")
    assert (await user.http_client.get(f"/export/log/{globex_id}.json")).status_code == 404
    own = await user.http_client.get(f"/export/log/{acme_id}.json")
    assert own.status_code == 200 and own.json()["ticket_id"] == "ACME-SECRET"
    assert "attachment" in own.headers["content-disposition"]


async def test_raw_download_needs_a_session(user, db):
    [log_id] = await add_logs(db, "acme", [make_log("NO-SESSION")])
    assert (await user.http_client.get(f"/export/log/{log_id}.json")).status_code == 401
    await user.open(f"/logs/{log_id}")  # the page itself redirects to the login page
    await user.should_see(marker="login")


async def test_storage_outage_shows_banner(user, db, monkeypatch):
    [log_id] = await add_logs(db, "acme", [make_log("ANY")])
    await login(user)
    from logger_app.services.read import queries

    async def down(*args, **kwargs):
        raise ConnectionRefusedError("database is down")

    monkeypatch.setattr(queries, "get_log", down)
    await user.open(f"/logs/{log_id}")
    await user.should_see(marker="storage-banner")
    await user.should_not_see("Ticket not found")
    assert (await user.http_client.get(f"/export/log/{log_id}.json")).status_code == 503


async def test_detail_handlers_do_nothing_once_the_session_has_ended(user, db):
    """A detail page left open after logout: show more, copy and raw JSON reveal nothing more."""
    from sqlalchemy import update

    from logger_app.db.models import UserSession
    from logger_app.db.types import utcnow

    huge = "z" * 300_000
    [log_id] = await add_logs(db, "acme", [make_log("ENDED", payload={"final_answer": huge})])
    await login(user)
    await user.open(f"/logs/{log_id}")
    async with db.write() as s:
        await s.execute(update(UserSession).values(ended_at=utcnow()))
        await s.commit()
    user.find("show more (").click()
    user.find("Copy raw log").click()
    with user:
        user.find(kind=ui.expansion, content="Raw JSON").elements.pop().value = True
    await eventually(lambda: user.back_history[-1].startswith("/login"))
    assert max(len(t) for t in labels(user)) <= PREVIEW_CHARS
    await user.should_not_see("Raw log copied")
    await user.should_not_see(kind=ui.json_editor)


async def test_times_follow_the_users_time_zone_preference(user, db):
    from logger_app.services.access import preferences
    from logger_app.services.access import users as user_svc
    from tests.support.data import add_logs, make_log
    from tests.support.pages import login

    [log_id] = await add_logs(db, "acme", [{**make_log("TZ-1"), "executed_at": "2026-06-01T12:00:00+00:00"}])
    await login(user, next_page="/")
    await user.open(f"/logs/{log_id}")
    await user.should_see("2026-06-01 12:00:00 UTC")
    admin = next(u for u in await user_svc.list_users(db) if u.username == "admin")
    await preferences.set_preference(db, admin.id, "time_zone", "Asia/Tokyo")
    await user.open(f"/logs/{log_id}")
    await user.should_see("2026-06-01 21:00:00 JST")
    await user.should_see("Asia/Tokyo")  # the header's toggle names the zone shown
    import pytest

    from logger_app.services.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        await preferences.set_preference(db, admin.id, "time_zone", "Mars/Olympus_Mons")
