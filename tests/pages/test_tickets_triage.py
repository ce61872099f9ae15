"""The ticket list's triage features as a user meets them: the triage columns, refused URL
parameters, the total, page size and the cursor in the URL, sorting, the column picker remembered
in the database, and previous/next on the detail page within the list's filters."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qs, quote, urlparse

from nicegui import ui

from tests.support.data import add_logs, make_log
from tests.support.pages import eventually, login, table_rows

TRACE = Path(__file__).parents[1] / "fixtures" / "traces" / "typed_steps_nested.json"


def traced(ticket: str, **kw) -> dict:
    payload = json.loads(TRACE.read_text())
    payload.pop("_source", None)
    return make_log(ticket, status="ERROR", payload=payload, **kw)


def capture_urls(monkeypatch) -> list[str]:
    urls: list[str] = []
    pattern = re.compile(r"history\.replaceState\(null, '', (.*)\)")

    def run(code, **kw):
        if (m := pattern.match(code)) is not None:
            urls.append(json.loads(m[1]))

    monkeypatch.setattr(ui, "run_javascript", run)
    return urls


async def test_triage_columns_show_error_model_tools_tokens(user, db):
    await add_logs(db, "acme", [traced("TR-1"), make_log("OK-1", minutes_ago=1)])
    await login(user)
    await user.open("/logs")
    rows = {r["ticket_id"]: r for r in table_rows(user)}
    assert rows["TR-1"]["error"] == "TimeoutError: tracking API timed out after 10s"
    assert rows["TR-1"]["model"] == "gpt-4o-mini"
    assert rows["TR-1"]["tools"] == "get_order, track_parcel"
    assert rows["TR-1"]["tokens"] == "1,166"
    assert rows["OK-1"]["error"] == "" and rows["OK-1"]["tokens"] == "—"
    await user.should_see("1–2 of 2")


async def test_unknown_and_invalid_url_parameters_are_named_and_not_applied(user, db):
    await add_logs(db, "acme", [make_log("E-1", status="ERROR"), make_log("S-1", minutes_ago=1)])
    await login(user)
    for query, named in (("stauts=ERROR", "stauts (stauts): unknown parameter"),
                         ("status=EROR", "status (Status): must be one of SUCCESS, ERROR"),
                         ("sort=tokens", "sort (Sort): must be one of"),
                         ("size=7", "size (Page size): must be one of 25, 50, 100, 200"),
                         ("cursor=junk", "cursor (Page): not a cursor this server issued")):
        await user.open(f"/logs?{query}")
        await user.should_see(marker="refused-banner")
        await user.should_see(named)
        assert len(table_rows(user)) == 2, query  # refused, the rest as it was: every ticket, with the banner saying why
    await user.open("/logs?status=error&stauts=x")
    await user.should_see("stauts (stauts): unknown parameter")
    assert [r["ticket_id"] for r in table_rows(user)] == ["E-1"]  # the valid filter still applies
    await user.open("/logs?status=error")
    await user.should_not_see(marker="refused-banner")


async def test_total_page_size_and_cursor_in_the_url(user, db, monkeypatch):
    await add_logs(db, "acme", [make_log(f"P-{i:03d}", minutes_ago=i) for i in range(60)])
    urls = capture_urls(monkeypatch)
    await login(user)
    await user.open("/logs?size=25")
    assert len(table_rows(user)) == 25
    await user.should_see("1–25 of 60")
    user.find(marker="page-older").click()
    await eventually(lambda: table_rows(user)[0]["ticket_id"] == "P-025")
    await user.should_see("26–50 of 60")
    query = parse_qs(urlparse(urls[-1]).query)
    assert query["size"] == ["25"] and query["page"] == ["2"] and query["cursor"]
    await user.open(urls[-1])  # a reload or a shared link: the same page
    assert table_rows(user)[0]["ticket_id"] == "P-025"
    await user.should_see("26–50 of 60")


async def test_sorting_from_the_url_and_the_control(user, db, monkeypatch):
    await add_logs(db, "acme", [make_log("FAST", seconds=0.1), make_log("SLOW", seconds=30, minutes_ago=1),
                                make_log("MID", seconds=3, minutes_ago=2, confidence=0.2)])
    urls = capture_urls(monkeypatch)
    await login(user)
    await user.open("/logs?sort=-execution_time")
    assert [r["ticket_id"] for r in table_rows(user)] == ["SLOW", "MID", "FAST"]
    with user:
        user.find(marker="sort").elements.pop().value = "confidence"
    await eventually(lambda: table_rows(user)[0]["ticket_id"] == "MID")
    assert urls[-1] == "/logs?sort=confidence"


async def test_column_picker_is_remembered_per_user(user, db):
    from sqlalchemy import select

    from logger_app.db.models import User

    await add_logs(db, "acme", [make_log("C-1")])
    await login(user)
    await user.open("/logs")
    names = lambda: [c["name"] for c in user.find(kind=ui.table, marker="logs-table").elements.pop().columns]  # noqa: E731
    assert "tokens" in names()
    with user:
        user.find(marker="column-tokens").elements.pop().value = False
    await eventually(lambda: "tokens" not in names())
    async with db.read() as session:
        stored = (await session.execute(select(User.preferences).where(User.username == "admin"))).scalar_one()
    assert "tokens" not in stored["ticket_columns"] and "error" in stored["ticket_columns"]
    await user.open("/logs")  # another visit (another browser would read the same row)
    assert "tokens" not in names() and "error" in names()


async def test_detail_page_previous_and_next_within_the_filtered_list(user, db):
    ids = await add_logs(db, "acme", [make_log("E-0", status="ERROR"), make_log("S-1", minutes_ago=1),
                                      make_log("E-2", status="ERROR", minutes_ago=2), make_log("E-3", status="ERROR", minutes_ago=3)])
    await login(user)
    await user.open("/logs?status=error")
    rows = table_rows(user)
    assert [r["ticket_id"] for r in rows] == ["E-0", "E-2", "E-3"]
    assert rows[1]["href"] == f"/logs/{ids[2]}?from={quote('status=ERROR')}"
    await user.open(rows[1]["href"])
    await user.should_see("Ticket E-2")
    buttons = {m: user.find(marker=m).elements.pop() for m in ("previous-ticket", "next-ticket")}
    assert buttons["previous-ticket"].enabled and buttons["next-ticket"].enabled
    user.find(marker="next-ticket").click()
    await user.should_see("Ticket E-3")  # S-1 is not in the filtered list
    assert not user.find(marker="next-ticket").elements.pop().enabled  # the last one
    user.find(marker="previous-ticket").click()
    await user.should_see("Ticket E-2")
    await user.open(f"/logs/{ids[0]}")  # opened without a list: no neighbours, the way back to all tickets
    assert not user.find(marker="previous-ticket").elements.pop().enabled
    assert not user.find(marker="next-ticket").elements.pop().enabled


async def test_overview_drill_down_links_show_their_bounds_and_presets_apply(user, db):
    from datetime import datetime, timedelta, timezone

    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    await add_logs(db, "acme", [make_log("NEW", status="ERROR", minutes_ago=10), make_log("OLD", status="ERROR", minutes_ago=600),
                                make_log("OK", minutes_ago=5)])
    await login(user)
    since, until = now - timedelta(hours=2), now + timedelta(hours=1)
    z = lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731 - as pages/overview.py iso_z writes them
    await user.open(f"/logs?since={z(since)}&until={z(until)}&status=ERROR&category=billing")
    await user.should_not_see(marker="refused-banner")
    assert [r["ticket_id"] for r in table_rows(user)] == ["NEW"]
    with user:
        assert user.find(marker="filter-since").elements.pop().value == since.strftime("%Y-%m-%dT%H:%M")
        assert user.find(marker="filter-until").elements.pop().value == until.strftime("%Y-%m-%dT%H:%M")
    await user.open("/logs?status=ERROR")
    assert {r["ticket_id"] for r in table_rows(user)} == {"NEW", "OLD"}
    with user:
        user.find(marker="preset").elements.pop().value = "1h"
    await eventually(lambda: [r["ticket_id"] for r in table_rows(user)] == ["NEW"])
    await user.open("/logs?page=3")  # a page number without its cursor is the first page
    await user.should_see("1–3 of 3")
