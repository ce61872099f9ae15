"""LOGGER_MAX_BYTES_IN_FLIGHT (services/ingest/in_flight.py): a process holds at most so many
request-body bytes between reading and commit; a body past it while others are held gets 503 +
Retry-After (which clients retry), and is admitted once the others are answered."""

from __future__ import annotations

import asyncio
import json

from tests.support.data import H

LOG = {"ticket_id": "T-1", "status": "SUCCESS", "payload": {"note": "x" * 200}}


def batch(n: int) -> bytes:
    return json.dumps({"logs": [{**LOG, "ticket_id": f"T-{i}"} for i in range(n)]}).encode()


async def test_a_body_past_the_bytes_in_flight_waits_for_the_others(api, make_key, runtime):
    key = await make_key("acme")
    runtime.in_flight.limit = 4096
    held, other = batch(12), batch(12)  # ~3 KB each: one fits, two do not
    assert 2048 < len(held) < 4096 and len(held) + len(other) > 4096
    release = asyncio.Event()

    async def trickled():  # the first request's body arrives in two parts, the second when released
        yield held[:100]
        await release.wait()
        yield held[100:]

    first = asyncio.create_task(api.post("/api/v1/logs/batch", content=trickled(),
                                         headers={**H(key), "Content-Type": "application/json", "Content-Length": str(len(held))}))
    for _ in range(200):
        if runtime.in_flight.held:
            break
        await asyncio.sleep(0.01)
    assert runtime.in_flight.held == len(held)  # reserved from its Content-Length, before it all arrived

    refused = await api.post("/api/v1/logs/batch", content=other, headers={**H(key), "Content-Type": "application/json"})
    assert refused.status_code == 503 and int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"]["code"] == "overloaded"
    assert refused.json()["error"]["details"][0]["field"] == "body"
    export = b'{"resourceSpans": []}' + b" " * 3000  # OTLP is held to the same budget
    otlp = await api.post("/v1/traces", content=export, headers={**H(key), "Content-Type": "application/json"})
    assert otlp.status_code == 503 and int(otlp.headers["retry-after"]) >= 1
    small = await api.post("/api/v1/logs", json=LOG, headers=H(key))  # what still fits gets in meanwhile
    assert small.status_code == 200

    release.set()
    assert (await first).status_code == 200
    assert runtime.in_flight.held == 0  # answered, refused and stored requests all gave their bytes back
    again = await api.post("/api/v1/logs/batch", content=other, headers={**H(key), "Content-Type": "application/json"})
    assert again.status_code == 200
    # Alone, a body bigger than the budget is admitted: any body within the size limits gets through.
    runtime.in_flight.limit = 1024
    assert (await api.post("/api/v1/logs/batch", content=other, headers={**H(key), "Content-Type": "application/json"})).status_code == 200
    listed = (await api.get("/api/v1/logs", params={"limit": 100}, headers=H(key))).json()["items"]
    assert len(listed) == 12 + 1 + 12 + 12  # the refused batch stored nothing


def test_freed_memory_is_handed_back_when_no_body_is_held():
    from logger_app.services.ingest.in_flight import BytesInFlight

    trims: list[int] = []
    budget = BytesInFlight(4096, trim=lambda: trims.append(1))
    first, second = budget.reservation(), budget.reservation()
    first.take(1000)
    second.take(1000)
    first.close()
    assert trims == []  # the other body is still held
    second.close()
    assert trims == [1] and budget.held == 0
    third = budget.reservation()
    third.take(10)
    third.close()
    assert trims == [1]  # at most every TRIM_EVERY_SECONDS
