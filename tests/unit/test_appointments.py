"""Appointments on their own (no Flask), on SQLite and PostgreSQL, with a manual clock: booking and its refusals,
the check-in window to the second, the automatic forfeit, the calling order of 预约 tickets and the audit rows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from server.appointments import Appointments, Booking
from server.auth import Accounts
from server.clock import ManualClock
from server.config import HallConfig, parse_config
from server.db import Storage
from server.events import EventBus
from server.models import Appointment, DailyCounter, Ticket, TicketEvent, WindowState
from server.queue import AppointmentClaim, DomainError, QueueEngine
from tests.conftest import SHANGHAI, SMALL_HALL, Recorder
from tests.unit.test_concurrency import run_together

#: SMALL_HALL (open at all hours) with a holiday and three slots: 09:00 and 10:00 on weekdays, 14:00 every day
APPOINTMENT_HALL = SMALL_HALL + """
[calendar]
holidays = [2026-12-05]

[appointments]
check_in_before_minutes = 30
forfeit_after_minutes = 30
days_ahead = 7
retention_days = 30
reject_reasons = ["材料不齐"]

[[appointments.slots]]
start = "09:00"
end = "10:00"
capacity = 2

[[appointments.slots]]
start = "10:00"
end = "11:00"
capacity = 2

[[appointments.slots]]
start = "14:00"
end = "15:00"
capacity = 3
days = [1, 2, 3, 4, 5, 6, 7]
"""

TUESDAY = date(2026, 12, 1)
NAME, PHONE, ID_DIGITS = "张小三", "13812341234", "12345X"


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=SHANGHAI)


def booking(**changes: object) -> Booking:
    base = Booking(service="id-card", day=TUESDAY, slot="09:00", kind="window", channel="phone", name=NAME,
                   phone=PHONE, id_last6=ID_DIGITS, notes="行动不便，家属陪同")
    return replace(base, **changes)  # type: ignore[arg-type]


@contextmanager
def refused(kind: str, code: str) -> Iterator[pytest.ExceptionInfo[DomainError]]:
    with pytest.raises(DomainError) as info:
        yield info
    assert (info.value.kind, info.value.code) == (kind, code), info.value.message


@pytest.fixture
def config() -> HallConfig:
    return parse_config(APPOINTMENT_HALL)


@pytest.fixture
def queue(storage: Storage, config: HallConfig, clock: ManualClock, recorder: Recorder) -> QueueEngine:
    bus = EventBus()
    bus.subscribe(recorder)
    engine = QueueEngine(storage, config, clock, bus)
    engine.ensure_windows()
    return engine


@pytest.fixture
def desk(queue: QueueEngine, storage: Storage, config: HallConfig, clock: ManualClock) -> Appointments:
    Accounts(storage, clock).add_user("clerk1", "clerk", "clerk1-secret-pw", "王小红")
    return Appointments(storage, config, clock, queue.bus, queue)


def events(storage: Storage, prefix: str = "appointment_") -> list[TicketEvent]:
    with storage.read() as session:
        return [e for e in session.scalars(select(TicketEvent).order_by(TicketEvent.id)) if e.action.startswith(prefix)]


# ---------------------------------------------------------------- booking

def test_a_booking_gets_a_six_digit_code_and_an_event_row_without_personal_data(desk: Appointments,
                                                                                storage: Storage) -> None:
    booked = desk.book(booking(phone="138-1234 1234", id_last6="12345x"), "guide")
    assert len(booked.code) == 6 and booked.code.isdigit()
    assert (booked.status, booked.phone, booked.id_last6, booked.slot_end) == ("booked", PHONE, ID_DIGITS, "10:00")
    assert booked.check_in_from == at(TUESDAY, 8, 30) and booked.forfeit_at == at(TUESDAY, 9, 30)
    [row] = events(storage)
    assert (row.action, row.actor, row.ticket_id) == ("appointment_booked", "guide", None)
    assert row.detail == {"appointment": booked.id, "service": "id-card", "date": "2026-12-01", "slot": "09:00",
                          "kind": "window", "channel": "phone"}
    assert not {NAME, PHONE, ID_DIGITS, "家属陪同"} & set(str(row.detail).split("'"))
    codes = {desk.book(booking(phone=f"1390000000{i}", slot="14:00"), "guide").code for i in range(3)}
    assert len(codes | {booked.code}) == 4


def test_a_slot_takes_its_capacity_of_each_item_and_a_cancellation_frees_a_place(desk: Appointments) -> None:
    first = desk.book(booking(phone="13900000001"), "guide")
    desk.book(booking(phone="13900000002"), "guide")
    with refused("conflict", "slot_full") as info:
        desk.book(booking(phone="13900000003"), "guide")
    assert "已约满（2 人）" in info.value.message
    assert desk.book(booking(phone="13900000003", service="hukou"), "guide").status == "booked"  # per item
    slots = {s["start"]: s for s in desk.slots(TUESDAY, "id-card")["slots"]}
    assert (slots["09:00"]["booked"], slots["09:00"]["left"], slots["10:00"]["left"]) == (2, 0, 2)
    desk.cancel(first.id, "guide", "本人来电取消")
    assert desk.book(booking(phone="13900000003"), "guide").status == "booked"


def test_one_active_appointment_per_phone_item_and_day(desk: Appointments) -> None:
    first = desk.book(booking(), "guide")
    with refused("conflict", "duplicate_appointment") as info:
        desk.book(booking(slot="10:00", name="张小三"), "guide")
    assert "每人每个事项每天只能预约一次" in info.value.message
    assert desk.book(booking(service="hukou"), "guide").status == "booked"
    assert desk.book(booking(day=TUESDAY + timedelta(days=1)), "guide").status == "booked"
    desk.cancel(first.id, "guide", None)
    assert desk.book(booking(slot="10:00"), "guide").status == "booked"


@pytest.mark.parametrize(("change", "kind", "code"), [
    ({"day": date(2026, 12, 5)}, "conflict", "no_such_slot"),          # a holiday: the hall is closed
    ({"day": date(2026, 12, 6), "slot": "09:00"}, "conflict", "no_such_slot"),  # Sunday: only the 14:00 slot
    ({"slot": "09:30"}, "conflict", "no_such_slot"),
    ({"day": date(2026, 11, 30)}, "conflict", "slot_started"),          # today 09:00, and it is 09:00 now
    ({"day": date(2026, 12, 8)}, "conflict", "bad_date"),               # 8 days ahead, 7 allowed
    ({"day": date(2026, 11, 29)}, "conflict", "bad_date"),
    ({"kind": "holiday", "assigned_to": "clerk1"}, "conflict", "hall_open_that_day"),
    ({"kind": "home"}, "invalid", "assignee_required"),
    ({"kind": "home", "assigned_to": "nobody"}, "not_found", "staff_not_found"),
    ({"kind": "visit"}, "invalid", "bad_kind"),
    ({"channel": "wechat"}, "invalid", "bad_channel"),
    ({"phone": "1381234"}, "invalid", "bad_phone"),
    ({"id_last6": "12345"}, "invalid", "bad_id_digits"),
    ({"name": " "}, "invalid", "bad_name"),
    ({"slot": "9点"}, "invalid", "bad_slot"),
    ({"service": "passport"}, "not_found", "service_not_found"),
])
def test_bookings_the_hall_cannot_take_are_refused_with_a_reason(desk: Appointments, change: dict[str, object],
                                                                 kind: str, code: str) -> None:
    with refused(kind, code) as info:
        desk.book(booking(**change), "guide")
    assert info.value.message


def test_home_and_holiday_visits_take_an_agreed_time_and_the_staff_assigned(desk: Appointments) -> None:
    home = desk.book(booking(kind="home", slot="15:30", assigned_to="clerk1", phone="02112345678"), "guide")
    holiday = desk.book(booking(kind="holiday", day=date(2026, 12, 5), slot="10:00", assigned_to="clerk1"), "guide")
    assert (home.slot, home.slot_end, home.assigned_name, home.check_in_from) == ("15:30", None, "王小红", None)
    assert holiday.day == date(2026, 12, 5) and holiday.kind == "holiday"
    assert [a.id for a in desk.visits("clerk1")] == [home.id, holiday.id]
    assert desk.visits("someone-else") == []


# ---------------------------------------------------------------- check-in window, to the second

@pytest.fixture
def nine_o_clock(desk: Appointments) -> str:
    """The code of an appointment on Tuesday 09:00-10:00."""
    return desk.book(booking(), "guide").code


@pytest.mark.parametrize(("moment", "outcome"), [
    (at(TUESDAY, 8, 29, 59), "appointment_too_early"),
    (at(TUESDAY, 8, 30), "checked_in"),        # exactly when check-in opens
    (at(TUESDAY, 9, 29, 59), "checked_in"),    # 29:59 after the slot start
    (at(TUESDAY, 9, 30), "checked_in"),        # 30:00: not yet *more than* 30 minutes late
    (at(TUESDAY, 9, 30, 1), "appointment_forfeited"),  # 30:01, and no tick has run
])
def test_the_check_in_window_edges(desk: Appointments, clock: ManualClock, nine_o_clock: str, storage: Storage,
                                   moment: datetime, outcome: str) -> None:
    clock.set(moment)
    if outcome == "checked_in":
        ticket, appointment = desk.check_in("device:kiosk-1", "kiosk", code=nine_o_clock)
        assert (appointment.status, ticket.appointment, ticket.number) == ("checked_in", True, "A001")
        assert appointment.ticket_number == "A001"
        return
    with refused("conflict", outcome) as info:
        desk.check_in("device:kiosk-1", "kiosk", code=nine_o_clock)
    if outcome == "appointment_too_early":
        assert "08:30 起可以签到" in info.value.message and info.value.detail == {"from": "2026-12-01T08:30:00+08:00"}
    else:  # forfeited at that moment, recorded by the check-in itself
        assert info.value.detail == {"service": "id-card", "service_name": "居民身份证核发"}
        assert [(e.action, e.actor) for e in events(storage)][-1] == ("appointment_forfeited", "system")


def test_the_tick_forfeits_at_the_moment_the_grace_period_ends(desk: Appointments, clock: ManualClock,
                                                               nine_o_clock: str, storage: Storage,
                                                               recorder: Recorder) -> None:
    later = desk.book(booking(phone="13900000009", slot="10:00"), "guide")
    clock.set(at(TUESDAY, 9, 30))
    desk.tick()
    assert "appointment_forfeited" not in recorder.kinds()
    clock.set(at(TUESDAY, 9, 30, 0) + timedelta(milliseconds=1))
    desk.tick()
    forfeited = [e for e in recorder.events if e.kind == "appointment_forfeited"]
    assert len(forfeited) == 1 and forfeited[0].detail["slot"] == "09:00"
    assert [a.status for a in desk.on(TUESDAY)] == ["forfeited", "booked"]
    assert desk.get(later.id).status == "booked"
    desk.tick()  # nothing more: a forfeit happens once
    assert len([e for e in events(storage) if e.action == "appointment_forfeited"]) == 1


def test_every_reason_a_check_in_is_refused(desk: Appointments, clock: ManualClock, nine_o_clock: str) -> None:
    with refused("not_found", "appointment_not_found"):
        desk.check_in("device:kiosk-1", "kiosk", code="000000" if nine_o_clock != "000000" else "111111")
    with refused("invalid", "bad_code"):
        desk.check_in("device:kiosk-1", "kiosk", code="12345")
    with refused("invalid", "bad_phone"):
        desk.check_in("device:kiosk-1", "kiosk", phone="0211234567")
    with refused("invalid", "code_or_phone"):
        desk.check_in("device:kiosk-1", "kiosk")
    with refused("conflict", "appointment_not_today") as info:  # Monday 09:00 for a Tuesday appointment
        desk.check_in("device:kiosk-1", "kiosk", code=nine_o_clock)
    assert "您的预约是 明天 09:00-10:00，不是今天" in info.value.message
    clock.set(at(TUESDAY, 9, 5))
    ticket, _ = desk.check_in("device:kiosk-1", "kiosk", code=nine_o_clock)
    with refused("conflict", "appointment_checked_in") as info:
        desk.check_in("device:kiosk-1", "kiosk", code=nine_o_clock)
    assert f"您的号码是 {ticket.number}" in info.value.message and info.value.detail == {"number": ticket.number}
    cancelled = desk.book(booking(phone="13900000001", slot="10:00"), "guide")
    desk.cancel(cancelled.id, "guide", "本人来电取消")
    with refused("conflict", "appointment_cancelled"):
        desk.check_in("device:kiosk-1", "kiosk", code=cancelled.code)
    rejected = desk.book(booking(phone="13900000002", slot="10:00"), "guide")
    desk.reject(rejected.id, "guide", "材料不齐")
    with refused("conflict", "appointment_rejected") as info:
        desk.check_in("device:kiosk-1", "kiosk", code=rejected.code)
    assert "材料不齐" not in info.value.message and "请到导询台咨询" in info.value.message  # reason: staff only
    home = desk.book(booking(phone="13900000003", kind="home", slot="16:00", assigned_to="clerk1"), "guide")
    with refused("conflict", "appointment_not_in_hall"):
        desk.check_in("device:kiosk-1", "kiosk", code=home.code)


def test_an_earlier_days_appointment_still_in_its_grace_period_is_over(desk: Appointments, storage: Storage,
                                                                       clock: ManualClock) -> None:
    """A long grace period may reach past midnight: the next day it is not "not today" but over."""
    evening = parse_config(APPOINTMENT_HALL.replace('start = "14:00"\nend = "15:00"', 'start = "22:00"\nend = "23:00"')
                           .replace("forfeit_after_minutes = 30", "forfeit_after_minutes = 240"))
    late = Appointments(storage, evening, clock, desk.bus, desk.engine)
    code = late.book(booking(slot="22:00", day=date(2026, 11, 30)), "guide").code
    clock.set(at(TUESDAY, 0, 30))  # 2.5 hours after the slot began, within 240 minutes, but on the next day
    with refused("conflict", "appointment_forfeited"):
        late.check_in("device:kiosk-1", "kiosk", code=code)
    assert late.on(date(2026, 11, 30))[0].status == "booked"  # the tick forfeits it at 02:00; the resident is told now


def test_by_phone_the_appointment_that_is_open_now_checks_in(desk: Appointments, clock: ManualClock) -> None:
    desk.book(booking(slot="14:00", service="hukou"), "guide")
    morning = desk.book(booking(slot="10:00"), "guide")
    desk.book(booking(day=TUESDAY + timedelta(days=2), service="pension"), "guide")
    clock.set(at(TUESDAY, 9, 40))
    ticket, appointment = desk.check_in("device:kiosk-1", "kiosk", phone=f" {PHONE} ")
    assert appointment.id == morning.id and ticket.service == "id-card"
    with refused("conflict", "appointment_too_early") as info:  # the afternoon one is next
        desk.check_in("device:kiosk-1", "kiosk", phone=PHONE)
    assert "13:30 起可以签到" in info.value.message
    with refused("not_found", "appointment_not_found"):
        desk.check_in("device:kiosk-1", "kiosk", phone="13999999999")


def test_a_code_checked_in_meanwhile_gives_no_second_ticket(desk: Appointments, queue: QueueEngine,
                                                            clock: ManualClock, nine_o_clock: str) -> None:
    """A second kiosk that read the appointment as booked just before the first committed is refused inside its
    ticket's own transaction: no second ticket, no number used up."""
    clock.set(at(TUESDAY, 9))
    appointment = desk.on(TUESDAY)[0]
    assert desk.check_in("device:kiosk-1", "kiosk", code=nine_o_clock)[0].number == "A001"
    with refused("conflict", "appointment_checked_in"):
        queue.issue("id-card", None, "device:kiosk-2", "kiosk",
                    appointment=AppointmentClaim(appointment.id, desk._settle("device:kiosk-2")))
    assert queue.issue("id-card", None, "device:kiosk-1", "kiosk").number == "A002"


def test_kiosks_and_desks_at_the_same_instant(desk: Appointments, clock: ManualClock, nine_o_clock: str) -> None:
    """Real threads: one code at six kiosks gives one ticket; six desks booking a slot's last place, one wins."""
    clock.set(at(TUESDAY, 9))
    tickets, refusals = [], []

    def kiosk() -> None:
        try:
            tickets.append(desk.check_in("device:kiosk-1", "kiosk", code=nine_o_clock)[0].number)
        except DomainError as refusal:
            refusals.append(refusal.code)

    run_together([kiosk] * 6)
    assert tickets == ["A001"] and refusals == ["appointment_checked_in"] * 5
    desk.book(booking(slot="10:00", phone="13900000000"), "guide")
    booked = []

    def desk_worker(n: int) -> Callable[[], None]:
        def work() -> None:
            try:
                booked.append(desk.book(booking(slot="10:00", phone=f"1390000000{n}"), "guide").id)
            except DomainError as refusal:
                refusals.append(refusal.code)
        return work

    run_together([desk_worker(n) for n in range(1, 7)])
    assert len(booked) == 1 and refusals.count("slot_full") == 5


# ---------------------------------------------------------------- outcomes of home and holiday visits

def test_the_staff_assigned_marks_a_visit_done_or_not_done(desk: Appointments, clock: ManualClock,
                                                           storage: Storage) -> None:
    home = desk.book(booking(kind="home", slot="15:30", assigned_to="clerk1"), "guide")
    other = desk.book(booking(kind="home", slot="16:30", assigned_to="clerk1", service="hukou"), "guide")
    with refused("conflict", "not_yet"):
        desk.record_outcome(home.id, "clerk1", False, True, "")
    clock.set(at(TUESDAY, 16))
    with refused("forbidden", "not_assigned"):
        desk.record_outcome(home.id, "clerk2", False, True, "")
    with refused("invalid", "note_required"):
        desk.record_outcome(home.id, "clerk1", False, False, " ")
    assert desk.record_outcome(home.id, "clerk1", False, True, "已上门办理，材料齐全").status == "done"
    assert desk.record_outcome(other.id, "guide", True, False, "家中无人，已电话改约").status == "not_done"
    with refused("conflict", "not_booked"):
        desk.record_outcome(home.id, "clerk1", False, False, "again")
    window = desk.book(booking(day=TUESDAY + timedelta(days=1)), "guide")
    with refused("conflict", "not_a_visit"):
        desk.record_outcome(window.id, "guide", True, True, "")
    actions = [(e.action, e.actor, e.detail["kind"]) for e in events(storage)][-3:]
    assert actions == [("appointment_done", "clerk1", "home"), ("appointment_not_done", "guide", "home"),
                       ("appointment_booked", "guide", "window")]


def test_rejecting_needs_a_reason_and_only_a_booked_appointment_changes(desk: Appointments) -> None:
    booked = desk.book(booking(), "guide")
    with refused("invalid", "reason_required"):
        desk.reject(booked.id, "guide", "  ")
    assert desk.reject(booked.id, "guide", "材料不齐").reason == "材料不齐"
    with refused("conflict", "not_booked"):
        desk.cancel(booked.id, "guide", None)
    with refused("not_found", "appointment_not_found"):
        desk.cancel(9999, "guide", None)


# ---------------------------------------------------------------- the calling order of 预约 tickets

def checked_in_ticket(desk: Appointments, clock: ManualClock, service: str = "id-card", phone: str = PHONE) -> str:
    code = desk.book(booking(service=service, phone=phone, slot="14:00", day=clock.now().astimezone(SHANGHAI).date()),
                     "guide").code
    return desk.check_in("device:kiosk-1", "kiosk", code=code)[0].number


@pytest.fixture
def afternoon(clock: ManualClock) -> None:
    clock.set(at(date(2026, 11, 30), 13, 40))  # Monday: bookings for 14:00 today, check-in open from 13:30


def test_a_checked_in_appointment_is_called_before_earlier_regular_tickets_of_its_service(
        desk: Appointments, queue: QueueEngine, clock: ManualClock, afternoon: None) -> None:
    walk_ins = [queue.issue("id-card", None, "device:kiosk-1", "kiosk").number for _ in range(2)]
    booked = checked_in_ticket(desk, clock)
    assert queue.by_number(booked).waiting_ahead == 0
    assert queue.by_number(walk_ins[0]).waiting_ahead == 1 and queue.by_number(walk_ins[1]).waiting_ahead == 2
    queue.sign_in(4, "clerk4")  # window 4 serves id-card only
    assert [queue.call_next(4, "clerk4").number for _ in range(3)] == [booked, *walk_ins]


def test_an_appointment_goes_after_green_channel_and_before_earlier_walk_ins(
        desk: Appointments, queue: QueueEngine, clock: ManualClock, afternoon: None) -> None:
    elderly = queue.issue("id-card", "elderly", "guide", "desk").number
    hukou_walk_in = queue.issue("hukou", None, "device:kiosk-1", "kiosk").number  # window 3: hukou first
    id_walk_in = queue.issue("id-card", None, "device:kiosk-1", "kiosk").number
    booked = checked_in_ticket(desk, clock)
    assert queue.by_number(booked).waiting_ahead == 1  # the 绿色通道 ticket stands before it
    queue.sign_in(3, "clerk3")
    called = [queue.call_next(3, "clerk3").number for _ in range(4)]
    # 绿色通道 first; then the checked-in appointment (a time agreed with the hall) before the walk-ins who came
    # earlier, whatever their item (within priority_bound); then the walk-ins by arrival
    assert called == [elderly, booked, hukou_walk_in, id_walk_in]


def test_green_channel_arriving_after_the_appointment_keeps_its_bound(
        desk: Appointments, queue: QueueEngine, clock: ManualClock, afternoon: None) -> None:
    booked = checked_in_ticket(desk, clock)
    urgent = []
    for _ in range(3):
        clock.advance(seconds=20)
        urgent.append(queue.issue("id-card", "military", "guide", "desk").number)
    queue.sign_in(4, "clerk4")
    # priority_bound = 2 in SMALL_HALL: two 绿色通道 tickets pass the appointment, then it is its turn
    assert [queue.call_next(4, "clerk4").number for _ in range(4)] == [urgent[0], urgent[1], booked, urgent[2]]


def test_during_extended_service_strict_arrival_order_holds_for_appointments(
        tmp_path: object, storage: Storage, clock: ManualClock, recorder: Recorder) -> None:
    week = APPOINTMENT_HALL.replace("holidays = [2026-12-05]\n", 'holidays = [2026-12-05]\n\n[[calendar.sessions]]\n'
                                    'name = "全天"\nstart = "08:00"\nend = "17:00"\ndays = [1, 2, 3, 4, 5, 6, 7]\n', 1)
    config = parse_config(week.replace('start = "14:00"\nend = "15:00"', 'start = "16:00"\nend = "17:00"'))
    bus = EventBus()
    engine = QueueEngine(storage, config, clock, bus)
    engine.ensure_windows()
    desk = Appointments(storage, config, clock, bus, engine)
    clock.set(at(date(2026, 11, 30), 15, 50))
    code = desk.book(booking(slot="16:00", day=date(2026, 11, 30)), "guide").code
    walk_in = engine.issue("id-card", None, "device:kiosk-1", "kiosk").number
    clock.set(at(date(2026, 11, 30), 16, 20))
    booked = desk.check_in("device:kiosk-1", "kiosk", code=code)[0].number
    clock.set(at(date(2026, 11, 30), 17, 0, 1))
    engine.tick()
    assert engine.status()["state"] == "extended"
    engine.sign_in(4, "clerk4")
    assert [engine.call_next(4, "clerk4").number for _ in range(2)] == [walk_in, booked]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(arrivals=st.lists(st.sampled_from(["walk-in", "appointment"]), min_size=1, max_size=8))
def test_waiting_ahead_is_the_place_in_the_calling_order(storage: Storage, clock: ManualClock,
                                                         arrivals: list[str]) -> None:
    """Whatever the mix, each ticket's 前面还有 N 人 is exactly how many are called before it."""
    with storage.write() as session:  # hypothesis reuses the database: start each example empty
        for model in (TicketEvent, Appointment, WindowState, Ticket, DailyCounter):
            session.execute(delete(model))
    clock.set(at(date(2026, 11, 30), 13, 40))
    config = parse_config(APPOINTMENT_HALL.replace("capacity = 3", "capacity = 20"))
    engine = QueueEngine(storage, config, clock, EventBus())
    engine.ensure_windows()
    desk = Appointments(storage, config, clock, engine.bus, engine)
    numbers = []
    for i, kind in enumerate(arrivals):
        clock.advance(seconds=10)
        if kind == "walk-in":
            numbers.append(engine.issue("id-card", None, "device:kiosk-1", "kiosk").number)
        else:
            numbers.append(checked_in_ticket(desk, clock, phone=f"1390000{i:04d}"))
    ahead = {number: engine.by_number(number).waiting_ahead for number in numbers}
    engine.sign_in(4, "clerk4")
    called = [engine.call_next(4, "clerk4").number for _ in numbers]
    assert [ahead[number] for number in called] == list(range(len(numbers)))
