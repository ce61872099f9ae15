"""The search index over workflow_logs.search_text and the queries that read it, which differ per
backend, in one place (db/dialect.py's rule, for this one index).

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

from sqlalchemy import and_, func, select, text

from .dialect import Dialect

FTS_TABLE = "log_search"
PG_INDEX = "log_search_trgm"
_TRIGGERS = ("log_search_ai", "log_search_ad", "log_search_au")

# detail=none: the index lists which rows hold each trigram, not where (no positions, so no phrase
# queries: a search is an AND of q's trigrams, then the row's text is tested, text_search). Measured
# on 20k demo logs (bench/fts_detail.py, table + index): 57 µs and 923 bytes a log on disk against
# 108 µs and 2,081 bytes with positions (detail=full), the biggest cost of a SQLite batch insert.
_FTS_OPTIONS = "content='workflow_logs', content_rowid='id', tokenize='trigram', detail=none"
_SQLITE_CREATE = (
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(search_text, {_FTS_OPTIONS})",
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


def create(op: Any, dialect_name: str, rebuild: bool = False, *, detail: str = "none") -> None:
    """From a migration: the index (`detail`: FTS5's, "none" or "full"). On SQLite it starts empty
    unless `rebuild` (after a table recreate); a rebuild indexes every row, so NULL-text rows then
    hold an empty entry the triggers do not know of: backfill (`logger-app search backfill`) before
    recreating a table."""
    if dialect_name == "postgresql":
        for statement in _PG_CREATE:
            op.execute(statement)
        return
    for statement in _SQLITE_CREATE:
        # `detail`: migration 0003_search created the table with positions ("full"), 0007 without.
        op.execute(statement.replace("detail=none", f"detail={detail}"))
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


# -- queries --------------------------------------------------------------------------------------

TRIGRAM = 3  # the shortest text either index can look up


def like_escape(value: str) -> str:
    """value as literal text in a LIKE pattern with ESCAPE '\\' (the same on both backends)."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like_pattern(q: str) -> str:
    return "%" + like_escape(q) + "%"


def text_search(dialect: Dialect, id_column: Any, text_column: Any, q: str) -> Any:
    """A condition: the log's search text contains q, ignoring case.

    PostgreSQL: ILIKE, which the pg_trgm GIN index serves for 3+ characters. SQLite: the rows the
    FTS5 trigram table lists for every trigram of q, whose text then contains q (substring_probe,
    or for a non-ASCII q the Unicode-folding cl_contains: the index has no positions to say so);
    1-2 characters cannot be looked up in a trigram index on either backend, so they are a LIKE
    over the rows the other conditions leave (ASCII case folding only, on SQLite)."""
    if dialect is Dialect.POSTGRESQL:
        # Left to the planner: the column's statistics (texts under 1 kB, most logs) tell it a common
        # word, for which it walks the time index newest first, from a rare one, for which it scans
        # the GIN index (30k logs: 4 ms and 8 ms; forcing the index made the common word 18 ms).
        # Under 3 characters pg_trgm has no trigram to look up and would read its whole index
        # (180 ms at 30k logs): `|| ''` hides the column from the index, so rows are tested instead.
        column = text_column.concat("") if len(q) < TRIGRAM else text_column
        return column.ilike(_like_pattern(q), escape="\\")
    if len(q) < TRIGRAM:
        return text_column.like(_like_pattern(q), escape="\\")
    matches = select(text("rowid")).select_from(text(FTS_TABLE)).where(
        text(f"{FTS_TABLE} MATCH :search_trigrams").bindparams(search_trigrams=_trigrams(q)))
    return and_(id_column.in_(matches), _contains(text_column, q))


def substring_probe(dialect: Dialect, text_column: Any, q: str) -> Any:
    """The same test as text_search as a plain condition per row (no index), or None where it would
    not be the same: SQLite's LIKE folds only ASCII case while FTS5 folds all of Unicode, so only
    ASCII queries of 3+ characters (1-2 characters are a LIKE in text_search as well)."""
    if dialect is Dialect.POSTGRESQL:
        return text_search(dialect, None, text_column, q)
    if len(q) >= TRIGRAM and not q.isascii():
        return None
    return text_column.like(_like_pattern(q), escape="\\")


def _contains(text_column: Any, q: str) -> Any:
    """SQLite: the text contains q ignoring case, as FTS5 folds it (Unicode) for a non-ASCII q;
    LIKE, which folds ASCII only but runs in C, for an ASCII one (the same for ASCII text)."""
    if q.isascii():
        return text_column.like(_like_pattern(q), escape="\\")
    return func.cl_contains(text_column, q) == 1


def contains_folded(haystack: str | None, needle: str | None) -> int:
    """cl_contains(text, q), registered on every SQLite connection (engine.py)."""
    if haystack is None or needle is None:
        return 0
    return int(needle.lower() in haystack.lower())


RARE = 2_000  # fewer matches than this in the whole FTS5 index: the index answers a search


async def search_is_rare(dialect: Dialect, session: Any, q: str) -> bool:
    """Whether the indexed query is the cheap path for q (services/read/search_walk.py).
    SQLite: fewer than RARE matches in the FTS5 table, counted in ~1.5 ms at most. PostgreSQL:
    always, as its planner makes the same choice from statistics (text_search), and its walk costs
    ~15 µs a row (30k logs), three times SQLite's."""
    if dialect is Dialect.POSTGRESQL:
        return True
    count = text(f"SELECT count(*) FROM (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :trigrams LIMIT {RARE})")
    return (await session.execute(count, {"trigrams": _trigrams(q)})).scalar_one() < RARE


MAX_TRIGRAMS = 32  # of a long q: rows holding these are few already, and each is tested for all of q


def _trigrams(q: str) -> str:
    """q as an FTS5 query: every distinct 3-character window, quoted (FTS5 syntax in q is just
    text), ANDed. A row listed for all of them may still not hold q itself: text_search tests it."""
    windows = list(dict.fromkeys(q[i:i + TRIGRAM] for i in range(len(q) - TRIGRAM + 1)))[:MAX_TRIGRAMS]
    return " AND ".join('"' + w.replace('"', '""') + '"' for w in windows)


def search_window(dialect: Dialect, text_column: Any, q: str, before: int, length: int) -> Any:
    """`length` characters of the search text from `before` characters ahead of q's first
    occurrence (the start when lower() cannot find it): what the list highlights, without shipping
    up to 32k characters per row."""
    lowered = func.lower(text_column)
    position = func.strpos(lowered, func.lower(q)) if dialect is Dialect.POSTGRESQL else func.instr(lowered, func.lower(q))
    start = func.greatest(position - before, 1) if dialect is Dialect.POSTGRESQL else func.max(position - before, 1)
    return func.substr(text_column, start, length)
