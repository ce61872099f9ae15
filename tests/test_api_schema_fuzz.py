"""Schemathesis against our own /openapi.json on the real server: no 5xx for any generated input,
responses match the documented schemas, invalid data is rejected and auth cannot be skipped."""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")  # a test extra; `make test` installs it

from hypothesis import HealthCheck, given, settings  # noqa: E402

from tests.support.server import create_client_key, start_server  # noqa: E402

EXAMPLES = 20  # per operation and mode: bounded so CI stays quick, still hundreds of requests


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    work = tmp_path_factory.mktemp("fuzz")
    # Hundreds of requests with one key: the default read limit would answer most of them 429.
    server = start_server(f"sqlite+aiosqlite:///{work}/logger.db", work, read_rate_limit_per_key="0")
    try:
        yield server, create_client_key(server.env, "acme")
    finally:
        server.stop()


def _operations(server) -> list:
    # schemathesis' pytest plugin does not load under pytest 9, so drive its strategies directly.
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE])
def test_api_conforms_to_its_openapi_document(live, mode):
    server, key = live
    operations = _operations(server)
    assert len(operations) >= 9
    for operation in operations:
        if mode == schemathesis.GenerationMode.NEGATIVE and not operation.path.startswith("/api/"):
            continue  # /healthz and /readyz take no input, so there is nothing invalid to send
        excluded = [schemathesis.checks.positive_data_acceptance]
        is_batch = operation.path == "/api/v1/logs/batch"
        if is_batch:
            # A batch with some invalid items is answered 207 naming each rejected item (checked
            # below), which the generic check would count as "invalid data accepted".
            excluded.append(schemathesis.checks.negative_data_rejection)

        @given(case=operation.as_strategy(generation_mode=mode))
        # derandomize: CI must be repeatable; widen the search locally with more EXAMPLES.
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None,
                  derandomize=True)
        def run(case):
            # Schema-valid is not always acceptable: text with NUL or lone surrogates is refused on
            # purpose (PostgreSQL cannot store it), so that one check is left out.
            response = case.call_and_validate(base_url=server.url, headers={"X-API-Key": key},
                                              excluded_checks=excluded)
            assert response.status_code < 500
            if is_batch and response.status_code == 207:
                assert any("error" in item for item in response.json()["results"])
            assert key not in response.text

        run()


def test_every_api_operation_refuses_a_missing_or_wrong_key(live):
    import urllib.error
    import urllib.request

    server, _ = live
    for operation in _operations(server):
        if not operation.path.startswith("/api/"):
            continue
        path = operation.path.replace("{log_id}", "1")
        for headers in ({}, {"X-API-Key": "lk_wrong"}):
            request = urllib.request.Request(server.url + path, method=operation.method.upper(), headers=headers,
                                             data=b"{}" if operation.method in ("post", "put") else None)
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(request, timeout=10)
            assert err.value.code == 401, (operation.method, path, headers)
