"""Dates in dashboard URLs (/logs, /, exports) go through the same timestamp validation as the API:
one that overflows when normalised to UTC, or is not a date, is a 400 naming the field, not a 500.
Extreme dates that do fit still work."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from logger_app.pages.view_utils import DATE_LABELS
from tests.support.data import add_logs, make_log
from tests.support.pages import eventually, login, table_rows

BAD = [("until", "9999-12-31"),  # an end date includes its whole day: the day after year 9999
       ("since", "0001-01-01T00:00:00+14:00"), ("until", "9999-12-31T23:59:59-05:00"), ("since", "junk")]


def assert_400_naming(resp, field: str) -> None:
    assert resp.status_code == 400, (resp.status_code, resp.text[:300])
    error = resp.json()["error"]
    assert error["code"] == "validation_error" and error["message"]
    assert [d["field"] for d in error["details"]] == [field], error


@pytest.mark.parametrize("path", ["/export/logs.csv", "/export/logs.jsonl"])
async def test_bad_dates_in_list_and_export_urls_are_400(user, db, path):
    await add_logs(db, "acme", [make_log("ANY")])
    await login(user)
    for name, value in BAD:
        assert_400_naming(await user.http_client.get(path, params={name: value}), name)


async def test_bad_dates_in_the_list_url_are_named_in_a_banner(user, db):
    await add_logs(db, "acme", [make_log("ANY")])
    await login(user)
    for name, value in BAD:
        await user.open(f"/logs?{urlencode({name: value})}")
        await user.should_see(marker="refused-banner")
        await user.should_see(f"{name} ({DATE_LABELS[name]}):")
        assert [r["ticket_id"] for r in table_rows(user)] == ["ANY"]


async def test_bad_dates_in_overview_url_are_400(user, db):
    await login(user, next_page="/")
    for name, value in BAD:
        resp = await user.http_client.get("/", params={"range": "custom", name: value})
        assert_400_naming(resp, name)


async def test_extreme_dates_that_fit_still_list_and_export(user, db):
    await add_logs(db, "acme", [make_log("ANY")])
    await login(user)
    await user.open("/logs?since=0001-01-01&until=9999-12-30")
    assert [r["ticket_id"] for r in table_rows(user)] == ["ANY"]
    resp = await user.http_client.get("/export/logs.csv", params={"since": "0001-01-01T00:00:00Z",
                                                                   "until": "9999-12-31T23:59:59Z"})
    assert resp.status_code == 200 and "ANY" in resp.text


@pytest.mark.parametrize("query", [
    "range=custom&since=1000-01-01",  # the previous period of equal length would start before year 1
    "range=custom&since=9999-12-31T00:00:00&until=9999-12-31T23:59:59",  # hourly buckets up to the end of time
    "range=custom&since=9999-12-31T23:59:30",  # no end: "now" lies before the start
])
async def test_overview_of_extreme_periods_renders(user, db, query):
    await add_logs(db, "acme", [make_log("ANY")])
    await login(user, next_page="/")
    await user.open(f"/?{query}")
    await eventually(lambda: _card_total(user) != "…", timeout=5)
    # The `user` fixture fails the test on any ERROR log, so a crash in the refresh would show too.


def _card_total(user) -> str:
    with user:
        return user.find(marker="card-total").elements.pop().default_slot.children[1].text


async def test_out_of_range_date_typed_into_the_logs_filter_is_refused_with_a_message(user, db):
    await add_logs(db, "acme", [make_log("ANY")])
    await login(user)
    await user.open("/logs")
    with user:
        user.find(marker="filter-until").elements.pop().value = "9999-12-31"
    await user.should_see("until (To): out of range")
    assert [r["ticket_id"] for r in table_rows(user)] == ["ANY"]  # the old filters stay in force
    with user:
        assert user.find(marker="filter-until").elements.pop().value == ""


async def test_out_of_range_date_typed_into_the_overview_is_refused_with_a_message(user, db):
    await login(user, next_page="/")
    await user.open("/?range=custom&since=2026-01-01")
    with user:
        user.find(marker="until").elements.pop().value = "9999-12-31"
    await user.should_see("To: out of range")
    with user:
        assert user.find(marker="until").elements.pop().value == ""  # back to the period in force
