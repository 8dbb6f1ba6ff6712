"""Opening hours and caps at the kiosk, staff overriding them (recorded), and the hall's status."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from server.clock import ManualClock
from server.config import parse_config
from server.db import Storage
from server.events import EventBus
from server.models import TicketEvent
from server.queue import DomainError, QueueEngine
from tests.conftest import SHANGHAI, SMALL_HALL

WEEK = SMALL_HALL.replace('prefix = "B"\n', 'prefix = "B"\nsession_cap = 2\n', 1) + """
[calendar]
cutoff_minutes = 30
holidays = [2026-12-03]
workdays = [2026-12-05]

[[calendar.sessions]]
name = "上午"
start = "08:30"
end = "12:00"

[[calendar.sessions]]
name = "下午"
start = "14:00"
end = "17:30"
"""


@pytest.fixture
def hall(storage: Storage, clock: ManualClock) -> QueueEngine:
    engine = QueueEngine(storage, parse_config(WEEK), clock, EventBus())
    engine.ensure_windows()
    return engine


def at(clock: ManualClock, day: int, hour: int, minute: int = 0) -> None:
    """Monday 30 November 2026 is day 30; days 1-31 below 30 are in December."""
    clock.set(datetime(2026, 11 if day >= 30 else 12, day, hour, minute, tzinfo=SHANGHAI))


def refused(hall: QueueEngine, code: str, service: str = "id-card") -> str:
    with pytest.raises(DomainError) as caught:
        hall.issue(service, None, "device:kiosk-1")
    assert caught.value.code == code and caught.value.kind == "conflict"
    return caught.value.message


def test_the_kiosk_issues_in_sessions_only_and_says_when_it_opens(hall: QueueEngine, clock: ManualClock) -> None:
    at(clock, 30, 8, 29)  # Monday 30 November, a minute before opening
    assert "下次开放：今天 08:30" in refused(hall, "hall_closed")
    at(clock, 30, 8, 30)
    assert hall.issue("id-card", None, "device:kiosk-1").number == "A001"
    at(clock, 30, 12, 30)  # lunch
    message = refused(hall, "hall_closed")
    assert "下次开放：今天 14:00" in message and "导询台" in message
    at(clock, 30, 14, 0)
    assert hall.issue("id-card", None, "device:kiosk-1").number == "A002"


def test_the_ticket_cut_off_before_the_session_ends(hall: QueueEngine, clock: ManualClock) -> None:
    at(clock, 30, 16, 59)
    hall.issue("id-card", None, "device:kiosk-1")
    at(clock, 30, 17, 0)
    message = refused(hall, "cut_off")
    assert "下午已停止取号（17:00截止，17:30下班）" in message and "下次取号：明天 08:30" in message
    assert hall.status()["state"] == "open" and hall.status()["accepting"] is False


def test_holidays_are_closed_and_make_up_days_open(hall: QueueEngine, clock: ManualClock) -> None:
    at(clock, 3, 10)  # Thursday 3 December: a holiday
    assert "下次开放：明天 08:30" in refused(hall, "hall_closed")
    at(clock, 5, 10)  # Saturday 5 December: a 调休 working day
    assert hall.issue("id-card", None, "device:kiosk-1").number == "A001"
    at(clock, 12, 10)  # an ordinary Saturday: closed until Monday
    assert "下次开放：12月14日（周一）08:30" in refused(hall, "hall_closed")


def test_a_session_cap_refuses_the_kiosk_until_the_next_session(hall: QueueEngine, clock: ManualClock) -> None:
    at(clock, 30, 9)
    hall.issue("hukou", None, "device:kiosk-1")
    hall.issue("hukou", None, "device:kiosk-1")
    assert "本时段「户口迁移」号已取完。下个时段：今天 14:00" in refused(hall, "session_cap_reached", "hukou")
    assert hall.issue("id-card", None, "device:kiosk-1").number == "A001"  # other items go on
    at(clock, 30, 14, 5)
    assert hall.issue("hukou", None, "device:kiosk-1").number == "B003"  # numbers go on through the day


def test_the_daily_cap_refuses_the_kiosk(hall: QueueEngine, clock: ManualClock) -> None:
    at(clock, 30, 9)
    for _ in range(5):
        hall.issue("pension", None, "device:kiosk-1")
    assert "今日「养老保险参保登记」号已取完" in refused(hall, "cap_reached", "pension")


def test_staff_may_issue_anyway_and_the_override_is_recorded(hall: QueueEngine, clock: ManualClock,
                                                            storage: Storage) -> None:
    at(clock, 30, 9)
    hall.issue("hukou", None, "device:kiosk-1")
    hall.issue("hukou", None, "device:kiosk-1")
    over_cap = hall.issue("hukou", "elderly", "guide", channel="desk")
    at(clock, 30, 19)
    after_hours = hall.issue("id-card", None, "guide", channel="desk")
    with storage.read() as session:
        details = {e.ticket_id: e.detail for e in session.scalars(select(TicketEvent).where(
            TicketEvent.action == "issued"))}
    assert details[over_cap.id]["override"] == ["session_cap_reached"]
    assert details[after_hours.id]["override"] == ["hall_closed"]
    assert "override" not in details[1]


def test_the_status_every_screen_shows(hall: QueueEngine, clock: ManualClock) -> None:
    at(clock, 30, 10)
    status = hall.status()
    assert (status["state"], status["accepting"], status["business_date"]) == ("open", True, "2026-11-30")
    assert status["session"]["name"] == "上午" and status["session"]["end"] == "2026-11-30T12:00:00+08:00"
    assert status["next_open"] == "2026-11-30T14:00:00+08:00" and status["extended"] is None
    at(clock, 30, 22)
    status = hall.snapshot()["status"]
    assert (status["state"], status["session"], status["next_open_text"]) == ("closed", None, "明天 08:30")


def test_without_a_calendar_the_hall_is_open_at_any_hour(engine: QueueEngine, clock: ManualClock) -> None:
    clock.set(datetime(2026, 12, 6, 3, 0, tzinfo=SHANGHAI))  # a Sunday, 3 o'clock at night
    assert engine.issue("id-card", None, "device:kiosk-1").number == "A001"
    assert engine.status()["state"] == "open"


def test_the_realistic_example_hall_keeps_its_week(storage: Storage, clock: ManualClock) -> None:
    from tests.live import ROOT

    config = parse_config((ROOT / "examples" / "realistic-hall.toml").read_text(encoding="utf-8"))
    hall = QueueEngine(storage, config, clock, EventBus())
    clock.set(datetime(2026, 10, 2, 10, 0, tzinfo=SHANGHAI))  # 国庆: closed
    assert refused(hall, "hall_closed", "hukou-id").endswith("下次开放：10月8日（周四）08:30。可到导询台咨询或预约")
    clock.set(datetime(2026, 12, 1, 17, 5, tzinfo=SHANGHAI))  # a Tuesday after the 30-minute cut-off
    assert refused(hall, "cut_off", "hukou-id")
    clock.set(datetime(2026, 12, 5, 9, 30, tzinfo=SHANGHAI))  # the Saturday morning session
    assert hall.issue("hukou-id", None, "device:kiosk-1").number == "A001"
