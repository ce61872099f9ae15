"""The search index over workflow_logs.search_text, which differs per backend, in one place.

SQLite: an FTS5 table with the trigram tokenizer (substrings, any script; needs >= 3 characters)
over the column as "external content" (the text is stored once, in workflow_logs), kept true by
triggers on INSERT, UPDATE and DELETE, so every path that writes a log (the writer, an OTLP update,
retention, the admin delete, the backfill) keeps it without knowing it exists.
PostgreSQL: a GIN index with pg_trgm's gin_trgm_ops on the column, which serves ILIKE '%q%' and
is maintained by PostgreSQL itself. Why trigrams and not tsvector: docs/SEARCH.md (measured).

Neither is declared in models.py (SQLAlchemy cannot say either), so the test comparing models with
migrations skips the objects `is_search_object` names. A later migration that recreates
workflow_logs on SQLite (Alembic's batch "move and copy") drops the triggers with the table:
it must call `create(op, dialect)` again and rebuild."""

from __future__ import annotations

from typing import Any

FTS_TABLE = "log_search"
PG_INDEX = "log_search_trgm"
_TRIGGERS = ("log_search_ai", "log_search_ad", "log_search_au")

_SQLITE_CREATE = (
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(search_text, content='workflow_logs', content_rowid='id', "
    "tokenize='trigram')",
    # An external-content table is told the old text on delete, so NULL text (not yet backfilled)
    # must be neither added nor removed.
    f"CREATE TRIGGER log_search_ai AFTER INSERT ON workflow_logs WHEN new.search_text IS NOT NULL BEGIN "
    f"INSERT INTO {FTS_TABLE}(rowid, search_text) VALUES (new.id, new.search_text); END",
    f"CREATE TRIGGER log_search_ad AFTER DELETE ON workflow_logs WHEN old.search_text IS NOT NULL BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
    # Only when the text changed: an update of other columns costs the index nothing.
    f"CREATE TRIGGER log_search_au AFTER UPDATE OF search_text ON workflow_logs "
    "WHEN old.search_text IS NOT new.search_text BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_text) SELECT 'delete', old.id, old.search_text "
    "WHERE old.search_text IS NOT NULL; "
    f"INSERT INTO {FTS_TABLE}(rowid, search_text) SELECT new.id, new.search_text WHERE new.search_text IS NOT NULL; END",
)
_PG_CREATE = (
    # Trusted since PostgreSQL 13: a database owner may create it without superuser.
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON workflow_logs USING gin (search_text gin_trgm_ops)",
)


def create(op: Any, dialect_name: str, rebuild: bool = False) -> None:
    """From a migration: the index. On SQLite it starts empty unless `rebuild` (after a table
    recreate); a rebuild indexes every row, so NULL-text rows then hold an empty entry the triggers
    do not know of: backfill (`logger-app search backfill`) before recreating a table."""
    if dialect_name == "postgresql":
        for statement in _PG_CREATE:
            op.execute(statement)
        return
    for statement in _SQLITE_CREATE:
        op.execute(statement)
    if rebuild:
        op.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")


def drop(op: Any, dialect_name: str) -> None:
    if dialect_name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {PG_INDEX}")  # the extension may serve others: it stays
        return
    for trigger in _TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")


def is_search_object(name: str | None) -> bool:
    """The FTS5 table, its shadow tables (log_search_data, _idx, _docsize, _config) and the GIN index."""
    return bool(name) and str(name).startswith(FTS_TABLE)
