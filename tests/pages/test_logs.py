"""/logs: filters, keyset paging, live mode, scoping and streamed exports."""

from __future__ import annotations

import csv
import io
import json
import re

from nicegui import ui

from tests.support.data import add_logs, make_log
from tests.support.pages import CLIENT_PASSWORD, client_user, eventually, login, table_rows


async def seed_many(db, client_id: str = "acme", n: int = 120, prefix: str = "T") -> list[int]:
    logs = [make_log(f"{prefix}-{i:04d}", status="ERROR" if i % 4 == 0 else "SUCCESS",
                     category=["billing", "refund", "login"][i % 3], minutes_ago=i,
                     environment="staging" if i % 10 == 0 else "production") for i in range(n)]
    return await add_logs(db, client_id, logs)


async def test_pagination_walks_every_page_newest_first(user, db):
    await seed_many(db)
    await login(user)
    await user.open("/logs")
    seen = []
    first = table_rows(user)
    assert len(first) == 50
    assert first[0]["ticket_id"] == "T-0000"  # newest first
    assert "client_id" in first[0]  # admins get the Client column
    seen += [r["ticket_id"] for r in first]
    for expected in (50, 20):
        user.find(marker="page-older").click()
        rows = await eventually(lambda: (r := table_rows(user)) and r[0]["ticket_id"] not in seen and r)
        assert len(rows) == expected
        seen += [r["ticket_id"] for r in rows]
    assert seen == [f"T-{i:04d}" for i in range(120)]
    await user.should_see("101–120 of 120")
    user.find(marker="page-newer").click()
    await eventually(lambda: table_rows(user)[0]["ticket_id"] == "T-0050")


async def test_filters_from_url_and_from_controls(user, db, monkeypatch):
    await seed_many(db)
    await login(user)
    await user.open("/logs?status=error&category=refund")
    rows = table_rows(user)
    assert rows and all(r["status"] == "ERROR" and r["category"] == "refund" for r in rows)
    assert len(rows) == len([i for i in range(120) if i % 4 == 0 and i % 3 == 1])

    urls: list[str] = []
    pattern = re.compile(r"history\.replaceState\(null, '', (.*)\)")
    monkeypatch.setattr(ui, "run_javascript", lambda code, **kw: urls.append(json.loads(pattern.match(code)[1])))
    await user.open("/logs")
    with user:
        user.find(marker="filter-environment").elements.pop().value = "staging"
    rows = await eventually(lambda: (r := table_rows(user)) and len(r) == 12 and r)
    assert urls[-1] == "/logs?environment=staging"  # bookmarkable: the URL follows the filters
    assert all(r["ticket_id"].endswith("0") for r in rows)
    user.find(marker="filter-ticket").type("T-0030").trigger("keydown.enter")
    rows = await eventually(lambda: (r := table_rows(user)) and len(r) == 1 and r)
    assert rows[0]["ticket_id"] == "T-0030"

    await user.open("/logs?since=2000-01-01&until=2000-01-02")
    assert table_rows(user) == []
    await user.should_see("No tickets match these filters")
    await user.should_see(marker="clear-filters")
    await user.open("/logs?category=never-seen&environment=nowhere&status=bogus")
    assert table_rows(user) == []
    await user.should_see("status (Status): must be one of SUCCESS, ERROR")


async def test_row_click_opens_detail(user, db):
    ids = await add_logs(db, "acme", [make_log("CLICK-1")])
    await login(user)
    await user.open("/logs")
    row = table_rows(user)[0]
    user.find(marker="logs-table").trigger("rowClick", [{}, row, 0])
    await eventually(lambda: user.back_history[-1] == f"/logs/{ids[0]}")
    await user.should_see("CLICK-1")


async def test_client_user_sees_only_own_client(user, db):
    await seed_many(db, "acme", 10, "A")
    await seed_many(db, "globex", 10, "G")
    await client_user(db, "acme-user", "acme")
    await login(user, "acme-user", CLIENT_PASSWORD)
    for path in ("/logs", "/logs?client_id=globex"):
        await user.open(path)
        rows = table_rows(user)
        assert len(rows) == 10 and all(r["ticket_id"].startswith("A-") for r in rows)
        assert {c["name"] for c in user.find(kind=ui.table).elements.pop().columns}.isdisjoint({"client_id"})


async def test_admin_client_filter(user, db):
    await seed_many(db, "acme", 5, "A")
    await seed_many(db, "globex", 7, "G")
    await login(user)
    await user.open("/logs?client_id=globex")
    rows = table_rows(user)
    assert len(rows) == 7 and {r["client_id"] for r in rows} == {"globex"}


async def test_live_mode_shows_new_logs_on_top(user, db):
    await add_logs(db, "acme", [make_log("OLD-1", minutes_ago=5)])
    await login(user)
    await user.open("/logs")
    assert [r["ticket_id"] for r in table_rows(user)] == ["OLD-1"]
    user.find(marker="live-toggle").click()
    await add_logs(db, "acme", [make_log("NEW-1", minutes_ago=0)])
    rows = await eventually(lambda: (r := table_rows(user)) and len(r) == 2 and r, timeout=2.5)
    assert rows[0]["ticket_id"] == "NEW-1"


async def test_export_streams_every_matching_row_of_own_client_only(user, db):
    await seed_many(db, "acme", 1203, "A")  # more than one 500-row keyset page
    await seed_many(db, "globex", 30, "G")
    await client_user(db, "acme-user", "acme")

    assert (await user.http_client.get("/export/logs.csv")).status_code == 401

    await login(user, "acme-user", CLIENT_PASSWORD)
    response = await user.http_client.get("/export/logs.csv?client_id=globex")
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 1203 and {r["client_id"] for r in rows} == {"acme"}
    assert len({r["id"] for r in rows}) == 1203

    response = await user.http_client.get("/export/logs.jsonl?status=ERROR")
    items = [json.loads(line) for line in response.text.splitlines()]
    assert len(items) == len([i for i in range(1203) if i % 4 == 0])
    assert all(i["client_id"] == "acme" and i["status"] == "ERROR" and "payload" in i for i in items)


async def test_export_button_uses_current_filters(user, db):
    await seed_many(db, "acme", 20, "A")
    await login(user)
    await user.open("/logs?status=ERROR")
    user.find(marker="export-csv").click()
    await eventually(lambda: user.download.http_responses)
    response = user.download.http_responses[-1]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 5 and {r["status"] for r in rows} == {"ERROR"}


async def test_csv_cells_cannot_become_formulas(user, db):
    await add_logs(db, "acme", [make_log("=HYPERLINK(\"http://evil\")", category="@SUM(A1)")])
    await login(user)
    rows = list(csv.DictReader(io.StringIO((await user.http_client.get("/export/logs.csv")).text)))
    assert rows[0]["ticket_id"].startswith("'=") and rows[0]["category"].startswith("'@")


async def test_xss_strings_are_plain_table_text(user, db):
    await add_logs(db, "acme", [make_log("<script>alert(1)</script>", category=":alert(1)")])
    await login(user)
    await user.open("/logs")
    row = table_rows(user)[0]
    assert row["ticket_id"] == "<script>alert(1)</script>"
    await user.should_not_see(kind=ui.html)
    await user.should_not_see(kind=ui.markdown)


async def test_storage_outage_shows_banner(user, db, monkeypatch):
    await add_logs(db, "acme", [make_log("ANY")])
    await login(user)
    from logger_app.services.read import queries

    async def down(*args, **kwargs):
        raise ConnectionRefusedError("database is down")

    monkeypatch.setattr(queries, "list_logs", down)
    await user.open("/logs")
    await user.should_see(marker="storage-banner")
    assert table_rows(user) == []


    async def rows_down(*args, **kwargs):
        raise ConnectionRefusedError("database is down")
        yield  # an async generator, like the real iter_logs

    monkeypatch.setattr(queries, "iter_logs", rows_down)
    assert (await user.http_client.get("/export/logs.csv")).status_code == 503
