"""The dashboard names logs by public id too: table rows, links, the detail URL, exports, downloads.
Old integer URLs work for admins (redirected to the public one) and are "not found" for client users."""

from __future__ import annotations

import csv
import io
import json
import re

from nicegui import ui

from logger_app.services.public_ids import PublicIds
from tests.support.data import STORAGE_SECRET, add_logs, make_log
from tests.support.pages import CLIENT_PASSWORD, client_user, eventually, login, table_rows

SHAPE = re.compile(r"log_[0-9a-f]{16}")


def row_id(public: str) -> int:
    return PublicIds.from_secret(STORAGE_SECRET).decode(public)


def links(user) -> list[str]:
    with user:
        return [e.props.get("href") for e in user.find(kind=ui.link).elements]


async def test_table_rows_links_and_exports_carry_public_ids(user, db):
    ids = await add_logs(db, "acme", [make_log(f"T-{i}", status="ERROR", minutes_ago=i) for i in range(3)])
    await login(user)
    await user.open("/logs")
    assert [r["id"] for r in table_rows(user)] == ids
    csv_rows = list(csv.DictReader(io.StringIO((await user.http_client.get("/export/logs.csv")).text)))
    assert [r["id"] for r in csv_rows] == ids
    lines = (await user.http_client.get("/export/logs.jsonl")).text.splitlines()
    assert [json.loads(line)["id"] for line in lines] == ids
    raw = await user.http_client.get(f"/export/log/{ids[0]}.json")
    assert raw.json()["id"] == ids[0] and f'filename="{ids[0]}.json"' in raw.headers["content-disposition"]
    await user.open("/")
    await eventually(lambda: f"/logs/{ids[0]}" in links(user), timeout=5)  # most recent errors
    assert all(SHAPE.fullmatch(h.rsplit("/", 1)[1]) for h in links(user) if h.startswith("/logs/"))


async def test_other_runs_link_by_public_id(user, db):
    first, second = await add_logs(db, "acme", [make_log("TWICE", minutes_ago=1), make_log("TWICE")])
    await login(user)
    await user.open(f"/logs/{first}")
    await user.should_see("Other runs of this ticket")
    assert f"/logs/{second}" in links(user)


async def test_admins_old_integer_url_redirects_to_the_public_one(user, db):
    [public] = await add_logs(db, "acme", [make_log("LEGACY")])
    await login(user)
    resp = await user.http_client.get(f"/logs/{row_id(public)}")
    assert resp.status_code in (302, 307) and resp.headers["location"] == f"/logs/{public}"
    await user.open(f"/logs/{public}")
    await user.should_see("LEGACY")


async def test_client_users_cannot_use_integer_ids(user, db):
    [public] = await add_logs(db, "acme", [make_log("MINE")])
    await client_user(db, "acme-user", "acme")
    await login(user, "acme-user", CLIENT_PASSWORD)
    await user.open(f"/logs/{row_id(public)}")  # their own log, but by its place in the shared sequence
    await user.should_see("Ticket not found")
    await user.should_not_see("MINE")
    assert (await user.http_client.get(f"/export/log/{row_id(public)}.json")).status_code == 404
    await user.open(f"/logs/{public}")
    await user.should_see("MINE")


async def test_a_row_click_with_a_forged_id_goes_nowhere(user, db):
    [public] = await add_logs(db, "acme", [make_log("CLICK")])
    await login(user)
    await user.open("/logs")
    history = list(user.back_history)
    user.find(marker="logs-table").trigger("rowClick", [{}, {"id": "javascript:alert(1)"}, 0])
    user.find(marker="logs-table").trigger("rowClick", [{}, {"id": 1}, 0])
    user.find(marker="logs-table").trigger("rowClick", [{}, table_rows(user)[0], 0])
    await eventually(lambda: user.back_history[-1] == f"/logs/{public}")
    assert user.back_history[len(history):] == [f"/logs/{public}"]
