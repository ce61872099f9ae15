"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TIMESTAMP, TypeDecorator

from .dialect import Dialect

# The variants are keyed by the plain string (.value): Alembic's autogenerate writes the key with
# %r into new migrations, and an enum member's repr is not Python it can import.
# JSONB on PostgreSQL (indexable, compact); plain JSON text on SQLite.
JSONType = JSON().with_variant(postgresql.JSONB(), Dialect.POSTGRESQL.value)

# SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid alias), PostgreSQL wants 64 bits.
BigIntPK = BigInteger().with_variant(Integer(), Dialect.SQLITE.value)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on the way in and out.

    SQLite's DateTime(timezone=True) drops an offset without converting it, and asyncpg reads naive
    values as process-local time, so every value is normalised to UTC here and naive input is
    treated as UTC."""

    impl = TIMESTAMP(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        value = value.astimezone(timezone.utc)
        # SQLite compares timestamps as text, so store one fixed naive-UTC form there.
        # (`dialect` is SQLAlchemy's own, asked once per bound value: compared by name, not made a Dialect.)
        return value.replace(tzinfo=None) if dialect.name == Dialect.SQLITE else value

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
