"""The rules a log's fields obey, declared once: ingest validation, the API's Query/Field
declarations (and so the OpenAPI document) and the dashboard's URL filters all read them here,
so a limit can never be loosened in one door and not the others."""

from __future__ import annotations

import re
from typing import Literal

# Tenant ids appear in URLs, file names and log lines: lower-case, no separators but - and _.
CLIENT_ID_PATTERN = r"[a-z0-9][a-z0-9_-]{0,62}"
# The same rule in words, for people (CLI and form errors).
CLIENT_ID_RULE = "1-63 characters: lower-case letters, digits, - and _, starting with a letter or digit"
ENVIRONMENT_PATTERN = r"[a-z0-9_-]{1,32}"
STATUSES = ("SUCCESS", "ERROR")
# What the API accepts for a status (any case); the same values as STATUSES (a test checks).
StatusText = Literal["SUCCESS", "ERROR", "success", "error"]
TICKET_ID_MAX = 256  # the column is String(256)
CATEGORY_MAX = 128  # the column is String(128)
IDEMPOTENCY_KEY_MAX = 200  # the column is String(200)
DEFAULT_ENVIRONMENT = "production"

CLIENT_ID_RE = re.compile(CLIENT_ID_PATTERN)
ENVIRONMENT_RE = re.compile(ENVIRONMENT_PATTERN)


def anchored(pattern: str) -> str:
    """The form pydantic and FastAPI's `pattern=` want (they search, not match)."""
    return f"^{pattern}$"
