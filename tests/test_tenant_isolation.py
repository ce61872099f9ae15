"""Client A's key can neither list, count, nor fetch client B's logs (SQLite and PostgreSQL)."""

from __future__ import annotations

from tests.support.data import H, public_id


async def _two_clients(api, make_key):
    a, b, admin = await make_key("acme"), await make_key("globex"), await make_key(None)
    for key, prefix in ((a, "A"), (b, "B")):
        logs = [{"ticket_id": f"{prefix}-{i}", "status": "ERROR" if i == 0 else "SUCCESS", "category": "c"} for i in range(3)]
        assert (await api.post("/api/v1/logs/batch", json={"logs": logs}, headers=H(key))).status_code == 200
    return a, b, admin


async def test_client_key_lists_only_its_own_logs(api, make_key):
    a, b, _ = await _two_clients(api, make_key)
    items = (await api.get("/api/v1/logs", headers=H(a))).json()["items"]
    assert {i["client_id"] for i in items} == {"acme"} and len(items) == 3


async def test_client_key_cannot_ask_for_another_client(api, make_key):
    a, b, _ = await _two_clients(api, make_key)
    for path in ("/api/v1/logs", "/api/v1/metrics/overview", "/api/v1/metrics/timeseries", "/api/v1/metrics/ingest"):
        r = await api.get(path, params={"client_id": "globex"}, headers=H(a))
        assert r.status_code == 403, path
        assert "globex" not in r.text or r.json()["error"]["code"] == "forbidden"
    own = await api.get("/api/v1/logs", params={"client_id": "acme"}, headers=H(a))
    assert own.status_code == 200 and len(own.json()["items"]) == 3


async def test_client_key_counts_only_its_own_logs(api, make_key):
    a, _, _ = await _two_clients(api, make_key)
    overview = (await api.get("/api/v1/metrics/overview", headers=H(a))).json()
    assert overview["total"] == 3 and overview["errors"] == 1
    series = (await api.get("/api/v1/metrics/timeseries", headers=H(a))).json()["items"]
    assert sum(b["total"] for b in series) == 3


async def test_fetching_another_clients_log_by_id_looks_like_it_does_not_exist(api, make_key):
    a, b, _ = await _two_clients(api, make_key)
    theirs = (await api.get("/api/v1/logs", headers=H(b))).json()["items"][0]["id"]
    foreign = await api.get(f"/api/v1/logs/{theirs}", headers=H(a))
    missing = await api.get(f"/api/v1/logs/{public_id(987654321)}", headers=H(a))  # well-formed, no such log
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()  # same body: existence does not leak


async def test_cursor_from_another_client_does_not_leak_rows(api, make_key):
    a, b, _ = await _two_clients(api, make_key)
    page = (await api.get("/api/v1/logs", params={"limit": 1}, headers=H(b))).json()
    items = (await api.get("/api/v1/logs", params={"cursor": page["next_cursor"]}, headers=H(a))).json()["items"]
    assert {i["client_id"] for i in items} <= {"acme"}


async def test_admin_key_sees_every_client_and_can_filter(api, make_key):
    _, _, admin = await _two_clients(api, make_key)
    items = (await api.get("/api/v1/logs", headers=H(admin))).json()["items"]
    assert {i["client_id"] for i in items} == {"acme", "globex"}
    only_b = (await api.get("/api/v1/logs", params={"client_id": "globex"}, headers=H(admin))).json()["items"]
    assert {i["client_id"] for i in only_b} == {"globex"}
    assert (await api.get("/api/v1/metrics/overview", headers=H(admin))).json()["total"] == 6
    some_id = items[0]["id"]
    assert (await api.get(f"/api/v1/logs/{some_id}", headers=H(admin))).status_code == 200


async def test_no_log_query_bypasses_the_scope():
    """Every function that reads workflow_logs must go through scope.scoped_select (by construction)."""
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parent.parent / "logger_app"
    offenders = []
    for path in root.rglob("*.py"):
        if path.name in ("scope.py", "models.py", "writer.py", "demo.py") or "migrations" in path.parts:
            continue
        text = path.read_text()
        if re.search(r"(?<![\w])select\([^)]*WorkflowLog", text) or "from(WorkflowLog" in text:
            offenders.append(str(path.relative_to(root)))
    # readyz only checks that the table answers; it returns no rows to anyone.
    assert offenders in ([], ["api/routes_health.py"]), offenders
