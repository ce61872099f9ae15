"""Redaction before storage: secret-looking key names at any depth, token counters kept readable,
and (LOGGER_REDACT_PATTERNS) secrets inside free text. What is stored is what a reader gets back."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from logger_app.config import Settings
from logger_app.runtime import redactor_from
from logger_app.services.access.keys import new_key
from tests.support.data import H
from tests.support.server import REPO as ROOT

# Names that were stored in clear before (suffix matching only) and must never be again.
SECRET_NAMES = ["secret_key", "aws_secret_access_key", "passwordHash", "credentials", "AWS_SECRET_ACCESS_KEY",
                "x-api-key", "refresh_token", "clientSecret", "id_token", "prompt_token", "privateKeyPem",
                "Proxy-Authorization", "PASSWORD-HASH"]
# Usage counters: their "token" is a count, not a credential.
COUNTERS = ["tokens", "token_count", "prompt_tokens", "total_tokens", "max_tokens", "tokens_used",
            "completion_tokens", "completionTokens", "TOTAL_TOKENS", "tokensPerSecond"]


def secret_value(name: str) -> str:
    return f"s3cr3t-{name}-value"


def log_with_names() -> dict:
    secrets_ = {name: secret_value(name) for name in SECRET_NAMES}
    counters = {name: i + 100 for i, name in enumerate(COUNTERS)}
    return {
        "ticket_id": "R-1",
        "status": "SUCCESS",
        "metrics": {"usage": dict(counters), **secrets_},
        "payload": {"steps": [{"tool": {"input": {"deep": [dict(secrets_)]}}}], "usage": dict(counters)},
        # Unknown top-level fields are kept under `extra`.
        "auth_context": {"nested": dict(secrets_)},
        "aws_secret_access_key": secret_value("top"),
        **counters,
    }


@pytest.fixture(params=[False, True], ids=["patterns-off", "patterns-on"])
def settings(settings, request):
    # Both ways through Redactor.clean: the read-only fast path (patterns off, the default) and
    # the rebuild (patterns on).
    return settings.model_copy(update={"redact_patterns": request.param})


async def store_and_read(api, key, body: dict) -> dict:
    r = await api.post("/api/v1/logs", json=body, headers=H(key))
    assert r.status_code == 200, r.text
    got = await api.get(f"/api/v1/logs/{r.json()['id']}", headers=H(key))
    return got.json()


async def test_secret_names_are_redacted_at_any_depth_of_payload_metrics_and_extra(api, make_key):
    key = await make_key("acme")
    stored = await store_and_read(api, key, log_with_names())
    text = json.dumps(stored)
    assert "s3cr3t" not in text
    deep = stored["payload"]["steps"][0]["tool"]["input"]["deep"][0]
    for name in SECRET_NAMES:
        assert deep[name] == "[REDACTED]", name
        assert stored["metrics"][name] == "[REDACTED]", name
        assert stored["extra"]["auth_context"]["nested"][name] == "[REDACTED]", name
    assert stored["extra"]["aws_secret_access_key"] == "[REDACTED]"


async def test_token_counters_stay_readable(api, make_key):
    key = await make_key("acme")
    stored = await store_and_read(api, key, log_with_names())
    expected = {name: i + 100 for i, name in enumerate(COUNTERS)}
    assert stored["metrics"]["usage"] == expected
    assert stored["payload"]["usage"] == expected
    assert {name: stored["extra"][name] for name in COUNTERS} == expected


async def test_a_counter_name_holding_text_is_redacted(api, make_key):
    # A count is a number; a string or list under "tokens" is more likely a credential.
    key = await make_key("acme")
    body = {"ticket_id": "R-2", "status": "SUCCESS",
            "payload": {"tokens": ["ghp_leaked"], "max_tokens": "ghp_leaked2", "usage": {"total_tokens": None},
                        "token_usage": {"prompt_tokens": 3, "api_key": "k-123"}}}
    stored = (await store_and_read(api, key, body))["payload"]
    assert stored["tokens"] == stored["max_tokens"] == "[REDACTED]"
    assert stored["usage"] == {"total_tokens": None}
    assert stored["token_usage"] == {"prompt_tokens": 3, "api_key": "[REDACTED]"}  # walked into, not kept whole


async def test_configured_names_still_match_exactly_or_as_a_suffix(api, make_key):
    key = await make_key("acme")
    body = {"ticket_id": "R-3", "status": "SUCCESS",
            "payload": {"Set-Cookie": "a=b", "user_ssn": "123-45-6789", "session_id": "sess", "cvv": "123",
                        "cookie_count": 2, "ssn_checked": True, "confidence": 0.7}}
    stored = (await store_and_read(api, key, body))["payload"]
    assert stored == {"Set-Cookie": "[REDACTED]", "user_ssn": "[REDACTED]", "session_id": "[REDACTED]",
                      "cvv": "[REDACTED]", "cookie_count": 2, "ssn_checked": True, "confidence": 0.7}


def test_defaults_in_code_and_docs_agree():
    from logger_app.config import DEFAULT_REDACT_KEY_PARTS, DEFAULT_REDACT_KEYS

    env_example = (ROOT / ".env.example").read_text()
    assert f"LOGGER_REDACT_KEYS={','.join(DEFAULT_REDACT_KEYS)}\n" in env_example
    assert f"LOGGER_REDACT_KEY_PARTS={','.join(DEFAULT_REDACT_KEY_PARTS)}\n" in env_example
    privacy = (ROOT / "PRIVACY.md").read_text()
    for part in DEFAULT_REDACT_KEY_PARTS:
        assert f"`{part}`" in privacy, part
    defaults = Settings(_env_file=None, storage_secret="x")
    assert defaults.redact_keys == ",".join(DEFAULT_REDACT_KEYS)
    assert defaults.redact_key_parts == ",".join(DEFAULT_REDACT_KEY_PARTS)


# -- free text (LOGGER_REDACT_PATTERNS) -----------------------------------------------------
async def test_free_text_secrets_are_scrubbed_when_patterns_are_on(api, make_key, settings):
    key = await make_key("acme")
    ours = new_key()  # our own API key format, from services/access/keys.py
    note = (f"curl -H 'Authorization: Bearer eyJhbGciOi.J9eyJzdWIi.OiIxMjM0' ; bearer abc-123_x; key {ours}, "
            f"aws AKIAIOSFODNN7EXAMPLE and ASIAY34FZKBOKMUTVV7A; prefix {ours[:12]} stays; "
            f"not a key: AKIA123 or AKIAIOSFODNN7EXAMPLEX")
    stored = (await store_and_read(api, key, {"ticket_id": "R-4", "status": "SUCCESS",
                                                  "payload": {"note": note, "list": [f"x {ours} y"]}}))["payload"]
    if not settings.redact_patterns:
        assert stored["note"] == note  # off by default: free text is stored as sent
        return
    assert stored["note"] == (
        "curl -H 'Authorization: Bearer [TOKEN]' ; bearer [TOKEN]; key [API_KEY], "
        f"aws [AWS_KEY] and [AWS_KEY]; prefix {ours[:12]} stays; not a key: AKIA123 or AKIAIOSFODNN7EXAMPLEX")
    assert stored["list"] == ["x [API_KEY] y"]


# -- the fast path never keeps what the full rebuild would change --------------------------
NAMES = st.sampled_from(SECRET_NAMES + COUNTERS + ["note", "usage", "steps", "confidence", "email", "a"])
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(NAMES, c, max_size=4), max_leaves=12)


@hsettings(max_examples=300, deadline=None, derandomize=True)
@given(tree=st.dictionaries(NAMES, VALUES, max_size=5))
def test_fast_path_agrees_with_the_full_rebuild(tree):
    redactor = redactor_from(Settings(_env_file=None, storage_secret="x", hash_keys="email"))
    # depth=1 skips the read-only check and always rebuilds the tree.
    assert redactor.clean(tree) == redactor.clean(tree, 1)


def test_redacting_a_redacted_log_again_changes_nothing():
    """An OTLP trace that gains spans is rebuilt through the redactor again (services/otlp): a hashed
    value must stay the one hash, and everything else already clean stays as it is."""
    redactor = redactor_from(Settings(hash_keys="email,customer_id", redact_patterns=True, storage_secret="s", _env_file=None))
    row = {"payload": {"email": "ann@example.com", "customer_id": 17, "note": "mail ann@example.com, Bearer abc.def",
                       "api_secret": "x"}, "metrics": None, "extra": None}
    once = redactor.apply(json.loads(json.dumps(row)))
    assert once["payload"]["email"].startswith("hmac-sha256:") and once["payload"]["api_secret"] == "[REDACTED]"
    assert redactor.apply(json.loads(json.dumps(once))) == once
