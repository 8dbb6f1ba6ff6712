"""The hall's event log to the district (issue 19, server/shipper.py): in order, each event once, through an
outage, a 502 from the proxy in front, a gap and a refused token, over real HTTP to the real district server on a
free port (tests/live_district.py, PostgreSQL), the hall on SQLite and PostgreSQL, on a manual clock: the backoff is
the hall's time, never slept."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text

from server import shipper as shipper_module
from server.clock import ManualClock
from server.config import parse_config
from server.models import TicketEvent
from server.queue import QueueEngine
from server.shipper import AHEAD, BAD_TOKEN, MAX_BACKOFF, POSITION_FILE, REFUSED_RETRY, WRONG_HALL, HttpLink, Shipper
from tests.conftest import SMALL_HALL
from tests.live import free_port
from tests.live_district import Gateway, LiveDistrict, district_at, new_hall
from tests.live_district import district_database as district_database  # the fixture: one database a module

INTERVAL = 5


def linked(url: str, *, code: str, token: str, batch_events: int = 500) -> str:
    """The small hall shipping to ``url``."""
    return SMALL_HALL + district_table(url, code=code, token=token, batch_events=batch_events)


def district_table(url: str, *, code: str, token: str, batch_events: int = 500) -> str:
    return f"""
[district]
url = "{url}"
token = "{token}"
code = "{code}"
batch_events = {batch_events}
interval_seconds = {INTERVAL}
"""


@pytest.fixture
def district(district_database: str) -> Iterator[LiveDistrict]:
    """The real district, serving, with two halls of this test's own."""
    yield from district_at(district_database, halls=2)


def shipper_to(url: str, engine: QueueEngine, clock: ManualClock, folder: Path, *, code: str, token: str,
               batch_events: int = 500) -> Shipper:
    """The hall's shipper, keeping the district's position in ``folder``/district.json (a restarted hall's shipper
    is another one over the same folder)."""
    path = folder / "hall.toml"
    path.write_text(linked(url, code=code, token=token, batch_events=batch_events), encoding="utf-8")
    config = parse_config(path.read_text(encoding="utf-8"))
    return Shipper(engine.storage, config, clock, path, HttpLink(config.district), folder / POSITION_FILE)


def shipper_of(district: LiveDistrict, engine: QueueEngine, clock: ManualClock, folder: Path,
               batch_events: int = 500, url: str | None = None) -> Shipper:
    """The shipper of the district's first hall, to ``url`` (the district's own by default)."""
    return shipper_to(url or district.url, engine, clock, folder, code=district.hall.code, token=district.hall.token,
                      batch_events=batch_events)


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
                                                          district: LiveDistrict) -> None:
    issue(engine, 7)
    shipper = shipper_of(district, engine, clock, tmp_path, batch_events=3)
    assert ship_all(shipper) == 3  # 3 + 3 + 1 events
    assert district.events() == hall_ids(engine) == district.sent()
    through, as_of = district.position()
    assert shipper.through == through == as_of == hall_ids(engine)[-1]
    tickets = district.rows("tickets")
    assert len(tickets) == 7 and {t["track_token"] for t in tickets} == {""}  # every ticket, no tracking key
    assert district.events(district.halls[1].code) == []  # the other hall's copy is its own
    assert shipper.state()["behind_events"] == 0 and shipper.last_shipped_at == clock.now()
    kept = tmp_path / POSITION_FILE
    assert json.loads(kept.read_text(encoding="utf-8")) == {
        "url": district.url, "code": district.hall.code, "through": through, "at": clock.now().isoformat()}
    assert kept.stat().st_mode & 0o777 == 0o600 and district.hall.token not in kept.read_text(encoding="utf-8")


def test_health_never_sees_the_position_moved_before_the_shipment_is_noted(
        engine: QueueEngine, clock: ManualClock, tmp_path: Path, district: LiveDistrict,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The health is read from other greenlets while the shipper keeps the district's position (a file write, which
    yields): at that moment a batch that moved the position is already noted as shipped."""
    shipper = shipper_of(district, engine, clock, tmp_path)
    ship_all(shipper)  # the district's position is known: nothing shipped yet
    issue(engine, 2)
    seen: list[dict[str, object]] = []
    keep = shipper_module.write_private
    monkeypatch.setattr(shipper_module, "write_private",
                        lambda path, data: (seen.append(shipper.state()), keep(path, data)))
    ship_all(shipper)
    assert seen and seen[-1]["behind_events"] == 0 and seen[-1]["last_shipped_at"] == clock.now().isoformat()


def test_a_hall_restored_from_an_older_backup_stops_shipping(engine: QueueEngine, clock: ManualClock,
                                                             tmp_path: Path, district: LiveDistrict) -> None:
    issue(engine, 4)
    ship_all(shipper_of(district, engine, clock, tmp_path))
    held = hall_ids(engine)[-1]
    with engine.storage.write() as session:  # the database as a backup taken after its second event had it
        kept = hall_ids(engine)[1]
        session.execute(delete(TicketEvent).where(TicketEvent.id > kept))
        if engine.storage.dialect == "postgresql":  # a restored database's sequence is the backup's too
            session.execute(text("SELECT setval(pg_get_serial_sequence('ticket_events', 'id'), :kept)"),
                            {"kept": kept})
    issue(engine, 1)  # its next event takes an id the district has already filed
    restarted = shipper_of(district, engine, clock, tmp_path)
    sent = list(district.sent())
    assert restarted.step() == REFUSED_RETRY
    assert restarted.last_error == AHEAD.format(held=held, newest=hall_ids(engine)[-1])
    assert district.sent() == sent and district.events() != hall_ids(engine)  # nothing more filed


def test_a_replayed_batch_changes_nothing(engine: QueueEngine, clock: ManualClock, tmp_path: Path,
                                          district: LiveDistrict) -> None:
    issue(engine, 4)
    shipper = shipper_of(district, engine, clock, tmp_path)
    ship_all(shipper)
    shipper.through = 0  # the district's answer was lost: the hall sends the same events again
    clock.advance(seconds=INTERVAL)
    assert shipper.step() == INTERVAL
    assert district.sent() == hall_ids(engine) * 2  # sent twice, filed once
    assert district.events() == hall_ids(engine)
    assert shipper.through == district.position()[0] == hall_ids(engine)[-1]


def test_an_outage_is_waited_out_with_a_backoff_and_the_hall_catches_up(
        engine: QueueEngine, clock: ManualClock, tmp_path: Path, district_database: str) -> None:
    district = LiveDistrict(district_database)  # not serving: connections to its port are refused
    try:
        shipper = shipper_of(district, engine, clock, tmp_path, batch_events=2)
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
        district.start()  # the district is back
        assert ship_all(shipper) == 5  # 8 events, 2 a batch, then nothing more
        assert district.events() == hall_ids(engine) == district.sent()
        assert shipper.last_error is None
        assert shipper.state()["behind_events"] == 0
    finally:
        district.close()


def test_a_district_error_is_backed_off_too(engine: QueueEngine, clock: ManualClock, tmp_path: Path,
                                            district: LiveDistrict) -> None:
    """The district behind its reverse proxy, being restarted: the proxy answers 502."""
    gateway = Gateway(district.port, tmp_path / "nginx")
    try:
        issue(engine, 2)
        shipper = shipper_of(district, engine, clock, tmp_path, url=gateway.url)
        district.stop()
        assert shipper.step() == 1
        clock.advance(seconds=1)
        assert shipper.step() == 2
        assert shipper.last_error == "区级服务器出错（HTTP 502）"
        district.start()
        clock.advance(seconds=2)
        assert shipper.step() == INTERVAL and district.events() == hall_ids(engine)
    finally:
        gateway.close()


def test_a_gap_restarts_from_where_the_district_copy_ends(engine: QueueEngine, clock: ManualClock, tmp_path: Path,
                                                          district: LiveDistrict) -> None:
    issue(engine, 3)
    shipper = shipper_of(district, engine, clock, tmp_path)
    ship_all(shipper)
    district.set_back()  # the district was restored from a backup taken before any of them
    issue(engine, 2)
    assert shipper.step() == 0  # 409 gap: the shipper now knows the district holds nothing
    assert shipper.through == 0 and district.sent() == []
    assert json.loads((tmp_path / POSITION_FILE).read_text(encoding="utf-8"))["through"] == 0
    assert shipper.step() == INTERVAL
    assert district.events() == hall_ids(engine) == district.sent()


@pytest.mark.parametrize("refusal", ["revoked", "another hall's"])
def test_a_refused_token_is_tried_once_a_minute_and_never_shown(
        engine: QueueEngine, clock: ManualClock, tmp_path: Path, district: LiveDistrict,
        caplog: pytest.LogCaptureFixture, refusal: str) -> None:
    caplog.set_level(logging.DEBUG)
    issue(engine, 1)
    ours, other = district.halls
    if refusal == "revoked":
        district.store.revoke(ours.code)
    token, message = (ours.token, BAD_TOKEN) if refusal == "revoked" else (other.token, WRONG_HALL)
    shipper = shipper_to(district.url, engine, clock, tmp_path, code=ours.code, token=token)
    assert shipper.step() == REFUSED_RETRY
    clock.advance(seconds=REFUSED_RETRY - 1)
    # revoked: the first question refused; another hall's: its through answered, its batch refused
    assert shipper.step() == 1 and len(district.tap.authorizations) == (1 if message == BAD_TOKEN else 2)
    assert shipper.last_error == message and district.events() == [] and district.events(other.code) == []
    assert district.tap.authorizations[0] == f"Bearer {token}"  # the token went to the district, and only there
    state = json.dumps(shipper.state(), ensure_ascii=False)
    assert token not in state and token not in caplog.text and token not in repr(shipper.link)
    assert message in caplog.text


def test_health_says_how_far_behind_the_district_is(engine: QueueEngine, clock: ManualClock, tmp_path: Path,
                                                    district: LiveDistrict, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    shipper = shipper_of(district, engine, clock, tmp_path)
    issue(engine, 2)
    assert shipper.state() == {"url": district.url, "code": district.hall.code, "through": None,
                               "behind_events": None, "behind_seconds": None, "last_shipped_at": None,
                               "last_error": None, "last_known_at": None}
    shipper.step()
    shipped_at = clock.now()
    clock.advance(seconds=30)
    issue(engine, 1)  # the oldest not shipped: 90 s old below
    clock.advance(seconds=60)
    issue(engine, 2)
    clock.advance(seconds=30)
    district.stop()
    clock.advance(seconds=INTERVAL)
    shipper.step()
    assert shipper.state() == {"url": district.url, "code": district.hall.code, "through": hall_ids(engine)[1],
                               "behind_events": 3, "behind_seconds": 90 + INTERVAL,
                               "last_shipped_at": shipped_at.isoformat(),
                               "last_error": "无法连接区级服务器（ConnectionError）", "last_known_at": None}
    assert district.hall.token not in caplog.text and district.hall.token not in json.dumps(shipper.state())


def test_a_restarted_hall_says_how_far_behind_it_was_last_known(engine: QueueEngine, clock: ManualClock,
                                                                 tmp_path: Path, district: LiveDistrict) -> None:
    issue(engine, 2)
    ship_all(shipper_of(district, engine, clock, tmp_path))
    acknowledged_at = clock.now()
    clock.advance(seconds=40)
    issue(engine, 3)
    district.stop()
    clock.advance(seconds=20)
    restarted = shipper_of(district, engine, clock, tmp_path)  # the hall restarted while the district is down
    known = {"url": district.url, "code": district.hall.code, "through": hall_ids(engine)[1], "behind_events": 3,
             "behind_seconds": 20, "last_shipped_at": None, "last_known_at": acknowledged_at.isoformat()}
    assert restarted.state() == {**known, "last_error": None}
    assert restarted.step() == 1 and restarted.through is None  # it asks the district before shipping
    assert restarted.state() == {**known, "last_error": "无法连接区级服务器（ConnectionError）"}
    district.start()
    clock.advance(seconds=1)
    ship_all(restarted)
    assert restarted.state()["last_known_at"] is None and restarted.state()["behind_events"] == 0
    assert district.events() == hall_ids(engine)


@pytest.mark.parametrize("kept", [
    '{"url": "http://127.0.0.1:1", "code": "%(code)s", "through": 2, "at": "2026-11-30T09:00:00+08:00"}',
    '{"url": "%(url)s", "code": "zhen-other", "through": 2, "at": "2026-11-30T09:00:00+08:00"}',
    '{"url": "%(url)s", "code": "%(code)s", "through": "2", "at": "2026-11-30T09:00:00+08:00"}',
    '{"url": "%(url)s", "code": "%(code)s", "through": 2',
    '[2]',
])
def test_a_position_of_another_district_or_unreadable_is_not_trusted(engine: QueueEngine, clock: ManualClock,
                                                                     tmp_path: Path, kept: str) -> None:
    ours = new_hall()
    url = f"http://127.0.0.1:{free_port()}"
    issue(engine, 3)
    (tmp_path / POSITION_FILE).write_text(kept % {"url": url, "code": ours.code})
    state = shipper_to(url, engine, clock, tmp_path, code=ours.code, token=ours.token).state()
    assert (state["through"], state["behind_events"], state["last_known_at"]) == (None, None, None)
