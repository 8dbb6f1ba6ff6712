"""延时服务: closing time with residents waiting, the windows staying, the record, and the day's end."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from server.clock import ManualClock
from server.config import parse_config
from server.db import Storage
from server.events import EventBus
from server.models import ExtendedService, Ticket, TicketEvent
from server.queue import DomainError, QueueEngine
from tests.conftest import Recorder
from tests.unit.test_hours import WEEK, at

KIOSK = "device:kiosk-1"


@pytest.fixture
def hall(storage: Storage, clock: ManualClock, recorder: Recorder) -> QueueEngine:
    bus = EventBus()
    bus.subscribe(recorder)
    engine = QueueEngine(storage, parse_config(WEEK), clock, bus)
    engine.ensure_windows()
    return engine


def record(storage: Storage) -> ExtendedService | None:
    with storage.read() as session:
        return session.scalar(select(ExtendedService))


def closing_with_waiting(hall: QueueEngine, clock: ManualClock) -> list[str]:
    """Monday afternoon: three residents for window 1 (两 id-card, one hukou), clerk1 at window 1."""
    at(clock, 30, 16, 50)
    numbers = [hall.issue(service, None, KIOSK).number for service in ("id-card", "hukou", "id-card")]
    hall.sign_in(1, "clerk1")
    at(clock, 30, 17, 30)  # closing time
    hall.tick()
    return numbers


def test_closing_with_residents_waiting_starts_extended_service_by_itself(
        hall: QueueEngine, clock: ManualClock, storage: Storage, recorder: Recorder) -> None:
    closing_with_waiting(hall, clock)
    assert "extended_started" in recorder.kinds()
    status = hall.status()
    assert status["state"] == "extended" and status["extended"]["waiting"] == 3
    assert status["extended"]["started_at"] == "2026-11-30T17:30:00+08:00"
    windows = {w["id"]: w["waiting"] for w in status["extended"]["windows"]}
    assert windows == {1: 3, 2: 0, 3: 3, 4: 2}
    with storage.read() as session:
        assert session.scalar(select(Ticket.status).where(Ticket.number == "A001")) == "waiting"  # nobody dropped


def test_closing_with_nobody_waiting_is_just_closing(hall: QueueEngine, clock: ManualClock, storage: Storage) -> None:
    at(clock, 30, 10)
    hall.issue("id-card", None, KIOSK)
    hall.sign_in(1, "clerk1")
    hall.call_next(1, "clerk1")
    hall.finish(1, "clerk1")
    at(clock, 30, 17, 31)
    hall.tick()
    assert record(storage) is None and hall.status()["state"] == "closed"


def test_a_clerk_stays_while_their_residents_wait_unless_another_window_takes_them(
        hall: QueueEngine, clock: ManualClock) -> None:
    closing_with_waiting(hall, clock)
    for leave in (lambda: hall.sign_out(1, "clerk1"), lambda: hall.pause(1, "clerk1")):
        with pytest.raises(DomainError) as caught:
            leave()
        assert caught.value.code == "extended_service" and "还有 3 人等候" in caught.value.message
    hall.sign_in(3, "clerk2")  # window 3 serves hukou and id-card: it can take all three over
    assert hall.sign_out(1, "clerk1")["status"] == "closed"


def test_the_admin_moves_a_resident_and_calling_goes_strictly_by_arrival(
        hall: QueueEngine, clock: ManualClock) -> None:
    at(clock, 30, 16, 40)
    hall.issue("hukou", None, KIOSK)  # B001, first to arrive; window 1 serves id-card before hukou
    hall.issue("id-card", "elderly", KIOSK)  # A001, 绿色通道
    hall.issue("id-card", None, KIOSK)  # A002
    hall.sign_in(1, "clerk1")
    at(clock, 30, 17, 30)
    hall.tick()
    called = hall.call_next(1, "clerk1")
    assert called is not None and called.number == "B001"  # arrival order, not item order or tags
    moved = hall.move(3, 4, "admin")  # A002 to window 4
    assert moved.status == "waiting"
    assert hall.call_next(1, "clerk1").number == "A001"  # type: ignore[union-attr]
    hall.sign_in(4, "clerk2")
    assert hall.call_next(4, "clerk2").number == "A002"  # type: ignore[union-attr]
    with pytest.raises(DomainError) as caught:
        hall.move(1, 4, "admin")  # B001 is at the window already
    assert caught.value.code == "not_waiting"


def test_it_ends_when_the_last_is_served_and_keeps_the_figures(hall: QueueEngine, clock: ManualClock,
                                                              storage: Storage, recorder: Recorder) -> None:
    closing_with_waiting(hall, clock)
    for minute in (35, 42, 50):
        at(clock, 30, 17, minute)
        hall.call_next(1, "clerk1")
        hall.tick()
        assert record(storage).ended_at is None  # type: ignore[union-attr]
    at(clock, 30, 17, 58)
    hall.finish(1, "clerk1")
    hall.tick()
    done = record(storage)
    assert done is not None and "extended_ended" in recorder.kinds()
    assert (done.served, done.waiting_at_start, done.windows, done.clerks) == (3, 3, [1], ["clerk1"])
    assert hall.status()["state"] == "closed"
    month = hall.extended_records(date(2026, 11, 1), date(2026, 11, 30))
    assert (month["days"], month["served"], month["minutes"]) == (1, 3, 28.0)
    assert month["text"] == "延时服务 1 天，服务群众 3 件"
    assert month["records"][0]["ended_at"] == "2026-11-30T17:58:00+08:00"


def test_a_ticket_left_open_overnight_is_flagged_not_deleted_and_numbers_restart(
        hall: QueueEngine, clock: ManualClock, storage: Storage) -> None:
    closing_with_waiting(hall, clock)
    at(clock, 1, 8, 0)  # Tuesday 1 December: a new business day, the three never served
    hall.tick()
    with storage.read() as session:
        flagged = session.scalars(select(TicketEvent.ticket_id).where(TicketEvent.action == "left_open")).all()
        statuses = session.scalars(select(Ticket.status)).all()
    assert len(flagged) == 3 and statuses == ["waiting"] * 3
    old = record(storage)
    assert old is not None and old.anomalies == ["A001", "B001", "A002"] and old.ended_at is not None
    hall.tick()  # flagged once
    with storage.read() as session:
        assert len(session.scalars(select(TicketEvent).where(TicketEvent.action == "left_open")).all()) == 3
    at(clock, 1, 8, 30)
    assert hall.issue("id-card", None, KIOSK).number == "A001"
    assert hall.status()["state"] == "open"
