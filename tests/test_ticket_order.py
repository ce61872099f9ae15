"""The ticket list's orders, totals and neighbours (services/read/sorting.py, queries.count_logs,
neighbours.py) on both backends: every order walks every row exactly once in the right order, NULLs
last, ties broken by id; a cursor of one order is refused under another; totals equal the rows."""

from __future__ import annotations

from datetime import timedelta

import pytest

from logger_app.services.access.principal import Principal
from logger_app.services.errors import ValidationFailed
from logger_app.services.read import queries
from logger_app.services.read.neighbours import neighbours
from logger_app.services.read.scope import LogFilters
from logger_app.services.read.sorting import SORT_NAMES, parse_sort
from tests.support.data import add_logs, make_log

ADMIN = Principal(client_id=None, is_admin=True)
ACME = Principal(client_id="acme")


def odd_log(i: int) -> dict:
    """Repeated keys (ties) and missing ones (NULLs) in every sortable column."""
    item = make_log(f"S-{i:03d}", minutes_ago=i * 7 % 50, seconds=[0.5, 2.0, 2.0, 9.0][i % 4], confidence=[0.1, 0.5, 0.5, 0.9][i % 4])
    if i % 5 == 0:
        item["metrics"] = {"iterations": i % 3}  # no confidence: NULL
    if i % 6 == 0:
        item["execution_time_seconds"] = None
    if i % 7 == 0:
        item["metrics"] = {"confidence": 0.3}  # no iterations (and no payload to count them from): NULL
    return item


def expected_order(rows: list[dict], name: str) -> list[str]:
    sort = parse_sort(name)
    field = {"executed_at": "executed_at", "execution_time": "execution_time_seconds", "confidence": "confidence",
             "iterations": "iterations"}[sort.key]
    present = [r for r in rows if r[field] is not None]
    missing = [r for r in rows if r[field] is None]
    present.sort(key=lambda r: (r[field], r["row"]), reverse=sort.descending)
    missing.sort(key=lambda r: r["row"], reverse=sort.descending)
    return [r["ticket_id"] for r in present + missing]


@pytest.fixture
async def seeded(runtime):
    logs = [odd_log(i) for i in range(37)]
    await add_logs(runtime.db, "acme", logs)
    await add_logs(runtime.db, "globex", [make_log("OTHER-1"), make_log("OTHER-2", seconds=99)])
    rows = []
    for row, item in enumerate(logs):
        metrics = item["metrics"]
        rows.append({"ticket_id": item["ticket_id"], "row": row, "executed_at": item["executed_at"],
                     "execution_time_seconds": item["execution_time_seconds"], "confidence": metrics.get("confidence"),
                     "iterations": metrics.get("iterations")})
    return rows


@pytest.mark.parametrize("name", SORT_NAMES)
async def test_every_order_pages_through_every_row_once(runtime, seeded, name):
    sort = parse_sort(name)
    seen, cursor = [], None
    while True:
        page = await queries.list_logs(runtime.db, runtime.public_ids, ACME, LogFilters(), 5, cursor, sort, triage=True)
        seen += [i["ticket_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected_order(seeded, name)  # the other client's logs never appear


async def test_a_cursor_of_one_order_is_refused_under_another(runtime, seeded):
    page = await queries.list_logs(runtime.db, runtime.public_ids, ACME, LogFilters(), 5, None, parse_sort("-confidence"))
    with pytest.raises(ValidationFailed) as refused:
        await queries.list_logs(runtime.db, runtime.public_ids, ACME, LogFilters(), 5, page["next_cursor"], parse_sort("confidence"))
    assert refused.value.details[0].field == "cursor"
    with pytest.raises(ValidationFailed):
        parse_sort("-tokens")


async def test_neighbours_follow_the_list_order_and_scope(runtime, seeded):
    for name in ("-executed_at", "-confidence", "iterations"):
        sort = parse_sort(name)
        page = await queries.list_logs(runtime.db, runtime.public_ids, ACME, LogFilters(), 100, None, sort)
        ids = [i["id"] for i in page["items"]]
        for at in (0, 1, len(ids) // 2, len(ids) - 1):
            found = await neighbours(runtime.db, runtime.public_ids, ACME, LogFilters(), sort, ids[at])
            assert found == {"previous": ids[at - 1] if at else None, "next": ids[at + 1] if at + 1 < len(ids) else None}, (name, at)
    other = (await queries.list_logs(runtime.db, runtime.public_ids, ADMIN, LogFilters(client_id="globex"), 5))["items"][0]["id"]
    assert await neighbours(runtime.db, runtime.public_ids, ACME, LogFilters(), parse_sort(None), other) == {"previous": None, "next": None}


async def test_totals_from_rollups_and_bounded_counts_equal_the_rows(runtime, seeded):
    from logger_app.services.read.scope import LogFilters as F

    now = max(r["executed_at"] for r in seeded)
    from datetime import datetime

    cut = datetime.fromisoformat(now) - timedelta(minutes=20)
    cases = [F(), F(status="SUCCESS"), F(since=cut), F(until=cut), F(category="billing"), F(confidence_min=0.5)]
    for filters in cases:
        rows = (await queries.list_logs(runtime.db, runtime.public_ids, ACME, filters, 200))["items"]
        total = await queries.count_logs(runtime.db, ACME, filters)
        assert total == {"count": len(rows), "exact": True}, filters
    assert (await queries.count_logs(runtime.db, ADMIN, F()))["count"] == 39
    assert await queries.count_logs(runtime.db, ACME, F(q="S-0")) is None  # a search: "50+ matches"


async def test_count_is_bounded(runtime, seeded, monkeypatch):
    monkeypatch.setattr(queries, "COUNT_CAP", 10)
    assert await queries.count_logs(runtime.db, ACME, LogFilters(category="billing")) == {"count": 10, "exact": False}


async def test_preferences_store_only_declared_keys_and_shapes(runtime):
    from logger_app.services.access import preferences
    from logger_app.services.access.users import create_user

    user = await create_user(runtime.db, "prefs", "a-long-enough-password", "admin", check_strength=False)
    assert await preferences.get_preferences(runtime.db, user.id) == {}
    await preferences.set_preference(runtime.db, user.id, "ticket_columns", ["error", "tokens", "error"])
    await preferences.set_preference(runtime.db, user.id, "ticket_page_size", 100)
    assert await preferences.get_preferences(runtime.db, user.id) == {"ticket_columns": ["error", "tokens"], "ticket_page_size": 100}
    for key, value in (("theme_css", "x"), ("ticket_columns", ["<script>"]), ("ticket_columns", "error"), ("ticket_page_size", 7)):
        with pytest.raises(ValidationFailed) as refused:
            await preferences.set_preference(runtime.db, user.id, key, value)
        assert refused.value.details[0].field == key
    assert (await preferences.get_preferences(runtime.db, user.id))["ticket_page_size"] == 100  # nothing refused was stored
