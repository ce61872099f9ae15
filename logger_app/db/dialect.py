"""What differs between SQLite and PostgreSQL, in one place.

The backend is decided once, when the Database is made (db/engine.py: `db.dialect`); code that must
say something differently to each backend passes that Dialect to a function here instead of
comparing dialect names or importing sqlalchemy.dialects.* itself."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy.engine import make_url


class Dialect(StrEnum):
    """The two supported backends, by the names SQLAlchemy gives them.

    A StrEnum rather than a plain Enum: SQLAlchemy's own APIs name dialects by these strings
    (`engine.dialect.name`, `with_variant(..., "postgresql")`), and a comparison with the bare string
    that some branch not merged yet still makes keeps its meaning instead of turning silently false.
    Compare with `is` here."""

    # The embedded default: one writer connection, readers beside it thanks to WAL, timestamps
    # stored as naive-UTC text, no percentile_cont or date_trunc.
    SQLITE = "sqlite"
    # Production: pooled connections, JSONB, percentile_cont and date_trunc, concurrent writers.
    POSTGRESQL = "postgresql"

    @classmethod
    def of(cls, bind: Any) -> Dialect:
        """The backend of an engine or connection (sync or async: all of them have `.dialect`)."""
        return cls._named(bind.dialect.name)

    @classmethod
    def of_url(cls, url: str) -> Dialect:
        """The backend a database URL names, before any engine exists ("sqlite+aiosqlite:///..." is
        SQLITE: the driver after the + does not matter)."""
        return cls._named(make_url(url).get_backend_name())

    @classmethod
    def _named(cls, name: str) -> Dialect:
        try:
            return cls(name)
        except ValueError:
            raise ValueError(f"unsupported database backend {name!r}: use SQLite or PostgreSQL") from None
