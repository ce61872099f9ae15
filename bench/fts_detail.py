"""Benchmark: what the SQLite search index (FTS5 trigram, external content) costs per inserted log,
with token positions (detail=full, before migration 0007) and without (detail=none, what
db/search_index.py creates), beside the table alone.

Inserts 40 batches of 500 demo logs' search texts (services/ingest/derive.py builds them from the
bench's demo logs) into a fresh file in WAL mode, one multi-row INSERT and one commit per batch, as
the writer does, through the same kind of trigger; prints µs per log and bytes per log on disk.

    .venv/bin/python bench/fts_detail.py
"""

from __future__ import annotations

import os
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson  # noqa: E402
from _common import demo_bodies  # noqa: E402

from logger_app.services.ingest.validation import normalise_log  # noqa: E402

BATCHES, BATCH = 40, 500


def run(texts: list[str], fts: str | None) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="cl-bench-fts-") as tmp:
        path = f"{tmp}/f.db"
        c = sqlite3.connect(path)
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("PRAGMA synchronous=NORMAL")
        c.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, search_text TEXT)")
        if fts is not None:
            c.execute(f"CREATE VIRTUAL TABLE f USING fts5(search_text, content='t', content_rowid='id', "
                      f"tokenize='trigram', detail={fts})")
            c.execute("CREATE TRIGGER ai AFTER INSERT ON t BEGIN INSERT INTO f(rowid, search_text) "
                      "VALUES (new.id, new.search_text); END")
        statement = "INSERT INTO t VALUES " + ", ".join(["(?, ?)"] * BATCH)
        row_id = 0
        started = time.perf_counter()
        for _ in range(BATCHES):
            params: list = []
            for text in texts:
                row_id += 1
                params += (row_id, text)
            c.execute(statement, params)
            c.commit()
        elapsed = time.perf_counter() - started
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        c.close()
        return elapsed / (BATCHES * BATCH) * 1e6, os.path.getsize(path) / (BATCHES * BATCH)


def main() -> None:
    now = datetime.now(timezone.utc)
    texts = [normalise_log(orjson.loads(b), "bench", now)["search_text"] for b in demo_bodies(BATCH)]
    print(f"SQLite {sqlite3.sqlite_version}, {BATCHES} x {BATCH} logs, search text {sum(map(len, texts)) / len(texts):.0f}"
          " characters a log\n\n| index | µs per log | bytes per log on disk |\n|---|---|---|")
    for label, fts in (("table only", None), ("FTS5 detail=full", "full"), ("FTS5 detail=none", "none")):
        micros, size = run(texts, fts)
        print(f"| {label} | {micros:.1f} | {size:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
