"""GET /metrics: the logger's own monitoring, in the Prometheus text format, for admin keys only.

Counters live in the test process's default registry (shared by every test app in this process),
so each assertion compares a value before and after the requests it makes."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.data import H

LOG = {"ticket_id": "T-1", "status": "SUCCESS"}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


async def scrape(api, admin_key: str, bearer: bool = False) -> str:
    headers = {"Authorization": f"Bearer {admin_key}"} if bearer else {"X-API-Key": admin_key}
    r = await api.get("/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return r.text


async def test_metrics_need_an_admin_key(api, make_key):
    client_key, admin_key = await make_key("acme"), await make_key(None)
    anonymous = await api.get("/metrics")
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "unauthorized"
    refused = await api.get("/metrics", headers=H(client_key))
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == "/metrics needs an admin API key"
    assert "logger_http_requests_total" in await scrape(api, admin_key)
    assert "logger_http_requests_total" in await scrape(api, admin_key, bearer=True)


async def test_requests_logs_and_commits_are_counted(api, make_key, runtime):
    key, admin = await make_key("metrics-co"), await make_key(None)
    before = await scrape(api, admin)
    for _ in range(3):
        assert (await api.post("/api/v1/logs", json=LOG, headers=H(key))).status_code == 200
    dup = {**LOG, "ticket_id": "T-dup"}
    for _ in range(2):
        assert (await api.post("/api/v1/logs", json=dup, headers={**H(key), "Idempotency-Key": "same"})).status_code == 200
    assert (await api.post("/api/v1/logs", json={"status": "SUCCESS"}, headers=H(key))).status_code == 400
    assert (await api.get("/api/v1/logs/nonexistent-id", headers=H(key))).status_code == 400  # not a public id
    for path in ("/api/v1/no-such-route/123", "/api/v1/no-such-route/456", "/logs/some-page?x=1"):
        await api.get(path, headers=H(key))
    after = await scrape(api, admin)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    # By route template (never the path asked for) and status.
    assert delta("logger_http_requests_total", method="POST", route="/api/v1/logs", status="200") == 5
    assert delta("logger_http_requests_total", method="POST", route="/api/v1/logs", status="400") == 1
    assert delta("logger_http_requests_total", method="GET", route="/api/v1/logs/{log_id}", status="400") == 1
    assert delta("logger_http_request_duration_seconds_count", method="POST", route="/api/v1/logs") == 6
    # Unknown paths share one label each: a scanner cannot grow the metric set.
    assert delta("logger_http_requests_total", method="GET", route="(other)", status="404") == 2
    assert delta("logger_http_requests_total", method="GET", route="(dashboard)", status="404") == 1
    assert not any("no-such-route" in name or "some-page" in str(labels) for name, labels in samples(after))
    # Logs by outcome and reason, per client.
    assert delta("logger_logs_total", client="metrics-co", outcome="accepted", reason="") == 4
    assert delta("logger_logs_total", client="metrics-co", outcome="duplicate", reason="") == 1
    assert delta("logger_logs_total", client="metrics-co", outcome="rejected", reason="validation") == 1
    # Every acknowledged log went through a group commit.
    assert delta("logger_writer_commit_rows_sum") == 5
    assert delta("logger_writer_commit_rows_count") >= 1
    # The gauges are there (sampled by housekeeping) and start from nothing in use.
    runtime._sample_gauges()
    now = await scrape(api, admin)
    assert ("logger_writer_queue_depth", ()) in samples(now)
    assert value(now, "logger_db_pool_connections_in_use", engine="writer") >= 0


async def test_refused_keys_and_storage_errors_are_counted(api, make_key, runtime, monkeypatch):
    admin = await make_key(None)
    before = await scrape(api, admin)
    assert (await api.post("/api/v1/logs", json=LOG, headers=H("lk_not_a_key"))).status_code == 401
    after = await scrape(api, admin)
    assert value(after, "logger_logs_total", client="", outcome="rejected", reason="auth") - \
        value(before, "logger_logs_total", client="", outcome="rejected", reason="auth") == 1
    # A request the storage failed is counted (here: the key lookup finds no database).
    from logger_app.services.errors import StorageUnavailable

    async def no_database(key):
        raise StorageUnavailable("storage did not answer in time")

    monkeypatch.setattr(runtime.keys, "authenticate", no_database)
    assert (await api.get("/api/v1/logs", headers=H("lk_any"))).status_code == 503
    monkeypatch.undo()
    after_outage = await scrape(api, admin)
    assert value(after_outage, "logger_storage_errors_total", where="request") - \
        value(after, "logger_storage_errors_total", where="request") == 1
    # The OTLP receiver's counter is declared (the receiver calls count_otlp_spans).
    from logger_app.telemetry.metrics import count_otlp_spans

    count_otlp_spans(3, 1, "invalid_span")
    spans = await scrape(api, admin)
    assert value(spans, "logger_otlp_spans_total", outcome="accepted", reason="") - \
        value(after, "logger_otlp_spans_total", outcome="accepted", reason="") == 3
    assert value(spans, "logger_otlp_spans_total", outcome="rejected", reason="invalid_span") >= 1


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"read_rate_limit_per_key": 0})
