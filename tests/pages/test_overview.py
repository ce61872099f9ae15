"""/: KPI cards, charts built only from safe data, scope, recent errors and ingest health."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from nicegui import ui

from logger_app.pages import charts
from logger_app.pages.overview import OverviewState, change
from logger_app.services.ingest.counters import IngestCounter
from tests.support.data import add_logs, make_log
from tests.support.pages import CLIENT_PASSWORD, client_user, eventually, login, table_rows


def card(user, key: str) -> str:
    with user:
        box = user.find(marker=f"card-{key}").elements.pop()
        return box.default_slot.children[1].text


def chart(user, key: str) -> dict:
    with user:
        return user.find(marker=f"chart-{key}").elements.pop().options


async def loaded(user) -> None:
    await eventually(lambda: card(user, "total") != "…", timeout=5)


async def test_cards_and_charts(user, db):
    now_logs = [make_log(f"N-{i}", status="ERROR" if i < 2 else "SUCCESS", minutes_ago=10 + i, seconds=1.0 + i,
                         category=":alert(1)" if i == 0 else "<b>billing</b>", confidence=0.95, iterations=3)
                for i in range(8)]
    old_logs = [make_log(f"O-{i}", minutes_ago=24 * 60 + 30 + i) for i in range(4)]  # previous 24 h
    await add_logs(db, "acme", now_logs + old_logs)
    await login(user, next_page="/")
    await user.open("/")
    await loaded(user)
    assert card(user, "total") == "8"
    assert card(user, "errors") == "2"
    assert card(user, "success_rate") == "75.0 %"
    with user:
        changes = [e.text for e in user.find(kind=ui.label).elements if "vs previous period" in e.text]
    assert "+100 % vs previous period" in changes  # 8 tickets vs 4
    volume = chart(user, "volume")
    assert sum(volume["series"][0]["data"]) == 8 and sum(volume["series"][1]["data"]) == 2
    category = chart(user, "category")
    labels = category["xAxis"]["data"]
    assert "alert(1)" in labels and len(labels) == 2
    assert all(not label.startswith(":") and "<" not in label for label in labels)
    for key in ("volume", "latency", "category", "confidence", "iterations"):
        assert charts.dynamic_keys(chart(user, key)) == []
    assert sum(chart(user, "iterations")["series"][0]["data"]) == 6
    assert sum(chart(user, "confidence")["series"][1]["data"]) == 2
    with user.scope(marker="recent-errors"):
        await user.should_see("N-0")
        await user.should_see("N-1")
        await user.should_not_see("N-2")
    await user.should_not_see(kind=ui.html)


async def test_range_and_environment_filters(user, db):
    await add_logs(db, "acme", [make_log("RECENT", minutes_ago=5, environment="staging"),
                                make_log("DAYS-AGO", minutes_ago=3 * 24 * 60)])
    await login(user, next_page="/")
    await user.open("/?range=1h")
    await loaded(user)
    assert card(user, "total") == "1"
    await user.open("/?range=7d")
    await loaded(user)
    assert card(user, "total") == "2"
    await user.open("/?range=7d&environment=production")
    await loaded(user)
    assert card(user, "total") == "1"
    with user:
        user.find(marker="range").elements.pop().value = "1h"
    await eventually(lambda: card(user, "total") == "0")
    day = (datetime.now(timezone.utc) - timedelta(days=3)).date().isoformat()
    await user.open(f"/?range=custom&since={day}&until={day}")
    await loaded(user)
    assert card(user, "total") == "1"


async def test_client_user_sees_only_own_numbers_and_ingest(user, db):
    await add_logs(db, "acme", [make_log(f"A-{i}", status="ERROR") for i in range(3)])
    await add_logs(db, "globex", [make_log(f"G-{i}", status="ERROR") for i in range(5)])
    counter = IngestCounter(db)
    counter.count("acme", "accepted", 3)
    counter.reject("acme", "validation")
    counter.count("globex", "accepted", 5)
    counter.reject("globex", "auth")
    await counter.flush()
    await client_user(db, "acme-user", "acme")
    await login(user, "acme-user", CLIENT_PASSWORD, next_page="/")
    await user.open("/?client_id=globex")
    await loaded(user)
    assert card(user, "total") == "3"
    with user.scope(marker="recent-errors"):
        await user.should_see("A-0")
        await user.should_not_see("G-0")
    await user.should_see(marker="ingest-acme")
    await user.should_not_see(marker="ingest-globex")
    await user.should_see("validation 1")


async def test_admin_sees_every_client_and_can_narrow(user, db):
    await add_logs(db, "acme", [make_log(f"A-{i}") for i in range(3)])
    await add_logs(db, "globex", [make_log(f"G-{i}") for i in range(5)])
    await login(user, next_page="/")
    await user.open("/")
    await loaded(user)
    assert card(user, "total") == "8"
    await user.open("/?client_id=globex")
    await loaded(user)
    assert card(user, "total") == "5"


def test_change_and_labels():
    assert change(10, 5, "count", -1) == ("+100 % vs previous period", "text-negative")
    assert change(0.9, 0.8, "rate", 1)[0] == "+10.0 pp vs previous period"
    assert change(3, None, "count", 0)[0] == "no previous data"
    assert charts.safe_label(":alert(1)") == "alert(1)"
    assert charts.safe_label("::<img src=x onerror=alert(1)>") == "img src=x onerror=alert(1)"
    assert charts.safe_label(None) == "(none)" and len(charts.safe_label("x" * 500)) == 40
    state = OverviewState.from_query({"range": "bogus", "client_id": "globex"}, is_admin=False)
    assert state.range == "24h" and state.client_id is None


async def test_storage_outage_shows_banner(user, db, monkeypatch):
    await login(user, next_page="/logs")
    from logger_app.services.read import metrics

    async def down(*args, **kwargs):
        raise ConnectionRefusedError("database is down")

    monkeypatch.setattr(metrics, "overview_page", down)  # what the cards are read from
    await user.open("/")
    await user.should_see(marker="storage-banner", retries=30)
    assert card(user, "total") == "…"


def _click(user, key: str, series: str, index: int, name: str = "") -> None:
    with user:
        user.find(marker=f"chart-{key}").trigger("componentClick", {
            "componentType": "series", "seriesType": "bar", "seriesIndex": 0, "seriesName": series, "name": name,
            "dataIndex": index, "data": 1, "value": 1})


async def test_charts_drill_down_to_the_filtered_ticket_list(user, db):
    from urllib.parse import parse_qs, urlparse

    from tests.support.pages import wait_for_navigation

    await add_logs(db, "acme", [make_log("FAIL-NOW", status="ERROR", minutes_ago=20, category="refunds"),
                                make_log("OK-NOW", minutes_ago=25, category="refunds"),
                                make_log("FAIL-EARLIER", status="ERROR", minutes_ago=5 * 60, category="billing")])
    await login(user, next_page="/")
    await user.open("/?range=24h")
    await loaded(user)
    volume = chart(user, "volume")
    errors = volume["series"][1]["data"]
    last = max(i for i, n in enumerate(errors) if n)  # the bucket holding FAIL-NOW
    _click(user, "volume", "Errors", last)
    await wait_for_navigation(user, "/logs?")
    query = parse_qs(urlparse(user.back_history[-1]).query)
    assert query["status"] == ["ERROR"] and set(query) == {"since", "until", "status"}
    since, until = (datetime.fromisoformat(query[k][0].replace("Z", "+00:00")) for k in ("since", "until"))
    assert until - since <= timedelta(hours=1)
    rows = await eventually(lambda: table_rows(user) or None)
    assert [r["ticket_id"] for r in rows] == ["FAIL-NOW"]

    await user.open("/?range=24h")
    await loaded(user)
    names = chart(user, "category")["xAxis"]["data"]
    _click(user, "category", "Tickets", names.index("refunds"), "refunds")
    await wait_for_navigation(user, "/logs?")
    assert parse_qs(urlparse(user.back_history[-1]).query)["category"] == ["refunds"]
    rows = await eventually(lambda: table_rows(user) or None)
    assert sorted(r["ticket_id"] for r in rows) == ["FAIL-NOW", "OK-NOW"]


async def test_times_of_day_and_a_six_hour_preset(user, db):
    await add_logs(db, "acme", [make_log("T-2H", minutes_ago=120), make_log("T-7H", minutes_ago=7 * 60)])
    await login(user, next_page="/")
    await user.open("/?range=6h")
    await loaded(user)
    assert card(user, "total") == "1"
    start = (datetime.now(timezone.utc) - timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M")
    end = (datetime.now(timezone.utc) - timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M")
    await user.open(f"/?range=custom&since={start}&until={end}")
    await loaded(user)
    assert card(user, "total") == "1"  # only T-7H, by time of day
    with user:
        assert user.find(marker="since").elements.pop().value == start
    assert charts.bucket_for(datetime(2026, 1, 1), datetime(2026, 1, 8)) == "day"  # a week: 7 bars, not 168


async def test_dragging_a_span_on_a_time_chart_zooms_the_page_to_it(user, db):
    await add_logs(db, "acme", [make_log("IN-SPAN", minutes_ago=3 * 60 + 10), make_log("LATER", minutes_ago=10)])
    await login(user, next_page="/")
    await user.open("/?range=24h")
    await loaded(user)
    assert card(user, "total") == "2"
    labels = chart(user, "volume")["xAxis"]["data"]
    first = len(labels) - 5  # four hours back: the bucket of IN-SPAN, up to two hours back
    with user:
        user.find(marker="chart-volume").trigger("chart:datazoom", {"type": "datazoom", "batch": [
            {"startValue": first, "endValue": len(labels) - 3}]})
    await eventually(lambda: card(user, "total") == "1", timeout=5)
    with user:
        assert user.find(marker="range").elements.pop().value == "custom"


def _react(tool: str, error: str | None = None) -> dict:
    step = {"thought": "Look it up.", "action": tool, "action_input": {"id": 7}, "observation": "ok"}
    if error:
        step = {**step, "observation": None, "error": {"type": error, "message": f"{tool} failed"}}
    return {"iterations": [step], "final_answer": "done"}


async def test_what_is_failing_and_error_rate_by_client(user, db):
    await add_logs(db, "acme", [make_log(f"A-{i}", status="ERROR", minutes_ago=10 + i, payload=_react("refund_api", "TimeoutError"))
                                for i in range(3)] +
                   [make_log("A-OK", minutes_ago=5, payload=_react("refund_api"))] +
                   [make_log("A-OLD", status="ERROR", minutes_ago=24 * 60 + 60, payload=_react("refund_api", "TimeoutError"))])
    await add_logs(db, "globex", [make_log("G-1", status="ERROR", minutes_ago=30, payload=_react("crm_lookup", "KeyError")),
                                  make_log("G-2", minutes_ago=31, payload=_react("crm_lookup"))])
    await login(user, next_page="/")
    await user.open("/?range=24h")
    await loaded(user)
    with user.scope(marker="failing-error-types"):
        await user.should_see("TimeoutError", retries=50)
        await user.should_see("KeyError")
        await user.should_see("+200 %")  # 3 timeouts now, 1 the day before
    with user:
        links = {e.text: e.props["href"] for e in user.find(marker="failing-error-type").elements}
        tools = {e.text: e.props["href"] for e in user.find(marker="failing-tool").elements}
    assert "error_type=TimeoutError" in links["TimeoutError"] and "status=ERROR" in links["TimeoutError"]
    assert "tool=refund_api" in tools["refund_api"]
    with user.scope(marker="failing-tools"):
        await user.should_see("75 % of 4")  # refund_api: 3 of its 4 runs failed
    with user.scope(marker="error-rate-by-client"):
        await user.should_see("75.0 %")  # acme: 3 of its 4 runs in the range
        await user.should_see("50.0 %")  # globex: 1 of 2
    await user.open(links["TimeoutError"])
    rows = await eventually(lambda: table_rows(user) or None)
    assert sorted(r["ticket_id"] for r in rows) == ["A-0", "A-1", "A-2"]


async def test_a_client_user_sees_its_own_failures_and_no_per_client_table(user, db):
    await add_logs(db, "acme", [make_log("A-1", status="ERROR", minutes_ago=10, payload=_react("refund_api", "TimeoutError"))])
    await add_logs(db, "globex", [make_log("G-1", status="ERROR", minutes_ago=10, payload=_react("crm_lookup", "KeyError"))])
    await client_user(db, "carol", "acme")
    await login(user, "carol", CLIENT_PASSWORD, next_page="/")
    await user.open("/")
    await loaded(user)
    with user.scope(marker="what-is-failing"):
        await user.should_see("TimeoutError", retries=50)
        await user.should_not_see("KeyError")
        await user.should_not_see("crm_lookup")
    await user.should_not_see("Error rate by client")


async def test_most_recent_errors_say_what_failed(user, db):
    await add_logs(db, "acme", [make_log("WHAT-1", status="ERROR", minutes_ago=5, payload=_react("refund_api", "TimeoutError"))])
    await login(user, next_page="/")
    await user.open("/")
    await loaded(user)
    with user.scope(marker="recent-errors"):
        await user.should_see("TimeoutError: refund_api failed", retries=50)
