"""A hall's batches over HTTP (Flask's test client) into the district: filed once whatever is replayed, a gap
answered 409 with where to restart, each token writing only its own hall, a revoked one refused at once, a
malformed batch refused whole; the replica's rows are the hall's, less what never leaves the hall."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from district.replica import ReplicaStorage
from server.clock import ManualClock
from server.hall import Hall, Settings
from server.models import TicketEvent
from server.shipment import EVENTS, TABLES, Batch, Gaps, collect, figures_config
from tests.district.conftest import TOKENS, store
from tests.district.test_shipment import ROOT, _busy_day

CODE = "dongcheng"


@pytest.fixture
def registered(district_app: Flask) -> Flask:
    """The district with its halls registered, as `hallq district init` leaves it."""
    store(district_app).register()
    return district_app


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[Hall]:
    clock = ManualClock(datetime(2026, 12, 7, 1, 0, tzinfo=UTC))
    hall = Hall.open(Settings(ROOT / "config.toml", tmp_path / "instance", f"sqlite:///{tmp_path / 'hall.db'}", clock))
    _busy_day(hall, clock, random.Random(1907))
    yield hall
    hall.storage.dispose()


def batches(hall: Hall, limit: int, code: str = CODE) -> list[dict[str, Any]]:
    """Every batch of the hall's day from the start, as the hall's shipper sends them."""
    config, gaps, bodies, after = figures_config(ROOT / "config.toml"), Gaps(), [], 0
    while True:
        with hall.storage.read() as session:
            batch = collect(session, hall=code, config=config, after=after, limit=limit,
                            now=hall.settings.clock.now(), gaps=gaps, zone=hall.config.timezone)
        bodies.append(batch.to_json())
        if batch.through == after:
            return bodies
        after = batch.through


def shipper(app: Flask, code: str = CODE) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {TOKENS[code]}"
    return client


def ship(client: FlaskClient, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    answer = client.post("/district/api/v1/events", data=json.dumps(body), content_type="application/json")
    return answer.status_code, answer.json


def _rows(session: Any, name: str) -> list[dict[str, Any]]:
    shipped = TABLES[name]
    key = shipped.table.primary_key.columns.values()[0]
    return [dict(row._mapping) for row in session.execute(select(*(shipped.table.c[c] for c in shipped.columns),
                                                                 *(shipped.table.c[c] for c in shipped.blanks))
                                                          .order_by(key))]


def test_replayed_batches_file_each_event_once_and_the_replica_is_the_hall(registered: Flask, hall: Hall) -> None:
    bodies = batches(hall, 40)
    assert len(bodies) > 5
    applied: list[tuple[str, int]] = []
    store(registered).on_applied.append(lambda code, batch: applied.append((code, batch.through)))
    client, luck, through = shipper(registered), random.Random(3), 0
    for k, body in enumerate(bodies):
        status, answer = ship(client, body)
        assert status == 200 and answer["through"] == body["through"] >= through
        through = answer["through"]
        replay = luck.choice(bodies[:k + 1])  # a batch sent again (a lost answer, a restarted shipper)
        assert ship(client, replay) == (200, answer)
    assert [t for _, t in applied] == [b["through"] for b in bodies[:-1]]  # once each; the empty last changes nothing
    assert client.get("/district/api/v1/events/through").json == {"through": through, "as_of": bodies[-1]["as_of"]}

    replica = ReplicaStorage(store(registered).engine, CODE)
    with hall.storage.read() as ours, replica.read() as theirs:
        assert theirs.scalar(select(func.count()).select_from(TicketEvent)) == \
            ours.scalar(select(func.count()).select_from(TicketEvent)) == through
        assert [dict(r._mapping) for r in theirs.execute(select(EVENTS).order_by(EVENTS.c.id))] == \
            [dict(r._mapping) for r in ours.execute(select(EVENTS).order_by(EVENTS.c.id))]
        for name, shipped in TABLES.items():
            mine, replicated = _rows(ours, name), _rows(theirs, name)
            assert len(mine) == len(replicated) and (mine or name in ("cases", "extended_services")), name
            for row in mine:
                row.update(shipped.blanks)  # the tracking key, the complainant, the password stay at the hall
            assert replicated == mine, name
    halls = {h.code: h for h in store(registered).halls()}
    assert halls[CODE].through == through and halls[CODE].last_seen_at is not None
    assert halls["xishan"].through == 0 and halls["xishan"].last_seen_at is None


def test_a_gap_is_answered_with_where_to_restart(registered: Flask, hall: Hall) -> None:
    bodies, client = batches(hall, 30), shipper(registered)
    assert ship(client, bodies[0])[0] == 200
    status, answer = ship(client, bodies[2])  # the second batch was lost
    assert status == 409 and answer["error"]["code"] == "gap" and answer["through"] == bodies[0]["through"]
    assert "重发" in answer["error"]["message"]
    assert ship(client, bodies[1])[1]["through"] == bodies[1]["through"]
    assert ship(client, bodies[2])[1]["through"] == bodies[2]["through"]


def test_a_token_writes_only_its_own_hall_and_a_revoked_one_stops_at_once(registered: Flask, hall: Hall) -> None:
    first = batches(hall, 30)[0]
    status, answer = ship(shipper(registered, "xishan"), first)  # xishan's token, dongcheng's batch
    assert (status, answer["error"]["code"]) == (403, "wrong_hall")
    assert ship(shipper(registered, "xishan"), {**first, "hall": "xishan"})[0] == 200
    for header in ("", "Bearer ", "Basic abc", "Bearer not-a-token-of-any-hall-at-all"):
        answer = registered.test_client().post("/district/api/v1/events", json=first,
                                               headers={"Authorization": header} if header else {})
        assert (answer.status_code, answer.json["error"]["code"]) == (401, "bad_token"), header
    assert store(registered).revoke(CODE) == 1
    status, answer = ship(shipper(registered), first)
    assert (status, answer["error"]["code"]) == (401, "bad_token") and "吊销" in answer["error"]["message"]
    assert shipper(registered).get("/district/api/v1/events/through").status_code == 401
    assert {h.code: h.revoked for h in store(registered).halls()} == {"dongcheng": True, "xishan": False}


@pytest.mark.parametrize(("spoil", "code"), [
    (lambda body: "not json", "bad_json"),
    (lambda body: [body], "bad_json"),
    (lambda body: {**body, "after": "0"}, "bad_batch"),
    (lambda body: {**body, "events": body["events"][::-1]}, "bad_order"),
    (lambda body: {**body, "rows": {**body["rows"], "tickets": [{"id": 1}]}}, "bad_row"),
    (lambda body: {**body, "rows": {**body["rows"], "tickets": [{**body["rows"]["tickets"][0], "id": "x"}]}},
     "bad_row"),
])
def test_a_malformed_batch_is_refused_whole(registered: Flask, hall: Hall, spoil: Any, code: str) -> None:
    body = batches(hall, 30)[0]
    spoilt = spoil(body)
    answer = shipper(registered).post("/district/api/v1/events", content_type="application/json",
                                      data=spoilt if isinstance(spoilt, str) else json.dumps(spoilt))
    assert (answer.status_code, answer.json["error"]["code"]) == (400, code)
    assert answer.json["error"]["message"]
    assert shipper(registered).get("/district/api/v1/events/through").json == {"through": 0, "as_of": 0}
    with ReplicaStorage(store(registered).engine, CODE).read() as session:
        assert session.scalar(select(func.count()).select_from(TicketEvent)) == 0


def test_a_body_over_8_mb_is_refused_unread(registered: Flask, hall: Hall) -> None:
    body = batches(hall, 30)[0]
    body["sent_at"] = "x" * (8 * 1024 * 1024)
    status, answer = ship(shipper(registered), body)
    assert (status, answer["error"]["code"]) == (413, "too_large")
    assert Batch.from_json(batches(hall, 30)[0]).hall == CODE  # the same batch, of its usual size, is fine
