"""Search (`q`) and the triage filters on GET /api/v1/logs, over real framework payloads
(tests/fixtures/traces), on SQLite (FTS5 trigram) and PostgreSQL (pg_trgm)."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tests.support.data import H

FIXTURES = Path(__file__).parent / "fixtures" / "traces"
BASE = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)


def fixture(name: str) -> dict:
    payload = json.loads((FIXTURES / f"{name}.json").read_text())
    payload.pop("_source", None)
    return payload


def japanese_refund() -> dict:
    """The Anthropic tool-error run, asked in Japanese and answered in Russian by the tool."""
    payload = fixture("anthropic_tool_error")
    payload["messages"][0]["content"] = "注文番号 ORD-7731 の返金はいつですか？"
    payload["messages"][2]["content"][0]["content"] = "Ошибка: возврат платежа недоступен"
    return payload


def log(ticket: str, payload: dict | None, minutes: int, **kw) -> dict:
    return {"ticket_id": ticket, "status": kw.pop("status", "SUCCESS"), "category": kw.pop("category", "billing"),
            "executed_at": (BASE + timedelta(minutes=minutes)).isoformat(), "execution_time_seconds": kw.pop("seconds", 1.0),
            "metrics": kw.pop("metrics", {"confidence": 0.8}), "payload": payload, **kw}


LOGS = [
    log("ORD-1001-a", fixture("openai_chat_tool_calls"), 1, seconds=0.4),
    log("ORD-1001-b", fixture("typed_steps_nested"), 2, status="ERROR", seconds=12.5, metrics={"confidence": 0.3}),
    log("SUP-77", fixture("anthropic_tool_error"), 3, status="ERROR", category="weather", metrics={"confidence": 0.55}),
    log("SUP-78", japanese_refund(), 4, category="refunds", seconds=2.0),
    log("SUP-79", fixture("langchain_react_namedtuple"), 5, category="trivia", channel="email-eu"),
    log("SUP-80", fixture("demo_failed"), 6, status="ERROR", seconds=3.0),
]


async def seeded(api, make_key, client: str = "acme") -> str:
    key = await make_key(client)
    r = await api.post("/api/v1/logs/batch", json={"logs": LOGS}, headers=H(key))
    assert r.status_code == 200, r.text
    return key


async def tickets(api, key, **params) -> list[str]:
    r = await api.get("/api/v1/logs", params=params, headers=H(key))
    assert r.status_code == 200, r.text
    return [i["ticket_id"] for i in r.json()["items"]]


async def test_finds_words_in_tool_outputs_errors_and_answers(api, make_key):
    key = await seeded(api, make_key)
    assert await tickets(api, key, q="Greatest Hits") == ["ORD-1001-a"]  # a tool's output
    assert await tickets(api, key, q="timed out after 10s") == ["ORD-1001-b"]  # an error message
    assert await tickets(api, key, q="weather service api") == ["SUP-77"]  # any case
    assert await tickets(api, key, q="Camila Morrone") == ["SUP-79"]  # final answer and observations
    assert await tickets(api, key, q="email-eu") == ["SUP-79"]  # a value of `extra`
    assert await tickets(api, key, q="TRIVIA") == ["SUP-79"]  # the category
    assert await tickets(api, key, q="no such words anywhere") == []


async def test_finds_non_latin_words_order_numbers_and_ticket_prefixes(api, make_key):
    key = await seeded(api, make_key)
    assert await tickets(api, key, q="返金") == ["SUP-78"]  # two characters: below the trigram size
    assert await tickets(api, key, q="注文番号") == ["SUP-78"]
    assert await tickets(api, key, q="ВОЗВРАТ") == ["SUP-78"]  # Cyrillic, folded
    assert await tickets(api, key, q="ORD-20417") == ["ORD-1001-b"]  # an order number inside a tool input
    assert await tickets(api, key, q="ORD-1001") == ["ORD-1001-b", "ORD-1001-a"]  # ticket-id prefix, newest first
    assert await tickets(api, key, q="SUP-7") == ["SUP-79", "SUP-78", "SUP-77"]


async def test_every_trigram_of_a_word_is_not_the_word(api, make_key):
    # The SQLite index lists rows by trigram without positions: "refu fund" holds ref, efu, fun and
    # und, yet not "refund"; the row's text decides (ASCII by LIKE, other scripts folded in Python).
    key = await make_key("acme")
    for ticket, note in (("NEAR-1", "refu fund"), ("NEAR-2", "возвр зврат"), ("HIT-1", "a Refund please"),
                         ("HIT-2", "ВОЗВРАТ денег")):
        r = await api.post("/api/v1/logs", json={"ticket_id": ticket, "status": "SUCCESS", "payload": {"note": note}},
                           headers=H(key))
        assert r.status_code == 200, r.text
    assert await tickets(api, key, q="refund") == ["HIT-1"]
    assert await tickets(api, key, q="возврат") == ["HIT-2"]


async def test_the_match_is_returned_as_plain_text(api, make_key):
    key = await make_key("acme")
    hostile = log("X-1", {"final_answer": "see <img src=x onerror=alert(1)> for the refund"}, 1)
    assert (await api.post("/api/v1/logs", json=hostile, headers=H(key))).status_code == 200
    (item,) = (await api.get("/api/v1/logs", params={"q": "refund"}, headers=H(key))).json()["items"]
    assert item["match"]["match"] == "refund"
    assert item["match"]["before"].endswith("<img src=x onerror=alert(1)> for the ")
    assert (await api.get("/api/v1/logs", headers=H(key))).json()["items"][0]["match"] is None


async def test_search_pages_and_combines_with_other_filters(api, make_key):
    key = await make_key("acme")
    payload = {"final_answer": "refund issued for order"}
    logs = [log(f"R-{i:02d}", payload, i, status="ERROR" if i % 3 == 0 else "SUCCESS") for i in range(25)]
    logs.append(log("OTHER", {"final_answer": "nothing to see"}, 30))
    assert (await api.post("/api/v1/logs/batch", json={"logs": logs}, headers=H(key))).status_code == 200
    seen, cursor = [], None
    while True:
        page = (await api.get("/api/v1/logs", params={"q": "refund", "limit": 10, **({"cursor": cursor} if cursor else {})},
                              headers=H(key))).json()
        seen += [i["ticket_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"R-{i:02d}" for i in reversed(range(25))]
    errors = await tickets(api, key, q="refund", status="error")
    assert errors == [f"R-{i:02d}" for i in reversed(range(0, 25, 3))]
    window = {"q": "refund", "from": (BASE + timedelta(minutes=5)).isoformat(), "to": (BASE + timedelta(minutes=8)).isoformat()}
    assert await tickets(api, key, **window) == ["R-07", "R-06", "R-05"]


async def test_a_client_never_finds_another_clients_log(api, make_key):
    await seeded(api, make_key, "acme")
    other = await make_key("globex")
    admin = await make_key(None)
    assert await tickets(api, other, q="Greatest Hits") == []
    assert await tickets(api, other, q="返金") == []
    assert await tickets(api, other, q="ORD-1001") == []
    r = await api.get("/api/v1/logs", params={"q": "Greatest Hits", "client_id": "acme"}, headers=H(other))
    assert r.status_code == 403
    assert await tickets(api, admin, q="Greatest Hits") == ["ORD-1001-a"]


async def test_triage_filters(api, make_key):
    key = await seeded(api, make_key)
    assert await tickets(api, key, tool="get_order") == ["SUP-80", "ORD-1001-b"]
    assert await tickets(api, key, tool="track_parcel") == ["ORD-1001-b"]
    assert await tickets(api, key, tool="ASK_DATABASE") == ["ORD-1001-a"]  # names match in any case
    assert await tickets(api, key, tool="get_") == []  # a name, not a substring
    assert await tickets(api, key, error_type="TimeoutError") == ["ORD-1001-b"]
    assert await tickets(api, key, error_type="ToolError") == ["SUP-80"]
    assert await tickets(api, key, model="gpt-4o-mini") == ["SUP-80", "ORD-1001-b"]
    assert await tickets(api, key, model="gpt-4o") == ["ORD-1001-a"]
    assert await tickets(api, key, model="claude-opus-4-7") == ["SUP-78", "SUP-77"]
    assert await tickets(api, key, confidence_min="0.3", confidence_max="0.55") == ["SUP-77", "ORD-1001-b"]
    assert await tickets(api, key, execution_time_min="2", execution_time_max="3") == ["SUP-80", "SUP-78"]
    assert await tickets(api, key, execution_time_min="10") == ["ORD-1001-b"]
    assert await tickets(api, key, model="claude-opus-4-7", q="返金", status="success") == ["SUP-78"]


async def test_invalid_filters_are_refused_naming_the_field(api, make_key):
    key = await make_key("acme")
    for params, field in (({"confidence_min": "high"}, "confidence_min"), ({"execution_time_max": "nan"}, "execution_time_max"),
                          ({"execution_time_min": "-1"}, "execution_time_min"), ({"q": "a\x00b"}, "q"),
                          ({"confidence_min": "0.9", "confidence_max": "0.1"}, "confidence_max"),
                          ({"q": "x" * 201}, "q"), ({"tols": "x"}, "tols")):
        r = await api.get("/api/v1/logs", params=params, headers=H(key))
        assert r.status_code == 400, (params, r.text)
        assert [d["field"] for d in r.json()["error"]["details"]] == [field], params


async def test_iterations_come_from_the_trace_when_metrics_has_none(api, make_key, runtime):
    key = await make_key("acme")
    logs = [log("IT-1", fixture("react_llamaindex"), 1, metrics={}),  # thought-act-observe twice, then the answer
            log("IT-2", fixture("openai_chat_parallel"), 2, metrics=None),  # two calls of one turn: one round
            log("IT-3", fixture("react_llamaindex"), 3, metrics={"iterations": 7}),  # the workflow's own count wins
            log("IT-4", {"whatever": "shape"}, 4, metrics=None)]  # nothing to count
    assert (await api.post("/api/v1/logs/batch", json={"logs": logs}, headers=H(key))).status_code == 200
    from sqlalchemy import select

    from logger_app.db.models import WorkflowLog
    async with runtime.db.read() as session:
        rows = dict((await session.execute(select(WorkflowLog.ticket_id, WorkflowLog.iterations))).all())
    assert rows == {"IT-1": 2, "IT-2": 1, "IT-3": 7, "IT-4": None}


async def test_an_update_of_a_row_keeps_search_true(api, make_key, runtime):
    """OTLP updates a stored row with a rebuilt normalise_log row: the index must follow."""
    from sqlalchemy import update

    from logger_app.db.models import WorkflowLog
    from logger_app.services.ingest.validation import normalise_log

    key = await make_key("acme")
    first = log("UP-1", {"final_answer": "first draft about shipping"}, 1)
    assert (await api.post("/api/v1/logs", json=first, headers=H(key))).status_code == 200
    row = normalise_log({**first, "payload": {"final_answer": "final text about customs"}}, "acme", BASE)
    async with runtime.db.writer.begin() as conn:
        await conn.execute(update(WorkflowLog).where(WorkflowLog.ticket_id == "UP-1").values(
            {k: v for k, v in row.items() if k != "created_at"}))
    assert await tickets(api, key, q="customs") == ["UP-1"]
    assert await tickets(api, key, q="shipping") == []
    async with runtime.db.writer.begin() as conn:
        await conn.execute(WorkflowLog.__table__.delete().where(WorkflowLog.ticket_id == "UP-1"))
    assert await tickets(api, key, q="customs") == []


async def test_redacted_secrets_are_not_searchable(api, make_key, runtime):
    key = await make_key("acme")
    payload = copy.deepcopy(fixture("openai_chat_tool_calls"))
    payload["messages"][0]["content"] = "my api_key is in the header, mail me at jane.doe@example.com"
    payload["api_key"] = "sk-live-0123456789abcdef"
    assert (await api.post("/api/v1/logs", json=log("RD-1", payload, 1), headers=H(key))).status_code == 200
    assert await tickets(api, key, q="sk-live-0123") == []
    assert await tickets(api, key, q="album with the most tracks") == ["RD-1"]


async def test_backfill_derives_the_columns_of_logs_stored_before_them(api, make_key, runtime):
    """Rows from before migration 0003 hold NULL; `logger-app search backfill` fills them."""
    from sqlalchemy import select, update

    from logger_app.db.models import WorkflowLog
    from logger_app.services.ingest.backfill import backfill

    key = await seeded(api, make_key)
    old = log("OLD-1", fixture("react_llamaindex"), 9, metrics={"confidence": 0.5})
    assert (await api.post("/api/v1/logs", json=old, headers=H(key))).status_code == 200
    async with runtime.db.writer.begin() as conn:
        await conn.execute(update(WorkflowLog).values(tools=None, error_types=None, models=None, search_text=None, iterations=None,
                                                      first_error=None, tokens=None, derive_version=None))
    assert await tickets(api, key, q="Greatest Hits") == []
    assert await backfill(runtime.db, batch=4) == len(LOGS) + 1
    assert await backfill(runtime.db) == 0  # nothing left: resumable, idempotent
    assert await tickets(api, key, q="Greatest Hits") == ["ORD-1001-a"]
    assert await tickets(api, key, q="返金") == ["SUP-78"]
    assert await tickets(api, key, tool="track_parcel") == ["ORD-1001-b"]
    async with runtime.db.read() as session:
        iterations = (await session.execute(select(WorkflowLog.iterations).where(WorkflowLog.ticket_id == "OLD-1"))).scalar_one()
    assert iterations == 2


async def test_backfill_fills_first_error_and_tokens_of_rows_searchable_before_them(api, make_key, runtime):
    """Rows from between migrations 0003 and 0006 have search text but no first_error/tokens."""
    from sqlalchemy import select, update

    from logger_app.db.models import WorkflowLog
    from logger_app.services.ingest.backfill import backfill
    from logger_app.services.ingest.derive import DERIVE_VERSION

    await seeded(api, make_key)
    async with runtime.db.read() as session:
        rows = (await session.execute(select(WorkflowLog.ticket_id, WorkflowLog.first_error, WorkflowLog.tokens))).all()
    before = {t: (e, n) for t, e, n in rows}
    assert any(e for e, _ in before.values()) and any(n for _, n in before.values())  # the fixtures have errors and usage
    async with runtime.db.writer.begin() as conn:
        await conn.execute(update(WorkflowLog).values(first_error=None, tokens=None, derive_version=None))
    assert await backfill(runtime.db, batch=3) == len(LOGS)
    async with runtime.db.read() as session:
        after = {t: (e, n, v) for t, e, n, v in (await session.execute(
            select(WorkflowLog.ticket_id, WorkflowLog.first_error, WorkflowLog.tokens, WorkflowLog.derive_version))).all()}
    assert {t: (e, n) for t, (e, n, _) in after.items()} == before
    assert {v for _, _, v in after.values()} == {DERIVE_VERSION}
    assert await backfill(runtime.db) == 0


async def test_walking_the_scope_gives_the_index_answer(api, make_key, monkeypatch, runtime):
    """Common words and 1-2 character queries are answered by walking the scope newest first
    (services/read/search_walk.py); page by page that must be exactly the index's answer."""
    from logger_app.db import search_index
    from logger_app.services.read import search_walk

    async def admit_all(principal) -> None:
        return None

    monkeypatch.setattr(runtime.read_rate_limiter, "admit", admit_all)  # many small pages
    key = await make_key("acme")
    words = ["refund", "Refund due", "shipping", "返金 refund", "ok"]
    logs = [log(f"W-{i:03d}", {"final_answer": words[i % 5] + f" #{i}"}, i % 40, status="ERROR" if i % 3 else "SUCCESS")
            for i in range(90)]
    assert (await api.post("/api/v1/logs/batch", json={"logs": logs}, headers=H(key))).status_code == 200

    async def walk(params: dict) -> list[str]:
        seen, cursor = [], None
        while True:
            page = (await api.get("/api/v1/logs", params={**params, "limit": 7, **({"cursor": cursor} if cursor else {})},
                                  headers=H(key))).json()
            assert "items" in page and len(page["items"]) <= 7, page
            seen += [i["ticket_id"] for i in page["items"]]
            if not (cursor := page["next_cursor"]):
                return seen

    queries = [{"q": "refund"}, {"q": "REFUND", "status": "error"}, {"q": "ok"}, {"q": "#1"}, {"q": "返金"},
               {"q": "shipping", "to": (BASE + timedelta(minutes=20)).isoformat()}, {"q": "nowhere"}]
    expected = [await walk(params) for params in queries]  # the index: every word is rare here
    assert expected[0] and expected[2] and len(set(expected[0])) == len(expected[0])
    monkeypatch.setattr(search_index, "RARE", 1)  # every word is common now
    monkeypatch.setattr(search_walk, "PROBE_ROWS", 12)
    monkeypatch.setattr(search_walk, "SHORT_ROWS", 9)
    assert [await walk(params) for params in queries] == expected


async def test_the_backfill_command_and_demo_logs_are_searchable(cli, app_env):
    """`logger-app demo` stores through the writer's insert; `search backfill` then has nothing to do,
    and the demo's words are found through the index (the FTS5 trigger ran for the multi-row insert)."""
    from logger_app.db.engine import create_database
    from logger_app.services.access.principal import Principal
    from logger_app.services.public_ids import PublicIds
    from logger_app.services.read import queries
    from logger_app.services.read.scope import LogFilters

    assert cli("demo", "--logs", "60").returncode == 0
    result = cli("search", "backfill")
    assert result.returncode == 0 and "of 0 logs" in result.stdout
    db = create_database(app_env.database_url, 5)
    try:
        page = await queries.list_logs(db, PublicIds.from_secret("x"), Principal.admin(), LogFilters(q="I should use"), 200)
    finally:
        await db.dispose()
    assert len(page["items"]) == 60 and all(i["match"]["match"] == "I should use" for i in page["items"])


async def test_an_otlp_trace_that_grows_keeps_its_search_columns_true(api, make_key, runtime):
    """OTLP merges later exports of a trace into its stored row (an UPDATE of every column): the
    derived columns and the index must follow, and always equal a fresh derivation of the row."""
    from sqlalchemy import select

    from logger_app.db.models import WorkflowLog
    from logger_app.services.ingest.derive import DERIVED_COLUMNS, derived
    from tests.support.otel import ANSWER, agent_spans, body, headers

    key = await make_key("acme")
    spans = agent_spans("OT-5")
    children, root = [s for s in spans if s.parent is not None], [s for s in spans if s.parent is None]
    for part in (children[:2], children[2:], root):
        r = await api.post("/v1/traces", content=body(part), headers=headers(key))
        assert r.status_code == 200, r.text
        async with runtime.db.read() as session:
            (row,) = (await session.execute(select(WorkflowLog.__table__))).mappings().all()
        fresh = derived(dict(row))
        for column in DERIVED_COLUMNS:
            # The same values; JSONB hands keys back in its own order, so the text's lines may be
            # in another order on PostgreSQL.
            if isinstance(fresh[column], int):
                assert row[column] == fresh[column], column
                continue
            assert sorted((row[column] or "").split("\n")) == sorted((fresh[column] or "").split("\n")), column
    assert await tickets(api, key, q="OT-5") == ["OT-5"]  # the ticket id arrived with the root span
    assert await tickets(api, key, q=ANSWER[-20:]) == ["OT-5"]


async def test_a_search_index_with_positions_is_converted_and_still_finds_everything(tmp_path):
    """A SQLite file from before migration 0007 (FTS5 with token positions, filled by its triggers)
    is converted at start-up: the same searches find the same logs, and later logs are indexed."""
    import asyncio

    from alembic import command
    from sqlalchemy import insert, text

    from logger_app.db.engine import create_database
    from logger_app.db.migrate import alembic_config, upgrade
    from logger_app.db.models import WorkflowLog
    from logger_app.services.access.principal import Principal
    from logger_app.services.ingest.validation import normalise_log
    from logger_app.services.public_ids import PublicIds
    from logger_app.services.read import queries
    from logger_app.services.read.scope import LogFilters

    url = f"sqlite+aiosqlite:///{tmp_path}/old.db"
    await asyncio.to_thread(command.upgrade, alembic_config(url), "0006_triage")
    rows = [normalise_log(log(f"OLD-{i}", payload, i), "acme", BASE) for i, payload in enumerate(
        [fixture("openai_chat_tool_calls"), japanese_refund(), {"note": "a Refund please"}, {"note": "refu fund"}])]

    async def found(db, q: str) -> list[str]:
        page = await queries.list_logs(db, PublicIds.from_secret("x"), Principal.admin(), LogFilters(q=q), 50)
        return sorted(item["ticket_id"] for item in page["items"])

    db = create_database(url, 10.0)
    async with db.writer.begin() as conn:
        await conn.execute(insert(WorkflowLog), rows)
    before = {q: await found(db, q) for q in ("refund", "返金は", "ВОЗВРАТ", "weather")}
    await db.dispose()
    await upgrade(url)
    db = create_database(url, 10.0)
    try:
        async with db.read() as session:
            sql = (await session.execute(text("SELECT sql FROM sqlite_master WHERE name = 'log_search'"))).scalar_one()
        assert "detail=none" in sql
        assert {q: await found(db, q) for q in before} == before
        assert before["refund"] == ["OLD-2"]  # "refu fund" has every trigram of it, not the word
        async with db.writer.begin() as conn:
            await conn.execute(insert(WorkflowLog), [normalise_log(log("NEW-1", {"note": "refund now"}, 9), "acme", BASE)])
        assert await found(db, "refund") == ["NEW-1", "OLD-2"]
    finally:
        await db.dispose()
