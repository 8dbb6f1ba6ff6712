"""延时服务: a session's end (evening or midday) with residents waiting, the windows staying, the records, and the
day's end."""

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
from tests.conftest import SHANGHAI, SMALL_HALL, Recorder
from tests.unit.test_hours import WEEK, at, refused

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
    assert month["text"] == "延时服务 1 天 1 次，服务群众 3 件"
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


def midday_with_waiting(hall: QueueEngine, clock: ManualClock) -> None:
    """Monday morning: B001 (hukou) then A001 (id-card) wait for window 1, clerk1 is there, and 12:00 comes."""
    at(clock, 30, 11, 20)
    hall.issue("hukou", None, KIOSK)
    hall.issue("id-card", None, KIOSK)
    hall.sign_in(1, "clerk1")
    at(clock, 30, 12, 0)
    hall.tick()


def records(storage: Storage) -> list[ExtendedService]:
    with storage.read() as session:
        return list(session.scalars(select(ExtendedService).order_by(ExtendedService.started_at)))


def test_nobody_is_sent_away_at_the_midday_break(hall: QueueEngine, clock: ManualClock, storage: Storage,
                                                 recorder: Recorder) -> None:
    midday_with_waiting(hall, clock)
    assert "extended_started" in recorder.kinds()
    status = hall.status()
    assert status["state"] == "extended" and status["accepting"] is False and status["extended"]["waiting"] == 2
    assert (status["extended"]["session"], status["extended"]["started_at"]) == ("上午", "2026-11-30T12:00:00+08:00")
    assert "下次开放：今天 14:00" in refused(hall, "hall_closed")  # the break's rules for new walk-ins hold
    for leave in (lambda: hall.sign_out(1, "clerk1"), lambda: hall.pause(1, "clerk1")):
        with pytest.raises(DomainError) as caught:
            leave()
        assert caught.value.code == "extended_service" and "还有 2 人等候" in caught.value.message
    at(clock, 30, 12, 5)
    assert hall.call_next(1, "clerk1").number == "B001"  # type: ignore[union-attr]  # arrival, not item order
    at(clock, 30, 12, 12)
    assert hall.call_next(1, "clerk1").number == "A001"  # type: ignore[union-attr]  # B001 done by call-next
    at(clock, 30, 12, 20)
    hall.finish(1, "clerk1")
    hall.tick()
    assert "extended_ended" in recorder.kinds()
    status = hall.status()
    assert (status["state"], status["extended"], status["next_open_text"]) == ("closed", None, "今天 14:00")
    assert hall.sign_out(1, "clerk1")["status"] == "closed"
    [noon] = records(storage)
    assert (noon.session, noon.served, noon.waiting_at_start, noon.windows, noon.clerks) == ("上午", 2, 2, [1],
                                                                                              ["clerk1"])

    at(clock, 30, 16, 50)  # the afternoon: one more resident still waiting at closing time
    hall.issue("id-card", None, KIOSK)
    at(clock, 30, 17, 30)
    hall.tick()
    assert hall.status()["extended"]["session"] == "下午"
    at(clock, 30, 17, 35)
    hall.sign_in(1, "clerk1")
    hall.call_next(1, "clerk1")
    at(clock, 30, 17, 40)
    hall.finish(1, "clerk1")
    hall.tick()
    day = hall.extended_records(date(2026, 11, 30), date(2026, 11, 30))
    assert [(r["session"], r["started_at"], r["ended_at"], r["served"]) for r in day["records"]] == [
        ("上午", "2026-11-30T12:00:00+08:00", "2026-11-30T12:20:00+08:00", 2),
        ("下午", "2026-11-30T17:30:00+08:00", "2026-11-30T17:40:00+08:00", 1)]
    assert (day["days"], day["sessions"], day["served"], day["minutes"]) == (1, 2, 3, 30.0)
    assert day["text"] == "延时服务 1 天 2 次，服务群众 3 件"


def test_the_afternoon_session_takes_over_from_midday_extended_service(
        hall: QueueEngine, clock: ManualClock, storage: Storage) -> None:
    midday_with_waiting(hall, clock)
    at(clock, 30, 14, 1)  # nobody came back from lunch to serve them: regular hours resume at 14:00
    hall.tick()
    [noon] = records(storage)
    assert noon.ended_at is not None and noon.ended_at.astimezone(SHANGHAI).strftime("%H:%M") == "14:00"
    assert noon.served == 0 and hall.status()["state"] == "open"
    urgent = hall.issue("id-card", "elderly", "staff:guide", "desk").number
    # the normal rule again: 绿色通道 goes ahead of the earlier arrivals (strict arrival would call B001)
    assert hall.call_next(1, "clerk1").number == urgent  # type: ignore[union-attr]


def test_left_open_tickets_go_to_the_days_closing_record_not_the_midday_one(
        hall: QueueEngine, clock: ManualClock, storage: Storage) -> None:
    midday_with_waiting(hall, clock)
    at(clock, 1, 8, 0)  # the server was not running from 12:00 to Tuesday morning
    hall.tick()
    hall.tick()
    noon, closing = records(storage)
    assert (noon.session, noon.anomalies, noon.ended_at.astimezone(SHANGHAI).isoformat()) == (  # type: ignore
        "上午", [], "2026-11-30T14:00:00+08:00")
    assert (closing.session, closing.anomalies, closing.started_at.astimezone(SHANGHAI).isoformat(),
            closing.ended_at.astimezone(SHANGHAI).isoformat()) == (  # type: ignore[union-attr]
        "下午", ["B001", "A001"], "2026-11-30T17:30:00+08:00", "2026-12-01T00:00:00+08:00")


def test_an_all_day_hall_has_no_break_and_its_day_ends_at_midnight(storage: Storage, clock: ManualClock) -> None:
    """The demo's calendar (全天 00:00-24:00): no 延时服务 starts; a ticket left open is flagged after midnight in a
    record of the minutes since, not of the day to come."""
    hall = QueueEngine(storage, parse_config(SMALL_HALL), clock, EventBus())
    hall.ensure_windows()
    at(clock, 30, 15)
    hall.issue("id-card", None, KIOSK)
    at(clock, 30, 23, 59)
    hall.tick()
    assert records(storage) == [] and hall.status()["state"] == "open"
    at(clock, 1, 0, 3)
    hall.tick()
    [day] = hall.extended_records(date(2026, 11, 30), date(2026, 11, 30))["records"]
    assert (day["session"], day["started_at"], day["minutes"], day["anomalies"]) == (
        "全天", "2026-12-01T00:00:00+08:00", 3.0, ["A001"])
