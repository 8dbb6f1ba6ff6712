"""The hall's event log to the district (issue 19, server/shipper.py): in order, each event once, through an
outage, a gap and a refused token, over real HTTP to a district on a free port (tests/wire_district.py), on
SQLite and PostgreSQL, on a manual clock: the backoff is the hall's time, never slept."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from server.clock import ManualClock
from server.config import parse_config
from server.models import TicketEvent
from server.queue import QueueEngine
from server.shipper import BAD_TOKEN, MAX_BACKOFF, REFUSED_RETRY, WRONG_HALL, HttpLink, Shipper
from tests.conftest import SMALL_HALL
from tests.live import free_port
from tests.wire_district import Copy, WireDistrict

TOKEN = "hall-token-Zq8vN3kLr7Tx"
CODE = "zhen-1"
INTERVAL = 5


def linked(url: str, batch_events: int = 500, token: str = TOKEN, code: str = CODE) -> str:
    """The small hall shipping to ``url``."""
    return SMALL_HALL + district_table(url, batch_events, token, code)


def district_table(url: str, batch_events: int = 500, token: str = TOKEN, code: str = CODE) -> str:
    return f"""
[district]
url = "{url}"
token = "{token}"
code = "{code}"
batch_events = {batch_events}
interval_seconds = {INTERVAL}
"""


@pytest.fixture
def district() -> Iterator[WireDistrict]:
    served = WireDistrict({TOKEN: CODE, "other-hall-token": "zhen-2"})
    yield served
    served.close()


def shipper_to(url: str, engine: QueueEngine, clock: ManualClock, folder: Path, **link: int | str) -> Shipper:
    path = folder / "hall.toml"
    path.write_text(linked(url, **link), encoding="utf-8")  # type: ignore[arg-type]
    config = parse_config(path.read_text(encoding="utf-8"))
    return Shipper(engine.storage, config, clock, path, HttpLink(config.district))


def issue(engine: QueueEngine, count: int) -> None:
    for _ in range(count):
        engine.issue("id-card", None, "device:kiosk-1")


def hall_ids(engine: QueueEngine) -> list[int]:
    with engine.storage.read() as session:
        return list(session.scalars(select(TicketEvent.id).order_by(TicketEvent.id)))


def ship_all(shipper: Shipper) -> int:
    """Step until nothing more is due at once; how many steps it took."""
    steps = 1
    while shipper.step() == 0:
        steps += 1
    return steps


def test_batches_go_in_order_and_each_event_arrives_once(engine: QueueEngine, clock: ManualClock, tmp_path: Path,
                                                          district: WireDistrict) -> None:
    issue(engine, 7)
    shipper = shipper_to(district.url, engine, clock, tmp_path, batch_events=3)
    assert ship_all(shipper) == 3  # 3 + 3 + 1 events
    copy = district.copies[CODE]
    assert list(copy.events) == hall_ids(engine) == copy.sent
    assert shipper.through == copy.through == hall_ids(engine)[-1]
    assert copy.as_of == copy.through
    tickets = copy.rows["tickets"]
    assert len(tickets) == 1 and "track_token" not in tickets[0]  # the last batch's one ticket, no tracking key
    assert shipper.state()["behind_events"] == 0 and shipper.last_shipped_at == clock.now()


def test_a_replayed_batch_changes_nothing(engine: QueueEngine, clock: ManualClock, tmp_path: Path,
                                          district: WireDistrict) -> None:
    issue(engine, 4)
    shipper = shipper_to(district.url, engine, clock, tmp_path)
    ship_all(shipper)
    shipped = dict(district.copies[CODE].events)
    shipper.through = 0  # the district's answer was lost: the hall sends the same events again
    clock.advance(seconds=INTERVAL)
    assert shipper.step() == INTERVAL
    copy = district.copies[CODE]
    assert copy.sent == hall_ids(engine) * 2  # sent twice, filed once
    assert copy.events == shipped and shipper.through == copy.through == hall_ids(engine)[-1]


def test_an_outage_is_waited_out_with_a_backoff_and_the_hall_catches_up(engine: QueueEngine, clock: ManualClock,
                                                                         tmp_path: Path) -> None:
    port = free_port()  # nothing listens there: connections are refused, as to a district that is down
    shipper = shipper_to(f"http://127.0.0.1:{port}", engine, clock, tmp_path, batch_events=2)
    issue(engine, 1)
    delays = []
    for _ in range(7):
        delays.append(shipper.step())
        assert shipper.step() == delays[-1]  # not tried again before its time
        clock.advance(seconds=delays[-1])
        issue(engine, 1)  # the hall keeps working
    assert delays == [1, 2, 4, 8, 16, MAX_BACKOFF, MAX_BACKOFF]
    assert shipper.last_error == "无法连接区级服务器（ConnectionError）"
    assert shipper.state()["through"] is None  # the district never said where its copy ends
    district = WireDistrict({TOKEN: CODE}, port)  # the district is back
    try:
        assert ship_all(shipper) == 5  # 8 events, 2 a batch, then nothing more
        assert list(district.copies[CODE].events) == hall_ids(engine) == district.copies[CODE].sent
        assert shipper.last_error is None
        assert shipper.state()["behind_events"] == 0
    finally:
        district.close()


def test_a_district_error_is_backed_off_too(engine: QueueEngine, clock: ManualClock, tmp_path: Path,
                                            district: WireDistrict) -> None:
    issue(engine, 2)
    shipper = shipper_to(district.url, engine, clock, tmp_path)
    district.answer_all = 502
    assert shipper.step() == 1
    clock.advance(seconds=1)
    assert shipper.step() == 2
    assert shipper.last_error == "区级服务器出错（HTTP 502）"
    district.answer_all = None
    clock.advance(seconds=2)
    assert shipper.step() == INTERVAL and list(district.copies[CODE].events) == hall_ids(engine)


def test_a_gap_restarts_from_where_the_district_copy_ends(engine: QueueEngine, clock: ManualClock, tmp_path: Path,
                                                          district: WireDistrict) -> None:
    issue(engine, 3)
    shipper = shipper_to(district.url, engine, clock, tmp_path)
    ship_all(shipper)
    district.copies[CODE] = Copy()  # the district was restored from a backup taken before any of them
    issue(engine, 2)
    assert shipper.step() == 0  # 409 gap: the shipper now knows the district holds nothing
    assert shipper.through == 0 and district.copies[CODE].sent == []
    assert shipper.step() == INTERVAL
    assert list(district.copies[CODE].events) == hall_ids(engine) == district.copies[CODE].sent


@pytest.mark.parametrize(("token", "message"), [("revoked-token-Qm4", BAD_TOKEN), ("other-hall-token", WRONG_HALL)])
def test_a_refused_token_is_tried_once_a_minute_and_never_shown(
        engine: QueueEngine, clock: ManualClock, tmp_path: Path, district: WireDistrict,
        caplog: pytest.LogCaptureFixture, token: str, message: str) -> None:
    caplog.set_level(logging.DEBUG)
    issue(engine, 1)
    shipper = shipper_to(district.url, engine, clock, tmp_path, token=token)
    assert shipper.step() == REFUSED_RETRY
    clock.advance(seconds=REFUSED_RETRY - 1)
    assert shipper.step() == 1 and len(district.authorizations) == (1 if message == BAD_TOKEN else 2)
    assert shipper.last_error == message and district.copies[CODE].events == {}
    assert district.authorizations[0] == f"Bearer {token}"  # the token went to the district, and only there
    state = json.dumps(shipper.state(), ensure_ascii=False)
    assert token not in state and token not in caplog.text and token not in repr(shipper.link)
    assert message in caplog.text


def test_health_says_how_far_behind_the_district_is(engine: QueueEngine, clock: ManualClock, tmp_path: Path,
                                                    district: WireDistrict, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    shipper = shipper_to(district.url, engine, clock, tmp_path)
    issue(engine, 2)
    assert shipper.state() == {"url": district.url, "code": CODE, "through": None, "behind_events": None,
                               "behind_seconds": None, "last_shipped_at": None, "last_error": None}
    shipper.step()
    shipped_at = clock.now()
    clock.advance(seconds=30)
    issue(engine, 1)  # the oldest not shipped: 90 s old below
    clock.advance(seconds=60)
    issue(engine, 2)
    clock.advance(seconds=30)
    district.answer_all = 503
    clock.advance(seconds=INTERVAL)
    shipper.step()
    assert shipper.state() == {"url": district.url, "code": CODE, "through": hall_ids(engine)[1],
                               "behind_events": 3, "behind_seconds": 90 + INTERVAL,
                               "last_shipped_at": shipped_at.isoformat(), "last_error": "区级服务器出错（HTTP 503）"}
    assert TOKEN not in caplog.text and TOKEN not in json.dumps(shipper.state())
