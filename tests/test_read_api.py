"""Read API: filters, keyset pagination, overview and timeseries numbers (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from logger_app.db.rollup_scheme import MAX_RELATIVE_ERROR
from tests.support.data import H

BASE = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)


def log(i: int, **kw) -> dict:
    return {
        "ticket_id": f"T-{i}",
        "status": "ERROR" if i % 4 == 0 else "SUCCESS",
        "executed_at": (BASE + timedelta(minutes=i)).isoformat(),
        "execution_time_seconds": float(i),
        "category": "billing" if i % 2 else "login",
        "environment": "staging" if i % 5 == 0 else "production",
        "metrics": {"confidence": (i % 10) / 10, "iterations": i % 4 + 1},
        **kw,
    }


async def seed(api, key, n: int) -> None:
    r = await api.post("/api/v1/logs/batch", json={"logs": [log(i) for i in range(1, n + 1)]}, headers=H(key))
    assert r.status_code == 200


async def walk(api, key, params: dict) -> list[dict]:
    items, cursor = [], None
    while True:
        page = (await api.get("/api/v1/logs", params={**params, **({"cursor": cursor} if cursor else {})}, headers=H(key))).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


async def test_list_is_newest_first_without_payload(api, make_key):
    key = await make_key("acme")
    await seed(api, key, 5)
    items = (await api.get("/api/v1/logs", headers=H(key))).json()["items"]
    assert [i["ticket_id"] for i in items] == ["T-5", "T-4", "T-3", "T-2", "T-1"]
    assert "payload" not in items[0]


async def test_filters_narrow_the_rows(api, make_key):
    key = await make_key("acme")
    await seed(api, key, 20)
    get = lambda **p: api.get("/api/v1/logs", params=p, headers=H(key))  # noqa: E731
    assert {i["status"] for i in (await get(status="error")).json()["items"]} == {"ERROR"}
    assert len((await get(status="ERROR")).json()["items"]) == 5
    assert {i["category"] for i in (await get(category="login")).json()["items"]} == {"login"}
    assert len((await get(environment="staging")).json()["items"]) == 4
    assert [i["ticket_id"] for i in (await get(ticket_id="T-7")).json()["items"]] == ["T-7"]


async def test_time_filters_accept_offsets(api, make_key):
    key = await make_key("acme")
    await seed(api, key, 10)
    # 14:03+02:00 == 12:03Z: from is inclusive, to exclusive -> T-3 .. T-5
    params = {"from": "2026-05-01T14:03:00+02:00", "to": "2026-05-01T07:06:00-05:00"}
    items = (await api.get("/api/v1/logs", params=params, headers=H(key))).json()["items"]
    assert [i["ticket_id"] for i in items] == ["T-5", "T-4", "T-3"]
    naive = (await api.get("/api/v1/logs", params={"from": "2026-05-01T12:09:00"}, headers=H(key))).json()["items"]
    assert [i["ticket_id"] for i in naive] == ["T-10", "T-9"]


async def test_bad_parameters_are_400_naming_them(api, make_key):
    key = await make_key("acme")
    for params, field in (({"limit": 0}, "limit"), ({"limit": 201}, "limit"), ({"status": "meh"}, "status"),
                          ({"from": "not a time"}, "from"), ({"cursor": "garbage!"}, "cursor"),
                          ({"environment": "BAD ENV"}, "environment")):
        r = await api.get("/api/v1/logs", params=params, headers=H(key))
        assert r.status_code == 400, params
        assert r.json()["error"]["details"][0]["field"] == field
    r = await api.get("/api/v1/metrics/timeseries", params={"bucket": "week"}, headers=H(key))
    assert r.status_code == 400


async def test_pagination_walks_every_row_exactly_once_under_concurrent_inserts(api, make_key):
    key = await make_key("acme")
    await seed(api, key, 60)
    expected = {f"T-{i}" for i in range(1, 61)}

    async def insert_more() -> None:
        # New logs arrive "now", i.e. newer than every seeded row: a keyset walk must neither
        # repeat nor skip the rows it set out to read.
        for j in range(30):
            await api.post("/api/v1/logs", json={"ticket_id": f"new-{j}", "status": "SUCCESS"}, headers=H(key))

    walker = asyncio.create_task(walk(api, key, {"limit": 7, "to": "2026-06-01T00:00:00Z"}))
    await asyncio.gather(walker, insert_more())
    seen = [i["ticket_id"] for i in walker.result()]
    assert len(seen) == len(set(seen)) == 60
    assert set(seen) == expected
    # And without a time bound, a walk that starts after the inserts sees all of them once too.
    all_items = await walk(api, key, {"limit": 13})
    assert len(all_items) == len({i["id"] for i in all_items}) == 90


async def test_pagination_with_identical_timestamps(api, make_key):
    key = await make_key("acme")
    same = [{"ticket_id": f"S-{i}", "status": "SUCCESS", "executed_at": "2026-01-01T00:00:00Z"} for i in range(25)]
    await api.post("/api/v1/logs/batch", json={"logs": same}, headers=H(key))
    items = await walk(api, key, {"limit": 4})
    assert sorted(i["ticket_id"] for i in items) == sorted(s["ticket_id"] for s in same)


async def test_overview_numbers(api, make_key):
    key = await make_key("acme")
    await seed(api, key, 20)
    o = (await api.get("/api/v1/metrics/overview", headers=H(key))).json()
    assert o["total"] == 20 and o["errors"] == 5 and o["success"] == 15
    assert o["success_rate"] == 0.75
    assert o["avg_execution_time_seconds"] == 10.5
    # percentile_cont's definition on both backends; whole hours come from the rollups' histogram,
    # within its bound (docs/ROLLUPS.md)
    assert abs(o["p50_execution_time_seconds"] - 10.5) <= 10.5 * MAX_RELATIVE_ERROR
    assert abs(o["p95_execution_time_seconds"] - 19.05) <= 19.05 * MAX_RELATIVE_ERROR
    cats = {c["category"]: c for c in o["by_category"]}
    assert cats["login"]["count"] == 10 and cats["login"]["errors"] == 5
    assert cats["billing"]["errors"] == 0
    filtered = (await api.get("/api/v1/metrics/overview", params={"status": "ERROR"}, headers=H(key))).json()
    assert filtered["total"] == 5 and filtered["success_rate"] == 0.0


async def test_overview_of_nothing(api, make_key):
    key = await make_key("acme")
    o = (await api.get("/api/v1/metrics/overview", headers=H(key))).json()
    assert o["total"] == 0 and o["success_rate"] is None and o["p95_execution_time_seconds"] is None


async def test_timeseries_buckets(api, make_key):
    key = await make_key("acme")
    logs = [log(i, executed_at=(BASE + timedelta(minutes=30 * i)).isoformat()) for i in range(1, 7)]
    await api.post("/api/v1/logs/batch", json={"logs": logs}, headers=H(key))
    hourly = (await api.get("/api/v1/metrics/timeseries", params={"bucket": "hour"}, headers=H(key))).json()
    assert [b["bucket"] for b in hourly["items"]] == [
        "2026-05-01T12:00:00+00:00", "2026-05-01T13:00:00+00:00", "2026-05-01T14:00:00+00:00", "2026-05-01T15:00:00+00:00"]
    assert [b["total"] for b in hourly["items"]] == [1, 2, 2, 1]
    assert [b["errors"] for b in hourly["items"]] == [0, 0, 1, 0]
    daily = (await api.get("/api/v1/metrics/timeseries", params={"bucket": "day"}, headers=H(key))).json()
    assert daily["items"][0]["total"] == 6
    assert abs(daily["items"][0]["p95_execution_time_seconds"] - 5.75) <= 5.75 * MAX_RELATIVE_ERROR  # the histogram's bound


async def test_health_and_readiness(api):
    assert (await api.get("/healthz")).status_code == 200
    r = await api.get("/readyz")
    assert r.status_code == 200 and r.json()["status"] == "ready"


async def test_unknown_api_path_is_json_404(api):
    r = await api.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"



async def test_a_wrong_method_on_an_existing_route_is_405_with_allow(api, make_key):
    key = await make_key("acme")
    r = await api.patch("/api/v1/logs", headers={"X-API-Key": key})
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
    assert set(r.headers["allow"].split(", ")) == {"GET", "POST", "DELETE"}
    r = await api.put("/api/v1/logs/log_0123456789abcdef", headers={"X-API-Key": key})
    assert r.status_code == 405 and set(r.headers["allow"].split(", ")) == {"GET", "DELETE"}

async def test_openapi_documents_every_route_and_error_body(api):
    spec = (await api.get("/openapi.json")).json()
    paths = spec["paths"]
    for path in ("/api/v1/logs", "/api/v1/logs/batch", "/api/v1/logs/{log_id}", "/api/v1/metrics/overview",
                 "/api/v1/metrics/timeseries", "/api/v1/metrics/ingest", "/healthz", "/readyz"):
        assert path in paths, path
    post = paths["/api/v1/logs"]["post"]
    assert {"400", "401", "403", "413", "415", "503"} <= set(post["responses"])
    assert "ErrorBody" in post["responses"]["401"]["content"]["application/json"]["schema"]["$ref"]
    assert "requestBody" in post
    params = {p["name"] for p in paths["/api/v1/logs"]["get"]["parameters"]}
    assert {"status", "category", "environment", "ticket_id", "from", "to", "client_id", "limit", "cursor"} <= params
    assert "422" not in paths["/api/v1/logs"]["get"]["responses"]


async def test_odd_ids_and_nul_filters_are_client_errors(api, make_key):
    key = await make_key("acme")
    for path in ("/api/v1/logs/99999999999999999999999", "/api/v1/logs/0", "/api/v1/logs/abc"):
        r = await api.get(path, headers=H(key))
        assert r.status_code in (400, 404), path
        assert r.json()["error"]["code"] in ("validation_error", "not_found")
    for name in ("category", "ticket_id"):
        r = await api.get("/api/v1/logs", params={name: "a\x00b"}, headers=H(key))
        assert r.status_code == 400 and r.json()["error"]["details"][0]["field"] == name


async def test_unknown_query_parameters_are_named_not_ignored(api, make_key):
    key = await make_key("acme")
    r = await api.get("/api/v1/logs", params={"stauts": "ERROR"}, headers=H(key))
    assert r.status_code == 400 and r.json()["error"]["details"][0]["field"] == "stauts"
    r = await api.post("/api/v1/logs?debug=1", json={"ticket_id": "T", "status": "SUCCESS"}, headers=H(key))
    assert r.status_code == 400 and r.json()["error"]["details"][0]["field"] == "debug"
    assert (await api.get("/api/v1/logs", params={"status": "ERROR", "limit": 5}, headers=H(key))).status_code == 200
