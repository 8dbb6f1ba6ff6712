"""The hall's figures for a day or a date range, computed from the event log alone (ticket_events joined to
tickets), so any past period can be recomputed: issued, served, no-show, transferred; waiting and service times;
arrivals per hour; the satisfaction rate; the case types; 承诺件 completed on time; appointments kept; 延时服务.

A ticket belongs to the period of its business date, and so do its rating and its case even when they come
later (a phone rating the next day, a 承诺件 completed next week). Definitions, for anyone recomputing them:

- issued: ``issued`` events (a transfer continues a ticket, it is not a new one); arrivals per hour by the local
  hour of those events.
- served: ``finished`` events; no-show: ``no_show`` events (a ticket called again by 特呼 and missed again counts
  twice); transferred: ``transferred`` events. Counted for the window and the staff member of the event.
- waiting time: from the ticket row's issue (for a transferred ticket: the transfer) to its first ``called``;
  counted for the window and staff member who called. Service time: from the last ``started`` after the last
  ``called`` (else that ``called``) to ``finished``; for the window and staff member who finished.
  Mean, median (the mean of the two middle values for an even count) and p90 (nearest rank), in seconds.
- satisfaction: each finished ticket's last word (``rated`` beats an earlier ``unrated``), for the window and the
  staff member who finished it; the rate as ``formula`` says.
- cases: ``case_recorded``; 即办件 share of all recorded cases; a 承诺件 is on time when completed (``case_completed``)
  on or before its date by the hall's calendar, late after it, overdue when still open after it; the on-time rate
  counts those whose outcome is known (on time + late + overdue).
- appointments kept: checked in / (checked in + forfeited) of the appointments dated in the period
  (``appointment_checked_in`` / ``appointment_forfeited`` events, detail ``{"appointment", "service", "date"}``).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from server.auth import clerk_cards
from server.clock import Clock, business_date
from server.config import HallConfig
from server.db import Storage
from server.models import Ticket, TicketEvent
from server.vocabulary import CASE_TYPES, RATING_LEVELS, UNRATED_RULES

PLAIN_ACTIONS = ("issued", "called", "started", "finished", "no_show", "transferred", "case_completed",
                 "case_replied")
DETAILED_ACTIONS = ("rated", "unrated", "case_recorded")
APPOINTMENT_ACTIONS = ("appointment_checked_in", "appointment_forfeited")
UNRATED = "unrated"
SCOPES = ("service", "window", "clerk")

Key = tuple[str, Any]


class _Group:
    """The running figures of one scope: the whole period, a day, a service, a window or a staff member."""

    __slots__ = ("appointments", "approval", "cases", "issued", "no_show", "promised", "ratings", "served",
                 "service_times", "transferred", "waits")

    def __init__(self) -> None:
        self.issued = self.served = self.no_show = self.transferred = 0
        self.waits: list[float] = []
        self.service_times: list[float] = []
        self.ratings: Counter[str] = Counter()
        self.cases: Counter[str] = Counter()
        self.promised: Counter[str] = Counter()
        self.approval: Counter[str] = Counter()
        self.appointments: Counter[str] = Counter()


class _Ticket:
    """What the log says about one ticket row, folded in event order."""

    __slots__ = ("called", "case", "case_closed", "day", "finished", "issued_at", "last_called", "rating",
                 "service", "started")

    def __init__(self, service: str, day: date, issued_at: datetime) -> None:
        self.service, self.day, self.issued_at = service, day, issued_at
        self.called: tuple[datetime, int | None, str] | None = None
        self.last_called: datetime | None = None
        self.started: datetime | None = None
        self.finished: tuple[datetime, int | None, str] | None = None
        self.rating: tuple[str, int | None, str] | None = None
        self.case: tuple[str, int | None, str, date | None] | None = None
        self.case_closed: datetime | None = None


def summary(values: list[float]) -> dict[str, float | int | None]:
    """n, mean, median and p90 (nearest rank) in seconds, one decimal."""
    if not values:
        return {"n": 0, "mean": None, "median": None, "p90": None}
    ordered = sorted(values)
    p90 = ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]
    return {"n": len(ordered), "mean": round(statistics.fmean(ordered), 1),
            "median": round(statistics.median(ordered), 1), "p90": round(p90, 1)}


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


class Statistics:
    def __init__(self, storage: Storage, config: HallConfig, clock: Clock,
                 extended: Callable[[date, date], dict[str, Any]]):
        self.storage = storage
        self.config = config
        self.clock = clock
        self.extended = extended
        self.zone = config.timezone

    def satisfaction_rate(self, ratings: Counter[str]) -> float | None:
        """(非常满意 + 满意 [+ 基本满意]) / the ratings, with 未评价 left out or counted as config.toml says."""
        settings = self.config.evaluation
        good = ratings["very_satisfied"] + ratings["satisfied"]
        if settings.basic_counts_satisfied:
            good += ratings["basic"]
        rated = sum(ratings[level] for level in RATING_LEVELS)
        unrated = ratings[UNRATED]
        if settings.unrated == "satisfied" or (settings.unrated == "basic" and settings.basic_counts_satisfied):
            good += unrated
        if settings.unrated != "exclude":
            rated += unrated
        return _ratio(good, rated)

    def formula(self) -> dict[str, Any]:
        settings = self.config.evaluation
        good = "非常满意+满意" + ("+基本满意" if settings.basic_counts_satisfied else "")
        whole = "五级评价总数" + ("" if settings.unrated == "exclude" else "+未评价")
        if settings.unrated == "satisfied" or (settings.unrated == "basic" and settings.basic_counts_satisfied):
            good += "+未评价"
        return {"basic_counts_satisfied": settings.basic_counts_satisfied, "unrated": settings.unrated,
                "unrated_name": UNRATED_RULES[settings.unrated], "target_rate": settings.target_rate,
                "text": f"满意率 = （{good}）÷（{whole}）；未评价{UNRATED_RULES[settings.unrated]}"}

    # ------------------------------------------------------------------ the report

    def report(self, first: date, last: date) -> dict[str, Any]:
        now = self.clock.now()
        today = business_date(now, self.zone)
        groups: dict[Key, _Group] = defaultdict(_Group)
        hours = [0] * 24
        with self.storage.read() as session:
            tickets = self._fold(session, first, last, groups, hours)
            self._appointments(session, first, last, groups)
            for ticket in tickets.values():
                self._tally(ticket, groups, today)
            clerks = clerk_cards(session, {key for scope, key in groups if scope == "clerk"})
        return {"from": first.isoformat(), "to": last.isoformat(), "days": (last - first).days + 1,
                "generated_at": now.isoformat(), "timezone": self.zone.key, "formula": self.formula(),
                "total": self._json(groups[("total", None)], "total", "合计"),
                "by_day": [self._json(groups[("day", day)], day.isoformat(), day.isoformat())
                           for day in _days(first, last)],
                "by_service": [self._json(groups[("service", s.code)], s.code, s.name)
                               for s in self.config.services if ("service", s.code) in groups],
                "by_window": [self._json(groups[("window", w.id)], w.id, w.name, per_window=True)
                              for w in self.config.windows if ("window", w.id) in groups],
                "by_clerk": sorted((self._json(groups[("clerk", name)], name, clerks[name]["name"], per_window=True,
                                               staff_no=clerks[name]["staff_no"])
                                    for scope, name in list(groups) if scope == "clerk"),
                                   key=lambda g: (not g["staff_no"], g["staff_no"], g["key"])),
                "arrivals_by_hour": hours,
                "extended": {k: v for k, v in self.extended(first, last).items() if k != "records"}}

    def _fold(self, session: Any, first: date, last: date, groups: dict[Key, _Group],
              hours: list[int]) -> dict[int, _Ticket]:
        """Read the period's tickets and events once, in order, into one record per ticket; count what needs no
        pairing. Three plain queries: the tickets, the events without their detail, the few events whose detail
        matters (a JSON document each: parsing all 50 000 of a month took longer than everything else)."""
        period = (Ticket.business_date >= first, Ticket.business_date <= last)
        tickets = {row.id: _Ticket(row.service, row.business_date, row.issued_at) for row in session.execute(
            select(Ticket.id, Ticket.service, Ticket.business_date, Ticket.issued_at).where(*period))}
        plain = session.execute(
            select(TicketEvent.ticket_id, TicketEvent.action, TicketEvent.window_id, TicketEvent.actor,
                   TicketEvent.at).join(Ticket, Ticket.id == TicketEvent.ticket_id)
            .where(*period, TicketEvent.action.in_(PLAIN_ACTIONS)).order_by(TicketEvent.id))
        for ticket_id, action, window, actor, at in plain:
            ticket = tickets[ticket_id]
            if action == "issued":
                hours[at.astimezone(self.zone).hour] += 1
                for key in (("total", None), ("day", ticket.day), ("service", ticket.service)):
                    groups[key].issued += 1
            elif action == "called":
                ticket.called = ticket.called or (at, window, actor)
                ticket.last_called = at
            elif action == "started":
                ticket.started = at
            elif action == "finished":
                ticket.finished = (at, window, actor)
            elif action in ("no_show", "transferred"):
                for key in _keys(ticket.day, ticket.service, window, actor):
                    group = groups[key]
                    if action == "no_show":
                        group.no_show += 1
                    else:
                        group.transferred += 1
            else:  # case_completed, case_replied
                ticket.case_closed = at
        detailed = session.execute(
            select(TicketEvent.ticket_id, TicketEvent.action, TicketEvent.window_id, TicketEvent.actor,
                   TicketEvent.detail).join(Ticket, Ticket.id == TicketEvent.ticket_id)
            .where(*period, TicketEvent.action.in_(DETAILED_ACTIONS)).order_by(TicketEvent.id))
        for ticket_id, action, window, actor, detail in detailed:
            ticket = tickets[ticket_id]
            if action == "rated":
                ticket.rating = (detail["level"], window, detail["clerk"])
            elif action == "unrated":
                ticket.rating = ticket.rating or (UNRATED, window, detail["clerk"])
            else:  # case_recorded
                due = detail.get("due")
                ticket.case = (detail["type"], window, actor, date.fromisoformat(due) if due else None)
        return tickets

    def _tally(self, ticket: _Ticket, groups: dict[Key, _Group], today: date) -> None:
        if ticket.called is not None:
            at, window, actor = ticket.called
            for key in _keys(ticket.day, ticket.service, window, actor):
                groups[key].waits.append((at - ticket.issued_at).total_seconds())
        if ticket.finished is not None:
            at, window, actor = ticket.finished
            start = ticket.last_called
            if ticket.started is not None and (start is None or ticket.started >= start):
                start = ticket.started
            for key in _keys(ticket.day, ticket.service, window, actor):
                group = groups[key]
                group.served += 1
                if start is not None:
                    group.service_times.append((at - start).total_seconds())
        if ticket.rating is not None:
            level, window, clerk = ticket.rating
            for key in _keys(ticket.day, ticket.service, window, clerk):
                groups[key].ratings[level] += 1
        if ticket.case is not None:
            kind, window, actor, due = ticket.case
            outcome = self._outcome(kind, due, ticket.case_closed, today)
            for key in _keys(ticket.day, ticket.service, window, actor):
                group = groups[key]
                group.cases[kind] += 1
                if kind == "promised":
                    group.promised[outcome] += 1
                elif kind == "approval":
                    group.approval[outcome] += 1

    def _outcome(self, kind: str, due: date | None, closed: datetime | None, today: date) -> str:
        if closed is not None:
            if kind == "approval":
                return "replied"
            return "on_time" if due is None or business_date(closed, self.zone) <= due else "late"
        return "overdue" if due is not None and today > due else "pending"

    def _appointments(self, session: Any, first: date, last: date, groups: dict[Key, _Group]) -> None:
        """Appointments dated in the period, by their own date (the event's time may be the day before)."""
        since = datetime.combine(first - timedelta(days=1), time(0), self.zone).astimezone(UTC)
        rows = session.execute(select(TicketEvent.action, TicketEvent.detail).where(
            TicketEvent.action.in_(APPOINTMENT_ACTIONS), TicketEvent.at >= since))
        outcome: dict[Any, tuple[str, date, str]] = {}
        for action, detail in rows:
            try:
                day = date.fromisoformat(detail["date"])
                appointment, service = detail["appointment"], detail["service"]
            except (KeyError, TypeError, ValueError):
                continue  # a malformed row must not hide the rest of the figures
            if first <= day <= last and outcome.get(appointment, ("",))[0] != "checked_in":
                outcome[appointment] = (action.removeprefix("appointment_"), day, service)
        for kind, day, service in outcome.values():
            for key in (("total", None), ("day", day), ("service", service)):
                groups[key].appointments[kind] += 1

    # ------------------------------------------------------------------ JSON

    def _json(self, group: _Group, key: Any, name: str, per_window: bool = False,
              staff_no: str | None = None) -> dict[str, Any]:
        cases_total = sum(group.cases.values())
        promised, approval, kept = group.promised, group.approval, group.appointments
        answer: dict[str, Any] = {
            "key": key, "name": name, "issued": None if per_window else group.issued, "served": group.served,
            "no_show": group.no_show, "transferred": group.transferred, "waiting": summary(group.waits),
            "service_time": summary(group.service_times),
            "ratings": {level: group.ratings[level] for level in (*RATING_LEVELS, UNRATED)},
            "rated": sum(group.ratings[level] for level in RATING_LEVELS),
            "satisfaction_rate": self.satisfaction_rate(group.ratings),
            "cases": {kind: group.cases[kind] for kind in CASE_TYPES},
            "immediate_share": _ratio(group.cases["immediate"], cases_total),
            "promised": {"total": group.cases["promised"], "on_time": promised["on_time"], "late": promised["late"],
                         "overdue": promised["overdue"], "pending": promised["pending"],
                         "on_time_rate": _ratio(promised["on_time"],
                                                promised["on_time"] + promised["late"] + promised["overdue"])},
            "approval": {"total": group.cases["approval"], "replied": approval["replied"],
                         "overdue": approval["overdue"], "pending": approval["pending"]},
            "appointments": None if per_window else {
                "checked_in": kept["checked_in"], "forfeited": kept["forfeited"],
                "kept_rate": _ratio(kept["checked_in"], kept["checked_in"] + kept["forfeited"])},
        }
        if staff_no is not None:
            answer["staff_no"] = staff_no
        return answer


def _keys(day: date, service: str, window: int | None, staff: str) -> Iterable[Key]:
    return (("total", None), ("day", day), ("service", service), ("window", window), ("clerk", staff))


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=k) for k in range((last - first).days + 1)]
