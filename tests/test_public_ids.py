"""Log ids are opaque: a client cannot count other clients' logs from the ids it is given.

Row ids are one global sequence; the API, pages and exports name logs by a keyed permutation of it
(services/public_ids.py). API tests run on SQLite and PostgreSQL; dashboard ones are in
pages/test_public_ids.py."""

from __future__ import annotations

import base64
import hmac
import json
import random
import re

import pytest

from logger_app.services.errors import ValidationFailed
from logger_app.services.public_ids import MAX_ROW_ID, PublicIds, is_public_id
from tests.support.data import STORAGE_SECRET, H

SHAPE = re.compile(r"log_[0-9a-f]{16}")
MALFORMED = ["", "log_", "log_123", "log_0123456789abcdeg", "log_0123456789ABCDEF", "LOG_0123456789abcdef",
             "lg_0123456789abcdef", "log_0123456789abcdef0", "log_0123456789abcde", "log_0123456789abcdef\n",
             " log_0123456789abcdef", "log-0123456789abcdef", "log_٠١٢٣٤٥٦٧٨٩abcdef", "0123456789abcdef", "12", "true"]


# --- the codec -----------------------------------------------------------------------------------
def test_ids_round_trip_and_have_one_fixed_shape():
    ids = PublicIds.from_secret("s")
    rng = random.Random(7)
    for row_id in [1, 2, 3, 2**32 - 1, 2**32, MAX_ROW_ID] + [rng.randint(1, MAX_ROW_ID) for _ in range(2000)]:
        public = ids.encode(row_id)
        assert SHAPE.fullmatch(public) and is_public_id(public)
        assert ids.decode(public) == row_id


def test_ids_depend_on_the_secret_and_nothing_else():
    one, again, other = PublicIds.from_secret("s"), PublicIds.from_secret("s"), PublicIds.from_secret("t")
    assert [one.encode(i) for i in range(1, 50)] == [again.encode(i) for i in range(1, 50)]  # every process agrees
    assert all(one.encode(i) != other.encode(i) for i in range(1, 50))


def test_consecutive_rows_get_unrelated_ids():
    ids = PublicIds.from_secret("s")
    blocks = [int(ids.encode(i)[4:], 16) for i in range(1, 201)]
    assert blocks != sorted(blocks) and blocks != sorted(blocks, reverse=True)
    gaps = {b - a for a, b in zip(blocks, blocks[1:])}
    assert len(gaps) == len(blocks) - 1  # no constant stride to count by
    # Each output bit flips for about half of the neighbours (a counter would flip only low bits).
    flips = [sum((a ^ b) >> bit & 1 for a, b in zip(blocks, blocks[1:])) for bit in range(64)]
    assert all(50 < f < 150 for f in flips), flips


@pytest.mark.parametrize("text", MALFORMED + [None, 7, b"log_0123456789abcdef"])
def test_malformed_ids_are_validation_errors_naming_the_field(text):
    with pytest.raises(ValidationFailed) as err:
        PublicIds.from_secret("s").decode(text, "id")
    assert [d.field for d in err.value.details] == ["id"]


def test_well_formed_ids_that_name_no_possible_row_decode_to_none():
    ids = PublicIds.from_secret("s")
    rng = random.Random(1)
    decoded = [ids.decode(f"log_{rng.getrandbits(64):016x}") for _ in range(200)]
    assert None in decoded  # about half of all blocks map beyond BIGINT
    assert all(d is None or 1 <= d <= MAX_ROW_ID for d in decoded)


def test_the_round_function_is_hmac_sha256():
    ids = PublicIds.from_secret("s")
    key = hmac.digest(b"s", b"\xffcentral-logger public log id v1", "sha256")
    for index in range(6):
        round_key = hmac.digest(key, b"round %d" % index, "sha256")
        for half in (0, 1, 0xDEADBEEF, 0xFFFFFFFF):
            expected = int.from_bytes(hmac.digest(round_key, half.to_bytes(4, "big"), "sha256")[:4], "big")
            assert ids._f(index, half) == expected  # noqa: SLF001


# --- through the API -----------------------------------------------------------------------------
def integer_ids(value, path="") -> list[str]:
    """Paths of every `id` in a response that is not a public id (an integer, say)."""
    found = []
    if isinstance(value, dict):
        for key, child in value.items():
            if key == "id" and not (isinstance(child, str) and SHAPE.fullmatch(child)):
                found.append(f"{path}.id={child!r}")
            found += integer_ids(child, f"{path}.{key}")
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += integer_ids(child, f"{path}[{index}]")
    return found


def numbers_in(value) -> list:
    if isinstance(value, bool) or isinstance(value, (int, float)):
        return [value]
    if isinstance(value, dict):
        return [n for child in value.values() for n in numbers_in(child)]
    if isinstance(value, list):
        return [n for child in value for n in numbers_in(child)]
    return []


def unb64(cursor: str):
    return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))


async def test_a_clients_ids_reveal_nothing_about_other_clients_logs(api, make_key):
    a, b = await make_key("acme"), await make_key("globex")
    mine = []
    for round_ in range(10):
        resp = await api.post("/api/v1/logs", json={"ticket_id": f"A-{round_}", "status": "SUCCESS"}, headers=H(a))
        assert not integer_ids(resp.json()), resp.json()
        mine.append(resp.json()["id"])
        # Between A's logs, B stores a varying number of its own.
        batch = {"logs": [{"ticket_id": f"B-{round_}-{i}", "status": "SUCCESS"} for i in range(round_ % 3 + 1)]}
        assert (await api.post("/api/v1/logs/batch", json=batch, headers=H(b))).status_code == 200
    for public in mine:
        assert not public.lstrip("-").isdigit()
        with pytest.raises(ValueError):
            int(public)
    # The only arithmetic a client can do on them shows no order and no gap to count.
    blocks = [int(p[4:], 16) for p in mine]
    assert blocks != sorted(blocks) and blocks != sorted(blocks, reverse=True)
    assert sorted(mine) != mine


async def test_no_integer_id_leaves_the_api_not_even_in_a_cursor(api, make_key):
    a, admin = await make_key("acme"), await make_key(None)
    responses = [await api.post("/api/v1/logs", json={"ticket_id": "ONE", "status": "SUCCESS"}, headers=H(a))]
    logs = [{"ticket_id": f"T-{i}", "status": "ERROR" if i % 2 else "SUCCESS"} for i in range(7)]
    responses.append(await api.post("/api/v1/logs/batch", json={"logs": logs}, headers=H(a)))
    partial = await api.post("/api/v1/logs/batch", json={"logs": [logs[0], {"status": "SUCCESS"}]}, headers=H(a))
    assert partial.status_code == 207
    responses.append(partial)
    cursors = []
    for key in (a, admin):
        cursor = None
        while True:
            page = await api.get("/api/v1/logs", params={"limit": 3, **({"cursor": cursor} if cursor else {})},
                                 headers=H(key))
            responses.append(page)
            cursor = page.json()["next_cursor"]
            if not cursor:
                break
            cursors.append(cursor)
    listed = [i["id"] for i in responses[-1].json()["items"]]
    for public in listed:
        responses.append(await api.get(f"/api/v1/logs/{public}", headers=H(a)))
    for resp in responses:
        assert resp.status_code in (200, 207) and not integer_ids(resp.json()), resp.text
    assert len(cursors) >= 4
    for cursor in cursors:
        decoded = unb64(cursor)
        assert numbers_in(decoded) == [] and all(isinstance(part, str) for part in decoded), decoded


async def test_ids_name_the_same_log_everywhere(api, make_key):
    a = await make_key("acme")
    posted = (await api.post("/api/v1/logs", json={"ticket_id": "SAME", "status": "SUCCESS"}, headers=H(a))).json()
    again = await api.post("/api/v1/logs", json={"ticket_id": "SAME", "status": "SUCCESS", "idempotency_key": "k"},
                           headers=H(a))
    duplicate = await api.post("/api/v1/logs", json={"ticket_id": "SAME", "status": "SUCCESS", "idempotency_key": "k"},
                               headers=H(a))
    assert duplicate.json() == {"id": again.json()["id"], "duplicate": True}
    items = (await api.get("/api/v1/logs", params={"ticket_id": "SAME"}, headers=H(a))).json()["items"]
    assert posted["id"] in [i["id"] for i in items]
    assert (await api.get(f"/api/v1/logs/{posted['id']}", headers=H(a))).json()["id"] == posted["id"]


async def test_integer_ids_are_refused_for_client_keys_and_still_work_for_admins(api, make_key, runtime):
    from logger_app.services.retention import audit_events

    a, admin = await make_key("acme"), await make_key(None)
    public = (await api.post("/api/v1/logs", json={"ticket_id": "OLD", "status": "SUCCESS"}, headers=H(a))).json()["id"]
    row_id = runtime.public_ids.decode(public)
    # A client may not probe the sequence: an integer is malformed for it (400), whether its own log or not.
    for ref in (str(row_id), str(row_id + 1), "1"):
        resp = await api.get(f"/api/v1/logs/{ref}", headers=H(a))
        assert resp.status_code == 400 and resp.json()["error"]["details"][0]["field"] == "log_id"
    # Admins see every client anyway; their old bookmarks and scripts keep working, answered by public id.
    got = await api.get(f"/api/v1/logs/{row_id}", headers=H(admin))
    assert got.status_code == 200 and got.json()["id"] == public and got.json()["ticket_id"] == "OLD"
    assert (await api.get("/api/v1/logs/0", headers=H(admin))).status_code == 404
    assert (await api.get(f"/api/v1/logs/{'9' * 20}", headers=H(admin))).status_code == 400
    assert (await api.delete(f"/api/v1/logs/{row_id}", headers=H(admin))).json() == {"deleted": 1}
    assert (await api.get(f"/api/v1/logs/{public}", headers=H(admin))).status_code == 404
    assert ("delete_log", public) in [(e.action, e.target) for e in await audit_events(runtime.db)]


@pytest.mark.parametrize("method", ["get", "delete"])
async def test_malformed_path_ids_are_400_naming_log_id(api, make_key, method):
    key = await make_key(None if method == "delete" else "acme")
    for ref in [m for m in MALFORMED if m and "/" not in m and m.strip() == m and not m.isdigit()]:
        resp = await api.request(method.upper(), f"/api/v1/logs/{ref}", headers=H(key))
        assert resp.status_code == 400, (ref, resp.text)
        assert resp.json()["error"]["details"][0]["field"] == "log_id"


async def test_a_well_formed_unknown_id_is_404_like_another_clients(api, make_key):
    a, b = await make_key("acme"), await make_key("globex")
    theirs = (await api.post("/api/v1/logs", json={"ticket_id": "B", "status": "SUCCESS"}, headers=H(b))).json()["id"]
    unknown = PublicIds.from_secret(STORAGE_SECRET).encode(10**12)
    foreign, missing = (await api.get(f"/api/v1/logs/{theirs}", headers=H(a)),
                        await api.get(f"/api/v1/logs/{unknown}", headers=H(a)))
    assert foreign.status_code == missing.status_code == 404 and foreign.json() == missing.json()


async def test_openapi_declares_ids_as_patterned_strings(api):
    spec = (await api.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    for name in ("IngestResult", "LogListItem", "LogFull"):
        prop = schemas[name]["properties"]["id"]
        assert prop["type"] == "string" and prop["pattern"] == "^log_[0-9a-f]{16}$", (name, prop)
    item_id = schemas["BatchItemResult"]["properties"]["id"]
    assert {"type": "string", "pattern": "^log_[0-9a-f]{16}$"} in item_id["anyOf"]
    (param,) = spec["paths"]["/api/v1/logs/{log_id}"]["get"]["parameters"]
    assert param["schema"]["type"] == "string" and param["schema"]["pattern"] == "^log_[0-9a-f]{16}$"
