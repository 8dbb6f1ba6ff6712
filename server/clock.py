"""Time for the whole server comes from a Clock, so tests set it instead of sleeping."""

from __future__ import annotations

import re
import threading
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to: for tests and simulations."""

    def __init__(self, start: datetime):
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, instant: datetime) -> None:
        with self._lock:
            self._now = instant.astimezone(UTC)

    def advance(self, **delta: float) -> datetime:
        with self._lock:
            self._now += timedelta(**delta)
            return self._now


def business_date(instant: datetime, zone: tzinfo) -> date:
    """The hall's business date is the local calendar date where the hall is."""
    return instant.astimezone(zone).date()


#: A time of day "HH:MM", 00:00-23:59, as staff type it (a slot, a duty log entry's time)
HH_MM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


def wall_time(text: str) -> time | None:
    """``text`` as a time of day when it is exactly "HH:MM", else None: the one parser of the times staff type."""
    return time.fromisoformat(text) if HH_MM.fullmatch(text) else None


def calendar_day(text: str) -> date | None:
    """``text`` as a date (YYYY-MM-DD, or another ISO form Python reads), else None: the one parser of the dates
    the API is given."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None
