"""The hall's calendar: weekly sessions, statutory holidays, make-up working days (调休) and the ticket cut-off.

Pure domain code: every question is asked about an instant passed in (an aware datetime, from the server's Clock),
never about "now". Local times are turned into instants with zoneinfo, and instants are compared and shifted in
UTC, so a zone with daylight saving time works too (Asia/Shanghai has none).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, Protocol

from pydantic import field_validator, model_validator
from pydantic_core import PydanticCustomError

from server.clock import business_date
from server.config_types import (
    WORKING_WEEK,
    Dates,
    EndOfDay,
    Text,
    TimeOfDay,
    Weekdays,
    between,
    config_table,
    dates_of,
    refuse,
)
from server.vocabulary import WEEKDAY_NAMES

#: How far next_open looks ahead before deciding the calendar never opens.
SEARCH_DAYS = 400


class Weekly(Protocol):
    """A period of the week: a session of the calendar, a slot of appointments."""

    @property
    def start(self) -> time: ...

    @property
    def end(self) -> time | None: ...

    @property
    def days(self) -> tuple[int, ...]: ...


def minute_of(moment: time | None) -> int:
    """Minutes since midnight; None (24:00) is the end of the day."""
    return 24 * 60 if moment is None else moment.hour * 60 + moment.minute


def refuse_overlaps(periods: Sequence[Weekly], tablename: str, label: Callable[[Any], str]) -> None:
    """Two periods on a common weekday must not overlap: the later one is refused, naming the earlier."""
    for j, later in enumerate(periods):
        for i, earlier in enumerate(periods[:j]):
            common = sorted(set(earlier.days) & set(later.days))
            if common and minute_of(later.start) < minute_of(earlier.end) and \
                    minute_of(earlier.start) < minute_of(later.end):
                raise refuse(f"{label(later)} overlaps {tablename}[{i}] {label(earlier)} on "
                             f"{'、'.join(WEEKDAY_NAMES[d] for d in common)}", j)


@config_table
class Session:
    """A weekly opening period, e.g. 上午 08:30-12:00 Monday to Friday (config.toml ``[[calendar.sessions]]``)."""

    name: Text
    start: TimeOfDay
    #: None: 24:00, the end of the day
    end: EndOfDay
    #: ISO weekdays, 1 = Monday … 7 = Sunday
    days: Weekdays = WORKING_WEEK

    @model_validator(mode="after")
    def _ends_after_start(self) -> Session:
        if self.end is not None and self.end <= self.start:
            raise refuse(f"{self.end:%H:%M} is not after start {self.start:%H:%M}", "end")
        return self

    def minutes(self) -> int:
        """The session's length on the wall clock."""
        return minute_of(self.end) - minute_of(self.start)

    def label(self) -> str:
        """E.g. 上午 08:30-12:00."""
        end = "24:00" if self.end is None else f"{self.end:%H:%M}"
        return f"{self.name} {self.start:%H:%M}-{end}"


#: Open at any hour, every day: the calendar of a hall whose config.toml has no [calendar].
ALL_DAY = Session("全天", time(0), None, (1, 2, 3, 4, 5, 6, 7))


@config_table
class CalendarConfig:
    """config.toml ``[calendar]``."""

    sessions: tuple[Session, ...] = (ALL_DAY,)
    #: closed days (法定节假日), whatever their weekday
    holidays: Dates = frozenset()
    #: make-up working days (调休上班), usually a Saturday or Sunday: open with a Monday's sessions
    workdays: Dates = frozenset()
    #: the kiosk stops issuing tickets this many minutes before a session ends
    cutoff_minutes: between(0, 240, "minutes") = 0

    @field_validator("sessions")
    @classmethod
    def _sessions_apart(cls, sessions: tuple[Session, ...]) -> tuple[Session, ...]:
        if not sessions:
            raise refuse("at least one session (leave sessions out: open at all hours)")
        refuse_overlaps(sessions, "sessions", Session.label)
        return sessions

    @model_validator(mode="before")
    @classmethod
    def _workdays_not_holidays(cls, data: Any) -> Any:
        """Named by its place in the list as written, which the set of dates forgets."""
        holidays, workdays = (data.get(key) if isinstance(data, dict) else None for key in ("holidays", "workdays"))
        if isinstance(holidays, list) and isinstance(workdays, list):
            try:
                closed, opened = set(dates_of(holidays)), dates_of(workdays)
            except PydanticCustomError:
                return data  # the field itself says what is wrong
            for k, day in enumerate(opened):
                if day in closed:
                    raise refuse(f"{day} is also in holidays: a day is closed or open", "workdays", k)
        return data

    @model_validator(mode="after")
    def _open_days_make_sense(self) -> CalendarConfig:
        for i, session in enumerate(self.sessions):
            if self.cutoff_minutes >= session.minutes():
                raise refuse(f"{self.cutoff_minutes} minutes is not shorter than sessions[{i}] {session.label()} "
                             f"({session.minutes()} minutes): it could issue no ticket", "cutoff_minutes")
        if self.workdays and not any(1 in s.days for s in self.sessions):
            raise refuse("a 调休 working day opens with a Monday's sessions, and no session lists Monday (1) in its "
                         "days", "workdays")
        return self


@dataclass(frozen=True)
class OpenSpan:
    """One session on one date, as instants in the hall's zone.

    Python compares and subtracts two datetimes of the same zone by their wall clocks: for a length across a
    daylight-saving change, convert to UTC first (``contains`` does).
    """

    session: Session
    start: datetime
    end: datetime
    #: end − cutoff_minutes: from here on no more tickets are issued
    cutoff: datetime

    @property
    def day(self) -> date:
        return self.start.date()

    def contains(self, instant: datetime) -> bool:
        """Start inclusive, end exclusive."""
        return _utc(self.start) <= _utc(instant) < _utc(self.end)


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("the calendar needs an aware datetime")
    return instant.astimezone(UTC)


class HallCalendar:
    def __init__(self, config: CalendarConfig, zone: tzinfo):
        self.config = config
        self.zone = zone

    # ---------------------------------------------------------------- days

    def is_working_day(self, day: date) -> bool:
        """Holidays are closed; a 调休 working day is open; otherwise a day some session lists is."""
        if day in self.config.holidays:
            return False
        if day in self.config.workdays:
            return True
        return any(day.isoweekday() in s.days for s in self.config.sessions)

    def sessions_on(self, day: date) -> list[OpenSpan]:
        """The day's sessions in order; a 调休 working day has those of a Monday; none on a closed day."""
        if not self.is_working_day(day):
            return []
        weekday = 1 if day in self.config.workdays else day.isoweekday()
        spans = [self._span(day, s) for s in self.config.sessions if weekday in s.days]
        return sorted(spans, key=lambda span: _utc(span.start))

    def add_working_days(self, day: date, count: int) -> date:
        """The ``count``-th working day after ``day`` (day itself not counted): 5 个工作日 from a Friday is the next
        Friday, holidays skipped and 调休 days counted. ``count`` 0 is ``day`` itself."""
        current = day
        for _ in range(SEARCH_DAYS):
            if count <= 0:
                break
            current += timedelta(days=1)
            if self.is_working_day(current):
                count -= 1
        return current

    def working_days_between(self, first: date, last: date) -> int:
        """Working days in (first, last]; negative, counted the same way, when ``last`` is before ``first``:
        the 还剩 / 超期 N 个工作日 of a deadline."""
        if last < first:
            return -self.working_days_between(last, first)
        return sum(self.is_working_day(first + timedelta(days=k)) for k in range(1, (last - first).days + 1))

    def last_session(self, day: date) -> OpenSpan | None:
        """The day's last session, whose end is closing time; None on a closed day."""
        spans = self.sessions_on(day)
        return max(spans, key=lambda span: _utc(span.end)) if spans else None

    def day_start(self, day: date) -> datetime:
        """Midnight at the start of a date in the hall's zone: where one business day ends and the next begins."""
        return self._at(day, time(0))

    # ---------------------------------------------------------------- instants

    def span_at(self, instant: datetime) -> OpenSpan | None:
        """The session open at this instant (start inclusive, end exclusive), or None."""
        day = self._day(instant)
        return next((span for span in self.sessions_on(day) if span.contains(instant)), None)

    def accepting(self, instant: datetime) -> bool:
        """Inside a session and before its cut-off: the kiosk may issue a ticket."""
        span = self.span_at(instant)
        return span is not None and _utc(instant) < _utc(span.cutoff)

    def next_open(self, instant: datetime) -> datetime | None:
        """The start of the first session that starts after this instant; None if none within ~400 days."""
        after = _utc(instant)
        day = self._day(instant)
        for offset in range(SEARCH_DAYS + 1):
            for span in self.sessions_on(day + timedelta(days=offset)):
                if _utc(span.start) > after:
                    return span.start
        return None

    def ended_before(self, instant: datetime) -> OpenSpan | None:
        """The session of this instant's day that ended last, when none is open at it: the break or the evening
        that 延时服务 may fill; None during a session or before the day's first."""
        if self.span_at(instant) is not None:
            return None
        ended = [span for span in self.sessions_on(self._day(instant)) if _utc(span.end) <= _utc(instant)]
        return ended[-1] if ended else None

    def regular_hours_resume(self, session_end: datetime) -> datetime:
        """Where 延时服务 after a session's end gives way: the next session of that day, else the next business
        day's beginning (its residents are then served in regular hours, or flagged as left open)."""
        midnight = self.day_start(self._day(session_end) + timedelta(days=1))
        following = self.next_open(session_end)
        return following if following is not None and _utc(following) < _utc(midnight) else midnight

    def describe_next_open(self, instant: datetime) -> str:
        """When the hall opens next, for the kiosk: 今天 14:00, 明天 08:30 or 12月1日（周一）08:30."""
        opens = self.next_open(instant)
        if opens is None:
            return "暂无开放时间"
        days = (opens.date() - self._day(instant)).days
        if days == 0:
            when = "今天"
        elif days == 1:
            when = "明天"
        else:
            when = f"{opens.month}月{opens.day}日（{WEEKDAY_NAMES[opens.isoweekday()]}）"
        return f"{when} {opens:%H:%M}" if days <= 1 else f"{when}{opens:%H:%M}"

    # ---------------------------------------------------------------- helpers

    def _day(self, instant: datetime) -> date:
        """The business date of an aware instant (a naive one is refused: whose wall clock would it be?)."""
        return business_date(_utc(instant), self.zone)

    def _at(self, day: date, wall: time) -> datetime:
        """The instant of a wall-clock time on a date; a time skipped by a DST change lands after the gap."""
        naive = datetime.combine(day, wall)
        return naive.replace(tzinfo=self.zone).astimezone(UTC).astimezone(self.zone)

    def _span(self, day: date, session: Session) -> OpenSpan:
        start = self._at(day, session.start)
        end = self._at(day + timedelta(days=1), time(0)) if session.end is None else self._at(day, session.end)
        cutoff = (_utc(end) - timedelta(minutes=self.config.cutoff_minutes)).astimezone(self.zone)
        return OpenSpan(session=session, start=start, end=end, cutoff=cutoff)
