"""Timestamps that overflow when normalised to UTC, and crafted keyset cursors, are 400s naming the
field on both backends, never 500s. (The dashboard's URL filters: pages/test_time_bounds.py.)"""

from __future__ import annotations

import base64
import json

import pytest

from tests.support.data import H

# Valid ISO-8601, but the UTC instant lies before year 1 or after year 9999: datetime overflows.
OVERFLOWING = ("0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+14:00")


def b64(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def unb64(cursor: str):
    return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))


def assert_400_naming(resp, field: str) -> None:
    assert resp.status_code == 400, (resp.status_code, resp.text)
    error = resp.json()["error"]
    assert error["code"] == "validation_error" and error["message"]
    assert [d["field"] for d in error["details"]] == [field], error


@pytest.fixture
async def key_and_cursor(api, make_key):
    """A client key with two logs, and the decoded cursor of its first one-log page."""
    key = await make_key("acme")
    logs = [{"ticket_id": f"T-{i}", "status": "SUCCESS", "executed_at": f"2026-05-01T12:0{i}:00Z"} for i in range(2)]
    assert (await api.post("/api/v1/logs/batch", json={"logs": logs}, headers=H(key))).status_code == 200
    page = (await api.get("/api/v1/logs", params={"limit": 1}, headers=H(key))).json()
    return key, unb64(page["next_cursor"])


async def test_crafted_cursors_are_400_naming_the_cursor(api, key_and_cursor):
    key, (stamp, log_id) = key_and_cursor
    crafted = [b64([when, log_id]) for when in OVERFLOWING]
    crafted += [b64([when, 1]) for when in OVERFLOWING]
    crafted += [b64([stamp, True]), b64([stamp, 1.5]), b64([stamp, None]), b64([stamp]), b64([stamp, log_id, 1]),
                b64({"at": stamp, "id": log_id}), b64("x"), b64([None, log_id]), b64([12, log_id]),
                b64(["not a time", log_id]), b64([stamp, -1]), b64([stamp, 2**70]), "%%%", "", "e30", "A" * 199]
    for cursor in crafted:
        resp = await api.get("/api/v1/logs", params={"cursor": cursor}, headers=H(key))
        if cursor == "":
            assert resp.status_code == 200  # an empty cursor is the first page
            continue
        assert_400_naming(resp, "cursor")


async def test_a_cursor_the_server_issued_still_pages(api, key_and_cursor):
    key, decoded = key_and_cursor
    resp = await api.get("/api/v1/logs", params={"cursor": b64(decoded)}, headers=H(key))
    assert resp.status_code == 200 and [i["ticket_id"] for i in resp.json()["items"]] == ["T-0"]


@pytest.mark.parametrize("path", ["/api/v1/logs", "/api/v1/metrics/overview", "/api/v1/metrics/timeseries"])
@pytest.mark.parametrize("name", ["from", "to"])
async def test_overflowing_time_filters_are_400_naming_them(api, make_key, path, name):
    key = await make_key("acme")
    for value in OVERFLOWING:
        assert_400_naming(await api.get(path, params={name: value}, headers=H(key)), name)


async def test_overflowing_ingest_report_start_is_400(api, make_key):
    key = await make_key("acme")
    for value in OVERFLOWING:
        assert_400_naming(await api.get("/api/v1/metrics/ingest", params={"from": value}, headers=H(key)), "from")


async def test_extreme_but_representable_times_are_answered(api, make_key):
    key = await make_key("acme")
    params = {"from": "0001-01-01T00:00:00Z", "to": "9999-12-31T23:59:59.999999+00:00"}
    for path in ("/api/v1/logs", "/api/v1/metrics/overview", "/api/v1/metrics/timeseries"):
        assert (await api.get(path, params=params, headers=H(key))).status_code == 200, path
