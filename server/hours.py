"""Opening hours as the hall's people hear them: whether the kiosk may issue now, and if not, what to say.

Pure: the calendar and an instant in, plain values out. The engine turns a refusal into an error for the
kiosk and into a recorded override when staff issue anyway (the kiosk must never be the only channel).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from server.calendar import HallCalendar


@dataclass(frozen=True)
class Refusal:
    code: str  # hall_closed, cut_off, session_cap_reached
    message: str


class Hours:
    def __init__(self, calendar: HallCalendar):
        self.calendar = calendar

    def refusal(self, now: datetime) -> Refusal | None:
        """Why the kiosk may not issue at ``now``; None when it may."""
        if self.calendar.accepting(now):
            return None
        following = self.calendar.describe_next_open(now)
        span = self.calendar.span_at(now)
        if span is not None:  # open, but past the session's ticket cut-off
            return Refusal("cut_off", f"{span.session.name}已停止取号（{span.cutoff:%H:%M}截止，{span.end:%H:%M}"
                                      f"下班）。下次取号：{following}。可到导询台咨询或预约")
        return Refusal("hall_closed", f"现在不是办理时间。下次开放：{following}。可到导询台咨询或预约")

    def session_cap(self, service_name: str, now: datetime) -> Refusal:
        following = self.calendar.describe_next_open(now)
        return Refusal("session_cap_reached", f"本时段「{service_name}」号已取完。下个时段：{following}。"
                                              "也可到导询台咨询")

    def session_start(self, now: datetime) -> datetime | None:
        span = self.calendar.span_at(now)
        return span.start if span is not None else None

    def status(self, now: datetime) -> dict[str, Any]:
        """``state`` open or closed, the session, whether the kiosk issues, and when the hall opens next."""
        span = self.calendar.span_at(now)
        following = self.calendar.next_open(now)
        return {
            "state": "open" if span is not None else "closed",
            "accepting": self.calendar.accepting(now),
            "session": {"name": span.session.name, "start": span.start.isoformat(), "end": span.end.isoformat(),
                        "cutoff": span.cutoff.isoformat()} if span is not None else None,
            "next_open": following.isoformat() if following is not None else None,
            "next_open_text": self.calendar.describe_next_open(now),
        }
