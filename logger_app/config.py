"""Settings, read from the environment (prefix LOGGER_) and an optional .env file."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Key names whose values are redacted at any depth (PRIVACY.md): equal to or ending with these.
DEFAULT_REDACT_KEYS = (
    "pwd", "authorization", "cookie", "set_cookie", "credit_card", "card_number", "cc_number", "cvv", "cvc",
    "iban", "ssn", "session_id",
)
# Matched anywhere inside the normalised name: secrets come as "secret_key", "passwordHash",
# "aws_secret_access_key", "clientSecret", "refresh_token", "x-api-key", "credentials", ... and a
# suffix list missed most of them.
DEFAULT_REDACT_KEY_PARTS = (
    "secret", "password", "passwd", "token", "apikey", "credential", "privatekey", "accesskey",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOGGER_", env_file=".env", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./data/logger.db"
    # A streaming replica of the PostgreSQL primary for dashboard and read-API queries (empty: none).
    read_database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8080
    storage_secret: str | None = None
    admin_password: str | None = None
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_batch_items: int = Field(default=1000, ge=1)
    # POST /v1/traces (OTLP): the largest body, after gzip inflation (bounded: a bomb stops here).
    # The SDK's batches of 512 spans are ~0.1-1 MiB; 16 MiB leaves room for big prompts in attributes.
    otlp_max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    # Request-body bytes one process holds at once from reading to commit (services/ingest/in_flight.py);
    # a body past it while others are held: 503 + Retry-After. 8 MiB: eight 1 MiB batches.
    max_bytes_in_flight: int = Field(default=8 * 1024 * 1024, ge=1024)
    db_timeout_seconds: float = Field(default=5.0, gt=0)
    # A request body must arrive within this, so a client trickling bytes cannot hold a slot forever.
    body_timeout_seconds: float = Field(default=30.0, gt=0)
    cookie_secure: bool = False
    # Comma-separated IPs/CIDR networks of reverse proxies whose X-Forwarded-* headers are believed
    # (client IP for the login throttle, scheme, prefix). Empty: no one's.
    trusted_proxies: str = ""
    # One console line per request (edge/access_log.py): non-2xx always; every request when true.
    access_log: bool = False
    # Server log lines: "text" (default) or "json" (one object per line: time, level, logger, message, request_id).
    log_format: Literal["text", "json"] = "text"
    # host:port for an unauthenticated /metrics for a scraper on a private network (empty: only the
    # admin-key GET /metrics on the main port).
    metrics_bind: str = ""
    # Ingest requests (POST /api/v1/logs, /logs/batch) per second per API key, per process (0 = off);
    # over it: 429 with Retry-After.
    rate_limit_per_key: float = Field(default=0, ge=0)
    # Every other /api/v1 request (reads, metrics, deletes) per second per API key, per process, in
    # bursts of up to two seconds' worth (0 = off). On by default: one key polling the aggregates
    # must not take the database from every other tenant.
    read_rate_limit_per_key: float = Field(default=20, ge=0)
    # Revocation must reach every process within 10 s, so the in-process key cache lives shorter.
    key_cache_seconds: float = Field(default=5.0, ge=0, le=9)
    data_dir: str = "./data"
    # Privacy (see PRIVACY.md): comma-separated key names, matched at any depth of payload/metrics/extra:
    # redact_keys when a name equals or ends with one, redact_key_parts when it contains one.
    redact_keys: str = ",".join(DEFAULT_REDACT_KEYS)
    redact_key_parts: str = ",".join(DEFAULT_REDACT_KEY_PARTS)
    hash_keys: str = ""
    redact_patterns: bool = False
    # 0 keeps logs forever; otherwise the server prunes older logs daily (and `logger-app prune`).
    retention_days: int = Field(default=0, ge=0)

    @field_validator("metrics_bind")
    @classmethod
    def _valid_bind(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if value and not (sep and port.isdigit() and 0 < int(port) < 65536):
            raise ValueError("LOGGER_METRICS_BIND must be host:port, e.g. 10.0.0.5:9108")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_proxies(cls, value: str) -> str:
        from .edge.proxies import parse_networks

        parse_networks(value)  # a typo here would silently trust no one (or the wrong one)
        return value

    @model_validator(mode="after")
    def _replica_needs_postgres(self) -> Settings:
        if self.read_database_url and not all(u.startswith("postgresql") for u in (self.database_url, self.read_database_url)):
            raise ValueError("LOGGER_READ_DATABASE_URL is a PostgreSQL replica of a PostgreSQL LOGGER_DATABASE_URL")
        return self

    def resolved_storage_secret(self) -> str:
        """The configured secret, or one generated once and kept in the data dir.

        Persisting it means restarts (and several processes sharing the dir) agree on it."""
        if self.storage_secret:
            return self.storage_secret
        path = Path(self.data_dir) / "storage_secret"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip()


def get_settings() -> Settings:
    return Settings()
