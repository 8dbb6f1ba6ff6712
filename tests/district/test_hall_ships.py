"""The hall's shipper (server/shipper.py) against the real district server (district/) over a real socket: the
events arrive in order and once, a replay changes nothing, a revoked token is refused at once and never shown."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from district.models import DistrictHall
from server.clock import ManualClock
from server.queue import QueueEngine
from server.shipper import BAD_TOKEN, REFUSED_RETRY, Shipper
from tests.district.conftest import TOKENS, store
from tests.live import free_port
from tests.unit.test_shipper import INTERVAL, hall_ids, issue, shipper_to

CODE = "dongcheng"


@pytest.fixture
def served(district_app: Flask) -> Iterator[str]:
    """The district, its halls registered, on a free port."""
    store(district_app).register()
    port = free_port()
    server = make_server("127.0.0.1", port, district_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join()


def to_district(url: str, engine: QueueEngine, clock: ManualClock, folder: Path) -> Shipper:
    return shipper_to(url, engine, clock, folder, batch_events=3, token=TOKENS[CODE], code=CODE)


def district_through(app: Flask) -> int:
    with store(app).write() as session:
        return session.scalars(select(DistrictHall.through).where(DistrictHall.code == CODE)).one()


def test_the_hall_ships_to_the_district(engine: QueueEngine, clock: ManualClock, tmp_path: Path, served: str,
                                        district_app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    issue(engine, 7)
    shipper = to_district(served, engine, clock, tmp_path)
    while shipper.step() == 0:
        pass
    assert shipper.through == district_through(district_app) == hall_ids(engine)[-1]
    shipper.through = 0  # the answer was lost: sent again, filed once
    clock.advance(seconds=INTERVAL)
    assert shipper.step() == 0 and district_through(district_app) == hall_ids(engine)[-1]
    store(district_app).revoke(CODE)
    issue(engine, 1)
    clock.advance(seconds=INTERVAL)
    assert shipper.step() == REFUSED_RETRY and shipper.last_error == BAD_TOKEN
    assert TOKENS[CODE] not in caplog.text + json.dumps(shipper.state())
