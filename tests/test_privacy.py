"""Privacy contract: redaction and keyed hashing before storage, retention, audited deletes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from tests.support.data import H

SECRET_LOG = {
    "ticket_id": "P-1",
    "status": "SUCCESS",
    "metrics": {"tokens": 1234, "confidence": 0.8},
    "payload": {
        "request": {"headers": {"Authorization": "Bearer sk-live-123", "X-Api-Key": "abc"}},
        "customer": {"email": "jane@example.com", "password": "hunter2"},
        "tool_calls": [{"input": {"access_token": "tok", "card_number": "4111 1111 1111 1111"}}],
        "note": "contact jane@example.com, card 4111-1111-1111-1111",
    },
    "session_id": "sess-9",
}


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"hash_keys": "email", "redact_patterns": True})


async def test_secrets_are_redacted_before_storage(api, make_key, runtime):
    key = await make_key("acme")
    r = await api.post("/api/v1/logs", json=SECRET_LOG, headers=H(key))
    stored = (await api.get(f"/api/v1/logs/{r.json()['id']}", headers=H(key))).json()
    text = json.dumps(stored)
    for secret in ("sk-live-123", "hunter2", "tok\"", "4111 1111", "sess-9", "\"abc\""):
        assert secret not in text, secret
    p = stored["payload"]
    assert p["request"]["headers"]["Authorization"] == "[REDACTED]"
    assert p["customer"]["password"] == "[REDACTED]"
    assert p["tool_calls"][0]["input"]["access_token"] == "[REDACTED]"
    assert stored["extra"]["session_id"] == "[REDACTED]"
    assert stored["metrics"]["tokens"] == 1234  # a usage count named "tokens" is not a secret


async def test_hashed_keys_still_match_each_other(api, make_key):
    key = await make_key("acme")
    ids = [(await api.post("/api/v1/logs", json=SECRET_LOG, headers=H(key))).json()["id"] for _ in range(2)]
    emails = [(await api.get(f"/api/v1/logs/{i}", headers=H(key))).json()["payload"]["customer"]["email"] for i in ids]
    assert emails[0] == emails[1] and emails[0].startswith("hmac-sha256:") and "jane" not in emails[0]


async def test_pattern_redaction_of_free_text(api, make_key):
    key = await make_key("acme")
    r = await api.post("/api/v1/logs", json=SECRET_LOG, headers=H(key))
    note = (await api.get(f"/api/v1/logs/{r.json()['id']}", headers=H(key))).json()["payload"]["note"]
    assert note == "contact [EMAIL], card [CARD]"


async def test_retention_prune_deletes_only_old_logs(api, make_key, runtime):
    from logger_app.services.retention import prune

    key = await make_key("acme")
    old = (datetime.now(timezone.utc) - timedelta(days=40)).isoformat()
    await api.post("/api/v1/logs", json={"ticket_id": "old", "status": "SUCCESS", "executed_at": old}, headers=H(key))
    await api.post("/api/v1/logs", json={"ticket_id": "new", "status": "SUCCESS"}, headers=H(key))
    assert await prune(runtime.db, 30) == 1
    left = [i["ticket_id"] for i in (await api.get("/api/v1/logs", headers=H(key))).json()["items"]]
    assert left == ["new"]


async def test_admin_deletes_are_audited_and_client_keys_cannot_delete(api, make_key, runtime):
    from logger_app.services.retention import audit_events

    key, admin = await make_key("acme"), await make_key(None)
    ids = [(await api.post("/api/v1/logs", json={"ticket_id": "T-9", "status": "SUCCESS"}, headers=H(key))).json()["id"] for _ in range(3)]
    assert (await api.delete(f"/api/v1/logs/{ids[0]}", headers=H(key))).status_code == 403
    assert (await api.delete(f"/api/v1/logs/{ids[0]}", headers=H(admin))).json() == {"deleted": 1}
    assert (await api.get(f"/api/v1/logs/{ids[0]}", headers=H(admin))).status_code == 404
    assert (await api.delete(f"/api/v1/logs/{ids[0]}", headers=H(admin))).status_code == 404
    r = await api.delete("/api/v1/logs", params={"client_id": "acme", "ticket_id": "T-9"}, headers=H(admin))
    assert r.json() == {"deleted": 2}
    actions = [(e.action, e.target) for e in await audit_events(runtime.db)]
    assert ("delete_ticket", "acme/T-9") in actions and ("delete_log", str(ids[0])) in actions


def test_privacy_doc_is_linked_from_readme():
    from tests.support.server import REPO as ROOT

    assert (ROOT / "PRIVACY.md").exists()
    assert "PRIVACY.md" in (ROOT / "README.md").read_text()
