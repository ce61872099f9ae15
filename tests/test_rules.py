"""The field rules are declared once (services/rules.py); every door reads the same ones."""

from __future__ import annotations

import typing

from logger_app.services import rules


def test_the_api_status_type_accepts_exactly_the_statuses_in_any_case():
    accepted = set(typing.get_args(rules.StatusText))
    assert accepted == set(rules.STATUSES) | {s.lower() for s in rules.STATUSES}


def test_the_openapi_document_carries_the_same_rules():
    from logger_app.app import create_api
    from logger_app.config import Settings

    schema = create_api(Settings(database_url="sqlite+aiosqlite:///:memory:", _env_file=None)).openapi()
    log_in = schema["components"]["schemas"]["LogIn"]["properties"]
    assert log_in["ticket_id"]["maxLength"] == rules.TICKET_ID_MAX
    assert log_in["environment"]["pattern"] == rules.anchored(rules.ENVIRONMENT_PATTERN)
    params = {p["name"]: p["schema"] for p in schema["paths"]["/api/v1/logs"]["get"]["parameters"]}
    client = params["client_id"].get("anyOf", [params["client_id"]])[0]
    assert client["pattern"] == rules.anchored(rules.CLIENT_ID_PATTERN)
