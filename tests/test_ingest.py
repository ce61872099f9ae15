"""Ingest: happy paths, every error code, idempotency, batches (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

from tests.support.data import H

LOG = {
    "ticket_id": "T-100",
    "status": "success",
    "executed_at": "2026-03-01T12:00:00+02:00",
    "execution_time_seconds": 3.5,
    "category": "billing",
    "metrics": {"confidence": 0.91, "iterations": 3},
    "payload": {"final_answer": "done", "react_iterations": [{"thought": "look up"}]},
}


async def test_ingest_stores_log_and_reads_it_back(api, make_key):
    key = await make_key("acme")
    r = await api.post("/api/v1/logs", json={**LOG, "workflow_version": "2.1"}, headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["duplicate"] is False
    got = (await api.get(f"/api/v1/logs/{body['id']}", headers={"X-API-Key": key})).json()
    assert got["client_id"] == "acme"
    assert got["status"] == "SUCCESS"  # any case in, upper case stored
    assert got["executed_at"] == "2026-03-01T10:00:00+00:00"  # offset converted to UTC
    assert got["environment"] == "production"
    assert got["payload"] == LOG["payload"]
    assert got["metrics"] == LOG["metrics"]
    assert got["extra"] == {"workflow_version": "2.1"}  # unknown fields are kept, not rejected


async def test_bearer_header_and_defaults(api, make_key):
    key = await make_key("acme")
    r = await api.post("/api/v1/logs", json={"ticket_id": "T-1", "status": "ERROR"},
                       headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200
    got = (await api.get(f"/api/v1/logs/{r.json()['id']}", headers={"X-API-Key": key})).json()
    assert got["executed_at"] and got["executed_at"].endswith("+00:00")  # defaults to time received
    assert got["payload"] is None and got["extra"] is None


async def test_naive_timestamp_means_utc(api, make_key):
    key = await make_key("acme")
    r = await api.post("/api/v1/logs", json={**LOG, "executed_at": "2026-03-01T12:00:00"}, headers=H(key))
    got = (await api.get(f"/api/v1/logs/{r.json()['id']}", headers=H(key))).json()
    assert got["executed_at"] == "2026-03-01T12:00:00+00:00"


async def test_missing_unknown_and_revoked_keys_get_401(api, make_key, runtime):
    from logger_app.services.access import keys

    for headers in ({}, {"X-API-Key": "lk_nope"}, {"Authorization": "Basic abc"}):
        r = await api.post("/api/v1/logs", json=LOG, headers=headers)
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "unauthorized"
    key = await make_key("acme")
    assert (await api.post("/api/v1/logs", json=LOG, headers=H(key))).status_code == 200
    await keys.revoke_key(runtime.db, key[:12])
    runtime.keys._cache.clear()  # this process's cache; other processes wait out the TTL (< 10 s)
    assert (await api.post("/api/v1/logs", json=LOG, headers=H(key))).status_code == 401


async def test_bad_key_is_checked_before_the_body(api):
    r = await api.post("/api/v1/logs", content=b"{not json", headers={"X-API-Key": "lk_bad", "Content-Type": "application/json"})
    assert r.status_code == 401


async def test_disabled_client_and_client_mismatch_get_403(api, make_key, runtime):
    from logger_app.services.access import clients

    key = await make_key("acme")
    r = await api.post("/api/v1/logs", json={**LOG, "client_id": "globex"}, headers=H(key))
    assert r.status_code == 403
    assert r.json()["error"]["details"][0]["field"] == "client_id"
    assert (await api.post("/api/v1/logs", json={**LOG, "client_id": "acme"}, headers=H(key))).status_code == 200
    await clients.set_client_disabled(runtime.db, "acme")
    runtime.keys._cache.clear()
    assert (await api.post("/api/v1/logs", json=LOG, headers=H(key))).status_code == 403


async def test_admin_keys_cannot_ingest(api, make_key):
    key = await make_key(None)
    r = await api.post("/api/v1/logs", json=LOG, headers=H(key))
    assert r.status_code == 403


async def test_validation_errors_are_400_naming_the_field(api, make_key):
    key = await make_key("acme")
    cases = {
        "ticket_id": {"status": "SUCCESS"},
        "status": {"ticket_id": "T", "status": "maybe"},
        "executed_at": {**LOG, "executed_at": "yesterday"},
        "execution_time_seconds": {**LOG, "execution_time_seconds": -1},
        "environment": {**LOG, "environment": "Prod Env!"},
        "category": {**LOG, "category": "x" * 129},
        "metrics": {**LOG, "metrics": [1, 2]},
        "payload": {**LOG, "payload": "text"},
    }
    for field, body in cases.items():
        r = await api.post("/api/v1/logs", json=body, headers=H(key))
        assert r.status_code == 400, (field, r.text)
        error = r.json()["error"]
        assert error["code"] == "validation_error"
        assert error["details"][0]["field"] == field
    r = await api.post("/api/v1/logs", json={**LOG, "ticket_id": "t" * 257}, headers=H(key))
    assert r.status_code == 400



async def test_a_body_with_several_bad_fields_reports_all_of_them(api, make_key):
    key = await make_key("acme")
    body = {"ticket_id": "", "status": "maybe", "executed_at": "yesterday", "environment": "Prod Env!", "payload": "text"}
    r = await api.post("/api/v1/logs", json=body, headers=H(key))
    assert r.status_code == 400
    error = r.json()["error"]
    assert [d["field"] for d in error["details"]] == ["ticket_id", "status", "executed_at", "environment", "payload"]
    assert "4 more" in error["message"]
    # In a batch, each refused item names all of its own problems under its index.
    r = await api.post("/api/v1/logs/batch", json={"logs": [LOG, {"status": "maybe"}]}, headers=H(key))
    assert r.status_code == 207
    assert [d["field"] for d in r.json()["results"][1]["error"]["details"]] == ["logs[1].ticket_id", "logs[1].status"]

async def test_malformed_and_non_object_bodies(api, make_key):
    key = await make_key("acme")
    for raw in (b"{", b"[1,2]", b'"text"', b"", b'{"ticket_id": NaN}', b'{"a": Infinity}'):
        r = await api.post("/api/v1/logs", content=raw, headers=H(key))
        assert r.status_code == 400, raw
        assert r.json()["error"]["details"], raw


async def test_nul_characters_are_refused_on_every_backend(api, make_key):
    key = await make_key("acme")
    for body in ({**LOG, "ticket_id": "a\x00b"}, {**LOG, "payload": {"deep": [{"x": "\x00"}]}}, {**LOG, "payload": {"k\x00": 1}}):
        r = await api.post("/api/v1/logs", content=json.dumps(body).encode(), headers=H(key))
        assert r.status_code == 400
        assert "NUL" in r.json()["error"]["details"][0]["problem"]


async def test_nesting_deeper_than_64_is_refused(api, make_key):
    key = await make_key("acme")
    deep: dict = {}
    node = deep
    for _ in range(70):
        node["x"] = {}
        node = node["x"]
    r = await api.post("/api/v1/logs", json={**LOG, "payload": deep}, headers=H(key))
    assert r.status_code == 400
    r = await api.post("/api/v1/logs", content=b'{"payload":' + b"[" * 100_000 + b"]" * 100_000 + b"}", headers=H(key))
    assert r.status_code in (400, 413)


async def test_too_large_and_wrong_content_type(api, make_key, runtime):
    key = await make_key("acme")
    big = {**LOG, "payload": {"text": "x" * (runtime.settings.max_body_bytes + 10)}}
    r = await api.post("/api/v1/logs", json=big, headers=H(key))
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"
    r = await api.post("/api/v1/logs", content=json.dumps(LOG), headers={"X-API-Key": key, "Content-Type": "text/plain"})
    assert r.status_code == 415


async def test_idempotency_key_header_and_field_store_once(api, make_key):
    key = await make_key("acme")
    first = await api.post("/api/v1/logs", json=LOG, headers={**H(key), "Idempotency-Key": "run-1"})
    again = await api.post("/api/v1/logs", json=LOG, headers={**H(key), "Idempotency-Key": "run-1"})
    assert again.json() == {"id": first.json()["id"], "duplicate": True}
    by_field = await api.post("/api/v1/logs", json={**LOG, "idempotency_key": "run-2"}, headers=H(key))
    by_field_again = await api.post("/api/v1/logs", json={**LOG, "idempotency_key": "run-2"}, headers=H(key))
    assert by_field_again.json()["id"] == by_field.json()["id"] and by_field_again.json()["duplicate"]
    # Another client may use the same key for its own log.
    other = await make_key("globex")
    theirs = await api.post("/api/v1/logs", json=LOG, headers={**H(other), "Idempotency-Key": "run-1"})
    assert theirs.json()["duplicate"] is False
    page = (await api.get("/api/v1/logs", headers=H(key))).json()
    assert len(page["items"]) == 2


async def test_concurrent_retries_with_one_idempotency_key_store_once(api, make_key):
    import asyncio

    key = await make_key("acme")
    results = await asyncio.gather(*[
        api.post("/api/v1/logs", json=LOG, headers={**H(key), "Idempotency-Key": "same"}) for _ in range(20)
    ])
    ids = {r.json()["id"] for r in results}
    assert len(ids) == 1
    assert sum(not r.json()["duplicate"] for r in results) == 1


async def test_batch_all_valid_is_200(api, make_key):
    key = await make_key("acme")
    logs = [{**LOG, "ticket_id": f"T-{i}"} for i in range(5)]
    r = await api.post("/api/v1/logs/batch", json={"logs": logs}, headers=H(key))
    assert r.status_code == 200
    results = r.json()["results"]
    assert [x["index"] for x in results] == list(range(5))
    assert len({x["id"] for x in results}) == 5


async def test_batch_partial_success_is_207_and_stores_valid_items(api, make_key):
    key = await make_key("acme")
    logs = [{**LOG, "ticket_id": "ok-1"}, {"status": "SUCCESS"}, {**LOG, "ticket_id": "ok-2"}, "nope"]
    r = await api.post("/api/v1/logs/batch", json={"logs": logs}, headers=H(key))
    assert r.status_code == 207
    results = r.json()["results"]
    assert "id" in results[0] and "id" in results[2]
    assert results[1]["error"]["details"][0]["field"] == "logs[1].ticket_id"
    assert "error" in results[3]
    tickets = {i["ticket_id"] for i in (await api.get("/api/v1/logs", headers=H(key))).json()["items"]}
    assert tickets == {"ok-1", "ok-2"}


async def test_batch_limits(api, make_key, runtime):
    key = await make_key("acme")
    r = await api.post("/api/v1/logs/batch", json={"items": []}, headers=H(key))
    assert r.status_code == 400 and r.json()["error"]["details"][0]["field"] == "logs"
    too_many = [{"ticket_id": "t", "status": "SUCCESS"}] * (runtime.settings.max_batch_items + 1)
    r = await api.post("/api/v1/logs/batch", json={"logs": too_many}, headers=H(key))
    assert r.status_code == 413


async def test_ingest_counters_record_accepted_and_rejected(api, make_key, runtime):
    key = await make_key("acme")
    admin = await make_key(None)
    await api.post("/api/v1/logs", json=LOG, headers={**H(key), "Idempotency-Key": "a"})
    await api.post("/api/v1/logs", json=LOG, headers={**H(key), "Idempotency-Key": "a"})
    await api.post("/api/v1/logs", json={"status": "SUCCESS"}, headers=H(key))
    await api.post("/api/v1/logs", json=LOG, headers={"X-API-Key": "lk_wrong"})
    await runtime.counter.flush()
    mine = (await api.get("/api/v1/metrics/ingest", headers=H(key))).json()["items"]
    assert len(mine) == 1
    assert mine[0]["accepted"] == 1 and mine[0]["duplicates"] == 1
    assert mine[0]["rejected"]["validation"] == 1
    everyone = (await api.get("/api/v1/metrics/ingest", headers=H(admin))).json()["items"]
    unknown = [row for row in everyone if row["client_id"] is None]
    assert unknown and unknown[0]["rejected"]["auth"] == 1


async def test_revocation_reaches_another_process_within_the_cache_ttl(api, make_key, settings):
    """Two app instances on one database stand in for two processes behind a proxy."""
    import asyncio
    import time

    import httpx

    from logger_app.app import create_api
    from logger_app.services.access import keys

    key = await make_key("acme")
    other = create_api(settings.model_copy(update={"key_cache_seconds": 1.0}))
    async with other.router.lifespan_context(other):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=other), base_url="http://other") as client:
            assert (await client.post("/api/v1/logs", json=LOG, headers=H(key))).status_code == 200  # now cached
            await keys.revoke_key(api.app.state.runtime.db, key[:12])
            started = time.monotonic()
            while (await client.post("/api/v1/logs", json=LOG, headers=H(key))).status_code == 200:
                assert time.monotonic() - started < 10, "revoked key still accepted after 10 s"
                await asyncio.sleep(0.2)
            assert (await client.post("/api/v1/logs", json=LOG, headers=H(key))).status_code == 401


async def test_bad_idempotency_key_header_is_refused_even_beside_a_null_field(api, make_key):
    key = await make_key("acme")
    body = {**LOG, "idempotency_key": None}
    r = await api.post("/api/v1/logs", json=body, headers={**H(key), "Idempotency-Key": "k" * 201})
    assert r.status_code == 400 and r.json()["error"]["details"][0]["field"] == "Idempotency-Key"
    r = await api.post("/api/v1/logs", json=body, headers={**H(key), "Idempotency-Key": "ok-1"})
    again = await api.post("/api/v1/logs", json=body, headers={**H(key), "Idempotency-Key": "ok-1"})
    assert again.json() == {"id": r.json()["id"], "duplicate": True}
