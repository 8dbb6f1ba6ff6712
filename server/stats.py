"""The hall's figures for a day or a date range, computed from the event log (ticket_events joined to tickets),
the case records and the complaint register, so any past period can be recomputed: issued, served, no-show,
transferred; waiting and service times; arrivals per hour; the satisfaction rate; the case types and their
deadlines; complaints; appointments kept; 延时服务; the staff assessment's score (server/assessment.py).

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
- cases: the ``cases`` rows of the period's tickets, for the window and 承办人 of the row. 即办件 recorded by default
  (``chosen`` false: call-next or F5 finished the resident, nobody chose) are counted apart: the 即办件 share is
  即办件 a clerk chose ÷ cases a clerk chose, the defaults left out of both (办件管理 3.1; issue 16 point 5).
- deadlines (each: on time when done by its date by the hall's business day, late after it, overdue when not
  done and past it, pending otherwise; the on-time rate over on time + late + overdue): a 承诺件 closed by ``due``
  (3.4.2.2), extended when ``extensions`` > 0; a 报批件's 上报 (``forwarded_at`` by ``forward_due``) and its answer
  to the resident (``closed_at`` by ``answer_due``, counted once the 批复 arrived, else "awaiting", 2.4 and
  3.5.2.2; a record migrated from before issue 16 has no forwarding time nor answer date: left out of both); a
  退回件's 复核 when the resident asked for one (``reviewed_at`` by ``review_due``, 3.2.2.1-3.2.2.3).
- complaints: by their own business date; received for the hall, received and upheld (投诉属实) for the window
  and the clerk complained about.
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

from server import assessment
from server.auth import clerk_cards
from server.clock import Clock, business_date
from server.config import HallConfig
from server.db import Storage
from server.models import CaseRecord, Complaint, Ticket, TicketEvent
from server.vocabulary import CASE_TYPES, RATING_LEVELS, UNRATED_RULES

PLAIN_ACTIONS = ("issued", "called", "started", "finished", "no_show", "transferred")
DETAILED_ACTIONS = ("rated", "unrated")
APPOINTMENT_ACTIONS = ("appointment_checked_in", "appointment_forfeited")
UNRATED = "unrated"
SCOPES = ("service", "window", "clerk")

Key = tuple[str, Any]


class Group:
    """The running figures of one scope: the whole period, a day, a service, a window or a staff member."""

    __slots__ = ("answer", "appointments", "cases", "complaints", "defaults", "forward", "issued", "no_show",
                 "promised", "ratings", "review", "served", "service_times", "transferred", "waits")

    def __init__(self) -> None:
        self.issued = self.served = self.no_show = self.transferred = 0
        self.waits: list[float] = []
        self.service_times: list[float] = []
        self.ratings: Counter[str] = Counter()
        self.cases: Counter[str] = Counter()
        #: 即办件 nobody chose (call-next or F5 recorded the default)
        self.defaults = 0
        #: 承诺件 by outcome, and "extended" (cases) and "extensions" (times)
        self.promised: Counter[str] = Counter()
        #: 报批件 by the outcome of each stage: 上报, the answer to the resident after the 批复 ("awaiting": no 批复)
        self.forward: Counter[str] = Counter()
        self.answer: Counter[str] = Counter()
        #: 退回件 whose resident asked for 复核, by outcome ("requested": all of them)
        self.review: Counter[str] = Counter()
        #: "received" and "upheld" (投诉属实)
        self.complaints: Counter[str] = Counter()
        self.appointments: Counter[str] = Counter()


class _Ticket:
    """What the log says about one ticket row, folded in event order."""

    __slots__ = ("called", "day", "finished", "issued_at", "last_called", "rating", "service", "started")

    def __init__(self, service: str, day: date, issued_at: datetime) -> None:
        self.service, self.day, self.issued_at = service, day, issued_at
        self.called: tuple[datetime, int | None, str] | None = None
        self.last_called: datetime | None = None
        self.started: datetime | None = None
        self.finished: tuple[datetime, int | None, str] | None = None
        self.rating: tuple[str, int | None, str] | None = None


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
        with self.storage.read() as session:
            groups, hours = self.groups(session, first, last, business_date(now, self.zone))
            clerks = clerk_cards(session, {key for scope, key in groups if scope == "clerk"})
        return {"from": first.isoformat(), "to": last.isoformat(), "days": (last - first).days + 1,
                "generated_at": now.isoformat(), "timezone": self.zone.key, "formula": self.formula(),
                "assessment": assessment.formula(self.config),
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

    def groups(self, session: Any, first: date, last: date, today: date) -> tuple[dict[Key, Group], list[int]]:
        """The period's running figures by scope (("day", date) among them, whose parts sum to ("total", None):
        the district keeps each day's and merges them) and the arrivals by hour, read in ``session``."""
        groups: dict[Key, Group] = defaultdict(Group)
        hours = [0] * 24
        tickets = self._fold(session, first, last, groups, hours)
        self._appointments(session, first, last, groups)
        self._cases(session, first, last, groups, today)
        self._complaints(session, first, last, groups)
        for ticket in tickets.values():
            self._tally(ticket, groups)
        return groups, hours

    def _fold(self, session: Any, first: date, last: date, groups: dict[Key, Group],
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
            else:  # no_show, transferred
                for key in _keys(ticket.day, ticket.service, window, actor):
                    group = groups[key]
                    if action == "no_show":
                        group.no_show += 1
                    else:
                        group.transferred += 1
        detailed = session.execute(
            select(TicketEvent.ticket_id, TicketEvent.action, TicketEvent.window_id, TicketEvent.detail)
            .join(Ticket, Ticket.id == TicketEvent.ticket_id)
            .where(*period, TicketEvent.action.in_(DETAILED_ACTIONS)).order_by(TicketEvent.id))
        for ticket_id, action, window, detail in detailed:
            ticket = tickets[ticket_id]
            if action == "rated":
                ticket.rating = (detail["level"], window, detail["clerk"])
            else:  # unrated
                ticket.rating = ticket.rating or (UNRATED, window, detail["clerk"])
        return tickets

    def _tally(self, ticket: _Ticket, groups: dict[Key, Group]) -> None:
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

    def _cases(self, session: Any, first: date, last: date, groups: dict[Key, Group], today: date) -> None:
        """The case records (五件制) of the period's tickets, one query: each counted for its ticket's day and item
        and for the window and 承办人 who recorded it; each deadline's outcome by the contract of issue 16."""
        rows = session.execute(
            select(Ticket.business_date, Ticket.service, CaseRecord.window_id, CaseRecord.clerk, CaseRecord.type,
                   CaseRecord.chosen, CaseRecord.due, CaseRecord.closed_at, CaseRecord.extensions,
                   CaseRecord.forward_due, CaseRecord.forwarded_at, CaseRecord.approved_at, CaseRecord.answer_due,
                   CaseRecord.review_requested_at, CaseRecord.review_due, CaseRecord.reviewed_at)
            .join(Ticket, Ticket.id == CaseRecord.ticket_id)
            .where(Ticket.business_date >= first, Ticket.business_date <= last))
        for row in rows:
            counts: list[tuple[str, Counter[str]]] = []  # (the group's counter, what it gains): worked out once
            if row.type == "promised":
                counts.append(("promised", Counter({self._deadline(row.closed_at, row.due, today): 1})))
                if row.extensions:
                    counts.append(("promised", Counter(extended=1, extensions=row.extensions)))
            elif row.type == "approval":
                counts += self._approval_stages(row, today)
            elif row.type == "returned" and row.review_requested_at is not None:
                counts.append(("review", Counter({"requested": 1,
                                                  self._deadline(row.reviewed_at, row.review_due, today): 1})))
            for key in _keys(row.business_date, row.service, row.window_id, row.clerk):
                group = groups[key]
                group.cases[row.type] += 1
                group.defaults += not row.chosen
                for name, gained in counts:
                    getattr(group, name).update(gained)

    def _approval_stages(self, row: Any, today: date) -> list[tuple[str, Counter[str]]]:
        """A 报批件's two stages. A record from before issue 16 (migration 0004: its 批复 is known, not when it was
        forwarded nor whether the resident was answered) counts in neither stage it has no time for."""
        stages: list[tuple[str, Counter[str]]] = []
        if row.forwarded_at is not None or row.approved_at is None:
            stages.append(("forward", Counter({self._deadline(row.forwarded_at, row.forward_due, today): 1})))
        if row.approved_at is None and row.closed_at is None:
            stages.append(("answer", Counter(awaiting=1)))
        elif row.answer_due is not None:
            stages.append(("answer", Counter({self._deadline(row.closed_at, row.answer_due, today): 1})))
        return stages

    def _deadline(self, done: datetime | None, due: date | None, today: date) -> str:
        """on_time: done by the business day ``due`` (or no date was set); late: done after it; overdue: not done
        and ``due`` has passed; pending: not done, still in time."""
        if done is not None:
            return "on_time" if due is None or business_date(done, self.zone) <= due else "late"
        return "overdue" if due is not None and today > due else "pending"

    def _complaints(self, session: Any, first: date, last: date, groups: dict[Key, Group]) -> None:
        """Complaints by their own business date: received by the hall and its day; received and upheld (投诉属实)
        for the window and the clerk complained about."""
        rows = session.execute(select(Complaint.business_date, Complaint.window_id, Complaint.clerk,
                                      Complaint.upheld).where(Complaint.business_date >= first,
                                                              Complaint.business_date <= last))
        for day, window, clerk, upheld in rows:
            keys: list[Key] = [("total", None), ("day", day)]
            keys += [("window", window)] if window is not None else []
            keys += [("clerk", clerk)] if clerk is not None else []
            for key in keys:
                groups[key].complaints.update(("received", *(("upheld",) if upheld else ())))

    def _appointments(self, session: Any, first: date, last: date, groups: dict[Key, Group]) -> None:
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

    def _json(self, group: Group, key: Any, name: str, per_window: bool = False,
              staff_no: str | None = None) -> dict[str, Any]:
        cases_total = sum(group.cases.values())
        promised, kept = group.promised, group.appointments
        answer: dict[str, Any] = {
            "key": key, "name": name, "issued": None if per_window else group.issued, "served": group.served,
            "no_show": group.no_show, "transferred": group.transferred, "waiting": summary(group.waits),
            "service_time": summary(group.service_times),
            "ratings": {level: group.ratings[level] for level in (*RATING_LEVELS, UNRATED)},
            "rated": sum(group.ratings[level] for level in RATING_LEVELS),
            "satisfaction_rate": self.satisfaction_rate(group.ratings),
            "cases": {kind: group.cases[kind] for kind in CASE_TYPES},
            "immediate_chosen": group.cases["immediate"] - group.defaults, "immediate_default": group.defaults,
            "immediate_share": _ratio(group.cases["immediate"] - group.defaults, cases_total - group.defaults),
            "promised": {"total": group.cases["promised"], **stage(promised),
                         "extended": promised["extended"], "extensions": promised["extensions"]},
            "approval": {"total": group.cases["approval"], "forward": stage(group.forward),
                         "answer": {**stage(group.answer), "awaiting": group.answer["awaiting"]}},
            "review": {"requested": group.review["requested"], **stage(group.review)},
            "complaints": {"received": group.complaints["received"], "upheld": group.complaints["upheld"]},
            "appointments": None if per_window else {
                "checked_in": kept["checked_in"], "forfeited": kept["forfeited"],
                "kept_rate": _ratio(kept["checked_in"], kept["checked_in"] + kept["forfeited"])},
        }
        answer["assessment"] = assessment.score(self.config, answer) if per_window else None
        if staff_no is not None:
            answer["staff_no"] = staff_no
        return answer


def stage(outcomes: Counter[str]) -> dict[str, Any]:
    """A deadline's outcomes, and the on-time rate over those whose outcome is known (on time + late + overdue)."""
    known = outcomes["on_time"] + outcomes["late"] + outcomes["overdue"]
    return {"on_time": outcomes["on_time"], "late": outcomes["late"], "overdue": outcomes["overdue"],
            "pending": outcomes["pending"], "on_time_rate": _ratio(outcomes["on_time"], known)}


def _keys(day: date, service: str, window: int | None, staff: str) -> Iterable[Key]:
    return (("total", None), ("day", day), ("service", service), ("window", window), ("clerk", staff))


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=k) for k in range((last - first).days + 1)]
