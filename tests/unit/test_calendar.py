"""The hall's calendar: sessions, the lunch gap, cut-off, holidays and 调休, the next opening. Fixed instants only."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from server.calendar import ALL_DAY, CalendarConfig, HallCalendar, Session

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS = (1, 2, 3, 4, 5)

MORNING = Session("上午", time(8, 30), time(12), WEEKDAYS)
AFTERNOON = Session("下午", time(14), time(17, 30), WEEKDAYS)
SATURDAY = Session("上午", time(9), time(12), (6,))
NATIONAL_DAY = frozenset(date(2026, 10, d) for d in range(1, 8))  # 国庆 2026: Thursday 10-01 to Wednesday 10-07
WEEK = CalendarConfig(sessions=(AFTERNOON, SATURDAY, MORNING),  # listed out of order on purpose
                      holidays=NATIONAL_DAY, workdays=frozenset({date(2026, 9, 20), date(2026, 10, 10)}),
                      cutoff_minutes=30)


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=SHANGHAI)


def closing_time(hall: HallCalendar, day: date) -> datetime | None:
    last = hall.last_session(day)
    return last.end if last is not None else None


MONDAY = date(2026, 11, 30)
TUESDAY = date(2026, 12, 1)
FRIDAY = date(2026, 12, 4)
SAT = date(2026, 12, 5)
SUNDAY = date(2026, 12, 6)


@pytest.fixture
def hall() -> HallCalendar:
    return HallCalendar(WEEK, SHANGHAI)


def test_a_weekday_has_a_morning_and_an_afternoon_in_order_with_their_cut_offs(hall: HallCalendar) -> None:
    morning, afternoon = hall.sessions_on(MONDAY)
    assert (morning.session, afternoon.session) == (MORNING, AFTERNOON)
    assert (morning.start, morning.cutoff, morning.end) == (at(MONDAY, 8, 30), at(MONDAY, 11, 30), at(MONDAY, 12))
    assert (afternoon.start, afternoon.cutoff, afternoon.end) == (at(MONDAY, 14), at(MONDAY, 17), at(MONDAY, 17, 30))
    assert morning.start.tzinfo is SHANGHAI and morning.day == MONDAY
    assert hall.is_working_day(MONDAY) and hall.is_working_day(SAT) and not hall.is_working_day(SUNDAY)


@pytest.mark.parametrize(("hour", "minute", "second", "name"), [
    (8, 29, 59, None), (8, 30, 0, "上午"), (11, 59, 59, "上午"), (12, 0, 0, None), (13, 0, 0, None),
    (13, 59, 59, None), (14, 0, 0, "下午"), (17, 29, 59, "下午"), (17, 30, 0, None), (3, 0, 0, None),
])
def test_a_session_includes_its_start_and_not_its_end_and_lunch_is_closed(hall: HallCalendar, hour: int,
                                                                          minute: int, second: int,
                                                                          name: str | None) -> None:
    span = hall.span_at(at(MONDAY, hour, minute, second))
    assert (span.session.name if span else None) == name


@pytest.mark.parametrize(("hour", "minute", "accepting"), [
    (8, 30, True), (11, 29, True), (11, 30, False), (11, 59, False), (12, 30, False),
    (14, 0, True), (16, 59, True), (17, 0, False), (17, 29, False), (17, 30, False),
])
def test_no_ticket_in_the_last_30_minutes_of_a_session(hall: HallCalendar, hour: int, minute: int,
                                                      accepting: bool) -> None:
    assert hall.accepting(at(MONDAY, hour, minute)) is accepting


def test_an_instant_in_another_zone_is_the_same_instant(hall: HallCalendar) -> None:
    utc = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai
    span = hall.span_at(utc)
    assert span is not None and span.session is AFTERNOON and hall.accepting(utc)
    assert hall.next_open(datetime(2026, 11, 30, 4, 0, tzinfo=UTC)) == at(MONDAY, 14)
    with pytest.raises(ValueError, match="aware"):
        hall.span_at(datetime(2026, 11, 30, 9, 0))


def test_a_holiday_is_closed_even_on_the_saturday_the_hall_opens(hall: HallCalendar) -> None:
    for day in (date(2026, 10, 1), date(2026, 10, 3)):  # a Thursday, and a Saturday
        assert not hall.is_working_day(day) and hall.sessions_on(day) == []
        assert hall.span_at(at(day, 10)) is None and not hall.accepting(at(day, 10))
        assert closing_time(hall, day) is None


def test_a_make_up_saturday_opens_with_a_mondays_sessions(hall: HallCalendar) -> None:
    makeup = date(2026, 10, 10)
    assert hall.is_working_day(makeup)
    assert [(s.start, s.end) for s in hall.sessions_on(makeup)] == [(at(makeup, 8, 30), at(makeup, 12)),
                                                                   (at(makeup, 14), at(makeup, 17, 30))]
    assert hall.accepting(at(makeup, 8, 45)) and hall.accepting(at(makeup, 16))  # not the 09:00 Saturday morning
    sunday = date(2026, 9, 20)
    assert [s.session for s in hall.sessions_on(sunday)] == [MORNING, AFTERNOON]
    assert [(s.start, s.end) for s in hall.sessions_on(SAT)] == [(at(SAT, 9), at(SAT, 12))]  # an ordinary Saturday


@pytest.mark.parametrize(("instant", "opens"), [
    (at(MONDAY, 12), at(MONDAY, 14)),                 # across lunch
    (at(MONDAY, 10), at(MONDAY, 14)),                 # during a session: the next one
    (at(MONDAY, 8, 30), at(MONDAY, 14)),              # a session starting now is not "next"
    (at(MONDAY, 8, 29), at(MONDAY, 8, 30)),
    (at(MONDAY, 17, 30), at(TUESDAY, 8, 30)),         # overnight
    (at(MONDAY, 23, 59), at(TUESDAY, 8, 30)),
    (at(TUESDAY, 2), at(TUESDAY, 8, 30)),             # after midnight
    (at(FRIDAY, 18), at(SAT, 9)),                     # the Saturday morning
    (at(SAT, 12), at(date(2026, 12, 7), 8, 30)),      # over Sunday
    (at(date(2026, 9, 30), 17, 30), at(date(2026, 10, 8), 8, 30)),  # the 国庆 week
    (at(date(2026, 10, 3), 10), at(date(2026, 10, 8), 8, 30)),
    (at(date(2026, 10, 9), 17, 30), at(date(2026, 10, 10), 8, 30)),  # the 调休 Saturday, at Monday's time
])
def test_next_open(hall: HallCalendar, instant: datetime, opens: datetime) -> None:
    assert hall.next_open(instant) == opens


@pytest.mark.parametrize(("instant", "text"), [
    (at(MONDAY, 12, 10), "今天 14:00"),
    (at(MONDAY, 7), "今天 08:30"),
    (at(MONDAY, 18), "明天 08:30"),
    (at(TUESDAY, 0, 30), "今天 08:30"),
    (at(FRIDAY, 17, 45), "明天 09:00"),
    (at(SAT, 11, 45), "12月7日（周一）08:30"),
    (at(date(2026, 9, 30), 18), "10月8日（周四）08:30"),
    (at(date(2026, 11, 27), 18), "明天 09:00"),
    (at(date(2026, 11, 28), 12), "11月30日（周一）08:30"),
])
def test_describe_next_open_for_the_kiosk(hall: HallCalendar, instant: datetime, text: str) -> None:
    assert hall.describe_next_open(instant) == text


def test_describe_next_open_into_the_next_year() -> None:
    new_year = CalendarConfig(sessions=WEEK.sessions, holidays=frozenset({date(2027, 1, 1), date(2027, 1, 2)}))
    hall = HallCalendar(new_year, SHANGHAI)
    assert hall.describe_next_open(at(date(2026, 12, 31), 18)) == "1月4日（周一）08:30"
    assert hall.describe_next_open(datetime(2026, 12, 31, 10, 0, tzinfo=UTC)) == "1月4日（周一）08:30"  # 18:00


def test_closing_time_is_the_end_of_the_last_session(hall: HallCalendar) -> None:
    assert closing_time(hall, MONDAY) == at(MONDAY, 17, 30)
    assert closing_time(hall, SAT) == at(SAT, 12)
    assert closing_time(hall, date(2026, 10, 10)) == at(date(2026, 10, 10), 17, 30)
    assert closing_time(hall, SUNDAY) is None


@pytest.mark.parametrize(("instant", "ended", "resume"), [
    (at(MONDAY, 8), None, None),  # before the first session
    (at(MONDAY, 11, 59), None, None),  # 上午 still open
    (at(MONDAY, 12), "上午", at(MONDAY, 14)),  # the midday break: the afternoon takes over
    (at(MONDAY, 13, 59), "上午", at(MONDAY, 14)),
    (at(MONDAY, 14), None, None),
    (at(MONDAY, 17, 30), "下午", at(TUESDAY, 0)),  # the evening: the next business day takes over
    (at(MONDAY, 23, 59), "下午", at(TUESDAY, 0)),
    (at(SAT, 12, 30), "上午", at(SUNDAY, 0)),  # Saturday has only a morning: its 12:00 is closing time
    (at(SUNDAY, 10), None, None),  # a closed day has no session to follow
])
def test_which_session_a_break_follows_and_when_regular_hours_resume(
        hall: HallCalendar, instant: datetime, ended: str | None, resume: datetime | None) -> None:
    span = hall.ended_before(instant)
    assert (span.session.name if span else None) == ended
    assert (hall.regular_hours_resume(span.end) if span else None) == resume


def test_without_a_calendar_the_hall_is_open_at_any_hour() -> None:
    hall = HallCalendar(CalendarConfig(), SHANGHAI)
    assert CalendarConfig().sessions == (ALL_DAY,) and CalendarConfig().cutoff_minutes == 0
    night = at(SUNDAY, 3)
    assert hall.is_working_day(SUNDAY) and hall.accepting(night)
    span = hall.span_at(night)
    assert span is not None and span.session is ALL_DAY
    assert (span.start, span.end) == (at(SUNDAY, 0), at(SUNDAY + timedelta(days=1), 0))
    assert hall.accepting(at(SUNDAY, 23, 59, 59)) and hall.accepting(at(SUNDAY + timedelta(days=1), 0))
    assert closing_time(hall, SUNDAY) == at(SUNDAY + timedelta(days=1), 0)
    assert hall.describe_next_open(night) == "明天 00:00"
    assert hall.ended_before(at(SUNDAY, 23, 59, 59)) is None  # no break, so no 延时服务: only the day's end
    closed = HallCalendar(CalendarConfig(holidays=frozenset({SUNDAY})), SHANGHAI)
    assert not closed.accepting(night) and closed.next_open(night) == at(SUNDAY + timedelta(days=1), 0)


def test_a_calendar_that_never_opens_says_so() -> None:
    hall = HallCalendar(CalendarConfig(sessions=()), SHANGHAI)
    assert hall.next_open(at(MONDAY, 9)) is None and not hall.accepting(at(MONDAY, 9))
    assert hall.describe_next_open(at(MONDAY, 9)) == "暂无开放时间"
    only_mondays = CalendarConfig(sessions=(Session("上午", time(9), time(12), (1,)),),
                                  holidays=frozenset(MONDAY + timedelta(weeks=w) for w in range(60)))
    assert HallCalendar(only_mondays, SHANGHAI).next_open(at(MONDAY, 7)) is None  # nothing within ~400 days


def test_daylight_saving_days_are_as_long_as_they_really_are() -> None:
    spring, autumn = date(2026, 3, 8), date(2026, 11, 1)  # New York: 02:00 → 03:00, then 02:00 → 01:00
    hall = HallCalendar(CalendarConfig(cutoff_minutes=60), NEW_YORK)
    for day, hours in ((spring, 23), (autumn, 25), (date(2026, 6, 1), 24)):
        (span,) = hall.sessions_on(day)
        assert span.end.astimezone(UTC) - span.start.astimezone(UTC) == timedelta(hours=hours)
        assert span.end.astimezone(UTC) - span.cutoff.astimezone(UTC) == timedelta(hours=1)
    # both 01:30s of the autumn night are inside the day's session, and accepting
    first, second = datetime(2026, 11, 1, 5, 30, tzinfo=UTC), datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    assert hall.span_at(first) == hall.span_at(second) and hall.accepting(first) and hall.accepting(second)
    assert not hall.accepting(datetime(2026, 11, 2, 4, 30, tzinfo=UTC))  # 23:30 EST: in the last hour

    early = CalendarConfig(sessions=(Session("夜", time(2, 30), time(4), (7,)),))
    (span,) = HallCalendar(early, NEW_YORK).sessions_on(spring)  # 02:30 does not exist that night
    assert span.start.astimezone(UTC) == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)  # = 03:30 EDT, after the gap
    assert span.end.astimezone(UTC) - span.start.astimezone(UTC) == timedelta(minutes=30)
    assert HallCalendar(early, NEW_YORK).next_open(datetime(2026, 3, 8, 6, 0, tzinfo=UTC)) == span.start
