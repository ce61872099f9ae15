"""/logs: the search box, the match shown in the list, the triage filters in the URL."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

from nicegui import ui

from tests.support.data import add_logs, make_log
from tests.support.pages import CLIENT_PASSWORD, client_user, eventually, login, table_rows

FIXTURES = Path(__file__).parent.parent / "fixtures" / "traces"


def fixture(name: str) -> dict:
    payload = json.loads((FIXTURES / f"{name}.json").read_text())
    payload.pop("_source", None)
    return payload


async def seed(db, client_id: str = "acme") -> list[str]:
    japanese = fixture("anthropic_tool_error")
    japanese["messages"][0]["content"] = "注文番号 ORD-7731 の返金はいつですか？"
    return await add_logs(db, client_id, [
        make_log("SUP-1", payload=fixture("typed_steps_nested"), minutes_ago=4, status="ERROR", confidence=0.2, seconds=12.5),
        make_log("SUP-2", payload=fixture("openai_chat_tool_calls"), minutes_ago=3, confidence=0.95, seconds=0.4),
        make_log("SUP-3", payload=japanese, minutes_ago=2, category="refunds", confidence=0.5),
        make_log("SUP-4", payload={"final_answer": "see <img src=x onerror=alert(1)> about the refund"}, minutes_ago=1, confidence=0.5),
    ])


async def test_search_from_the_url_shows_the_match_as_text(user, db):
    await seed(db)
    await login(user)
    await user.open("/logs?q=refund")
    rows = table_rows(user)
    assert [r["ticket_id"] for r in rows] == ["SUP-4", "SUP-3"]  # the text, and the category "refunds"
    assert rows[0]["match_text"] == "refund"
    assert rows[0]["match_before"].endswith("<img src=x onerror=alert(1)> about the ")
    assert "match" in {c["name"] for c in user.find(kind=ui.table).elements.pop().columns}
    await user.should_not_see(kind=ui.html)  # highlighted by a slot's text interpolation, never as HTML
    await user.open("/logs?q=返金")
    assert [r["ticket_id"] for r in table_rows(user)] == ["SUP-3"]
    await user.open("/logs?q=SUP-")  # a ticket-id prefix
    assert [r["ticket_id"] for r in table_rows(user)] == ["SUP-4", "SUP-3", "SUP-2", "SUP-1"]


async def test_search_box_filters_and_the_url_follows(user, db, monkeypatch):
    await seed(db)
    await login(user)
    urls: list[str] = []
    pattern = re.compile(r"history\.replaceState\(null, '', (.*)\)")
    monkeypatch.setattr(ui, "run_javascript", lambda code, **kw: urls.append(json.loads(pattern.match(code)[1])))
    await user.open("/logs")
    assert len(table_rows(user)) == 4
    user.find(marker="filter-q").type("Greatest Hits").trigger("keydown.enter")
    rows = await eventually(lambda: (r := table_rows(user)) and len(r) == 1 and r)
    assert rows[0]["ticket_id"] == "SUP-2" and rows[0]["match_text"] == "Greatest Hits"
    assert urls[-1] == "/logs?q=Greatest+Hits"
    user.find(marker="filter-tool").type("nonexistent_tool").trigger("keydown.enter")
    await eventually(lambda: table_rows(user) == [])
    await user.should_see("No tickets match these filters")


async def test_triage_filters_in_the_url(user, db):
    await seed(db)
    await login(user)
    for query, expected in (("tool=track_parcel", ["SUP-1"]), ("error_type=TimeoutError", ["SUP-1"]),
                            ("model=gpt-4o", ["SUP-2"]), ("confidence_min=0.9", ["SUP-2"]),
                            ("execution_time_min=10&status=error", ["SUP-1"]),
                            ("execution_time_max=1&confidence_max=0.99", ["SUP-2"]),
                            ("q=weather&model=claude-opus-4-7", ["SUP-3"])):
        await user.open(f"/logs?{query}")
        assert [r["ticket_id"] for r in table_rows(user)] == expected, query
    # Refused visibly (the API's rule, search.parse_triage), the other filters still applied.
    await user.open("/logs?confidence_min=lots&status=error")
    await user.should_see("confidence_min (confidence_min): must be a number")
    assert all(r["status"] == "ERROR" for r in table_rows(user))


async def test_client_users_search_only_their_own_logs(user, db):
    await seed(db, "acme")
    await add_logs(db, "globex", [make_log("G-1", payload={"final_answer": "refund for globex"})])
    await client_user(db, "globex-user", "globex")
    await login(user, "globex-user", CLIENT_PASSWORD)
    await user.open("/logs?q=refund")
    assert [r["ticket_id"] for r in table_rows(user)] == ["G-1"]
    await user.open("/logs?q=Greatest")
    assert table_rows(user) == []
    rows = list(csv.DictReader(io.StringIO((await user.http_client.get("/export/logs.csv?q=refund")).text)))
    assert [r["ticket_id"] for r in rows] == ["G-1"]  # exports follow the search too
