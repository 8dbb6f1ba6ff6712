"""The district's figures of its halls, computed by each hall's own code (server/stats.py ``Statistics``) over the
hall's replica, with the hall's own config.toml as it last shipped it: the drill-down is the hall's report itself.

Side by side, every hall for a day, a month, a quarter or a year: a year of 20 halls read from their event logs would
take minutes, so each (hall, business date) keeps its day's mergeable parts in district.day_figures: counts,
the day's waits (all of them: a p95 does not merge), the ratings by level (the hall's formula makes the rate),
承诺件 by outcome, complaints, 延时服务. A day is recomputed whole, by the same ``Statistics.groups`` the hall's
report sums, when a batch touches it; the days of the period merge into exactly the period's report. A 承诺件
still pending on the day it was computed may be overdue by now: such a day is recomputed once the business date
has moved on past it.
"""

from __future__ import annotations

import logging
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from itertools import chain
from typing import Any

from sqlalchemy import JSON, Date, Engine, ForeignKey, Integer, String, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from district.models import Base, DistrictHall
from district.replica import ReplicaStorage
from server import extended
from server.clock import Clock, business_date
from server.config import ConfigError, HallConfig, config_from_data
from server.models import Ticket, WindowState
from server.models import TicketStatus as S
from server.shipment import Batch
from server.stats import UNRATED, Group, Statistics, stage
from server.vocabulary import RATING_LEVELS

#: 承诺件 outcomes a day keeps (and "total": all its 承诺件)
PROMISED = ("on_time", "late", "overdue", "pending")


class DayFigures(Base):
    """One hall's business day, as parts that add up over any period (server/stats.py's "day" group)."""

    __tablename__ = "day_figures"

    hall: Mapped[str] = mapped_column(String(32), ForeignKey("halls.code"), primary_key=True)
    business_date: Mapped[date] = mapped_column(Date, primary_key=True)
    #: the hall's business date when this was computed: a pending 承诺件 may have become overdue since
    computed_on: Mapped[date] = mapped_column(Date)
    issued: Mapped[int] = mapped_column(Integer)
    served: Mapped[int] = mapped_column(Integer)
    #: seconds from issue to the first call, of every ticket called, ascending
    waits: Mapped[list[float]] = mapped_column(JSON)
    #: the last word of each finished ticket by level, 未评价 ("unrated") among them
    ratings: Mapped[dict[str, int]] = mapped_column(JSON)
    #: 承诺件 of the day's tickets: "total" and by outcome (on_time, late, overdue, pending)
    promised: Mapped[dict[str, int]] = mapped_column(JSON)
    complaints_received: Mapped[int] = mapped_column(Integer)
    complaints_upheld: Mapped[int] = mapped_column(Integer)
    #: 延时服务 records (one per session it followed) and the residents they served
    extended_sessions: Mapped[int] = mapped_column(Integer)
    extended_served: Mapped[int] = mapped_column(Integer)


@dataclass(frozen=True)
class HallFigures:
    """A hall's replica with its own rules: what its figures are computed by."""

    code: str
    name: str
    config: HallConfig
    storage: ReplicaStorage
    stats: Statistics

    def today(self, clock: Clock) -> date:
        return business_date(clock.now(), self.config.timezone)


@dataclass(frozen=True)
class Listed:
    """A hall of the district as the screens list it."""

    code: str
    name: str
    #: the last of its event ids the district holds, and when it last shipped
    through: int
    seen: datetime | None
    figures: HallFigures | None


class Figures:
    def __init__(self, engine: Engine, clock: Clock):
        self.engine = engine
        self.clock = clock
        self._halls: dict[str, tuple[dict[str, Any], HallFigures]] = {}

    # ------------------------------------------------------------------ the halls

    def halls(self) -> list[Listed]:
        """Every hall in code order, with its figures' means (None before it first shipped)."""
        with Session(self.engine) as session:
            rows = session.execute(select(DistrictHall.code, DistrictHall.name, DistrictHall.config,
                                          DistrictHall.through, DistrictHall.last_seen_at)
                                   .order_by(DistrictHall.code)).all()
        return [Listed(code, name, through, seen, self._usable(code, name, config)) for code, name, config, through,
                seen in rows]

    def _usable(self, code: str, name: str, config_data: dict[str, Any]) -> HallFigures | None:
        """None before the hall first shipped, or while its rules are ones this hallq cannot read (a hall upgraded
        to a newer hallq, with keys this one does not know): the other halls' figures are shown all the same."""
        if not config_data:
            return None
        try:
            return self._hall(code, name, config_data)
        except ConfigError as exc:
            logging.getLogger(__name__).warning("hall %s: its config cannot be read here: %s", code, exc)
            return None

    def hall(self, code: str) -> HallFigures | None:
        """One hall's figures' means; None for an unknown hall or one that never shipped."""
        return next((listed.figures for listed in self.halls() if listed.code == code), None)

    def _hall(self, code: str, name: str, config_data: dict[str, Any]) -> HallFigures:
        """Kept while the hall's rules stay the same (validating them is not free)."""
        cached = self._halls.get(code)
        if cached is not None and cached[0] == config_data and cached[1].name == name:
            return cached[1]
        config = config_from_data(config_data, f"{code}/config.toml")
        storage = ReplicaStorage(self.engine, code)
        stats = Statistics(storage, config, self.clock,  # type: ignore[arg-type]
                           partial(extended.between, storage, config.timezone))
        found = HallFigures(code, name, config, storage, stats)
        self._halls[code] = (config_data, found)
        return found

    # ------------------------------------------------------------------ the day rollups

    def on_applied(self, code: str, batch: Batch) -> None:
        """After a batch is applied (district/ingest.py's hook): recompute the days it touched."""
        hall = self.hall(code)
        if hall is not None:
            self.refresh(hall, touched_days(hall, batch))

    def refresh(self, hall: HallFigures, days: Iterable[date]) -> None:
        """Recompute these days' parts, one read of the replica per run of consecutive days."""
        today = hall.today(self.clock)
        for first, last in runs(days):
            with hall.storage.write() as session:
                groups, _ = hall.stats.groups(session, first, last, today)
                extended = _extended_by_day(hall, first, last)
                rows = [day_row(hall.code, day, today, groups.get(("day", day)) or Group(), extended[day])
                        for day in _days(first, last)]
                statement = insert(DayFigures).values(rows)
                session.execute(statement.on_conflict_do_update(
                    index_elements=[DayFigures.hall, DayFigures.business_date],
                    set_={column: statement.excluded[column] for column in rows[0] if column not in
                          ("hall", "business_date")}))

    def rebuild(self, code: str, first: date, last: date) -> None:
        """Every day of the period recomputed: for replicas filled before the rollups existed, or by hand."""
        hall = self.hall(code)
        if hall is not None:
            self.refresh(hall, _days(first, last))

    def _parts(self, hall: HallFigures, first: date, last: date) -> list[DayFigures]:
        """The period's kept days of one hall, those whose pending 承诺件 may have turned overdue recomputed first."""
        today = hall.today(self.clock)
        period = (DayFigures.hall == hall.code, DayFigures.business_date >= first, DayFigures.business_date <= last)
        with Session(self.engine) as session:
            stale = session.scalars(select(DayFigures.business_date).where(
                *period, DayFigures.computed_on < today,
                func.coalesce(DayFigures.promised["pending"].as_integer(), 0) > 0)).all()
        if stale:
            self.refresh(hall, stale)
        with Session(self.engine) as session:
            return list(session.scalars(select(DayFigures).where(*period)))

    # ------------------------------------------------------------------ what the screens show

    def side_by_side(self, first: date, last: date) -> dict[str, Any]:
        """Every hall's figures of the period, merged from its days; a hall that never shipped has none."""
        halls = [{"code": listed.code, "name": listed.name,
                  "figures": None if listed.figures is None else merged(listed.figures,
                                                                        self._parts(listed.figures, first, last))}
                 for listed in self.halls()]
        return {"from": first.isoformat(), "to": last.isoformat(), "days": (last - first).days + 1,
                "generated_at": self.clock.now().isoformat(), "halls": halls}

    def report(self, code: str, first: date, last: date) -> dict[str, Any] | None:
        """The drill-down: the hall's own report of the period (its /api/stats), None for an unknown hall."""
        hall = self.hall(code)
        return None if hall is None else hall.stats.report(first, last)

    def live(self) -> list[dict[str, Any]]:
        """Each hall's line now, as the live board shows it."""
        return [self._line(listed) for listed in self.halls()]

    def live_of(self, code: str) -> dict[str, Any] | None:
        """One hall's line now (pushed after each of its batches); None for an unknown hall."""
        return next((self._line(listed) for listed in self.halls() if listed.code == code), None)

    def _line(self, listed: Listed) -> dict[str, Any]:
        """Residents waiting, being called or served, and windows open, of the hall's business date; when the
        district last heard from it and the last event it holds."""
        entry: dict[str, Any] = {"code": listed.code, "name": listed.name, "waiting": None, "in_service": None,
                                 "windows_open": None, "windows": None, "through": listed.through,
                                 "last_seen_at": None if listed.seen is None else listed.seen.isoformat()}
        if listed.figures is not None:
            entry.update(line_now(listed.figures, listed.figures.today(self.clock)))
        return entry


def line_now(hall: HallFigures, today: date) -> dict[str, int]:
    """The replica's tickets of ``today`` by state, and its windows open."""
    with hall.storage.read() as session:
        counts: dict[str, int] = {status: count for status, count in session.execute(
            select(Ticket.status, func.count()).where(Ticket.business_date == today,
                                                      Ticket.status.in_((S.WAITING, S.CALLED, S.SERVING)))
            .group_by(Ticket.status))}
        open_windows = session.scalar(select(func.count()).select_from(WindowState).where(
            WindowState.status == "open")) or 0
    return {"waiting": counts.get(S.WAITING, 0), "in_service": counts.get(S.CALLED, 0) + counts.get(S.SERVING, 0),
            "windows_open": open_windows, "windows": len(hall.config.windows)}


def touched_days(hall: HallFigures, batch: Batch) -> set[date]:
    """The business dates whose figures a batch may change: its events' and rows' tickets' (a case closed today
    counts for its ticket's day), its complaints' and 延时服务 records' own dates, its appointments' dates."""
    rows = batch.rows
    ticket_ids = {event["ticket_id"] for event in batch.events if event.get("ticket_id") is not None}
    ticket_ids |= {row["ticket_id"] for row in rows.get("cases", ()) if row.get("ticket_id") is not None}
    days = {_day(row["business_date"]) for table in ("tickets", "complaints", "extended_services")
            for row in rows.get(table, ())}
    days |= {_day(event["detail"]["date"]) for event in batch.events
             if event["action"].startswith("appointment_") and isinstance(event.get("detail"), dict)
             and isinstance(event["detail"].get("date"), str)}
    if ticket_ids:
        with hall.storage.read() as session:
            days |= set(session.scalars(select(Ticket.business_date).distinct().where(Ticket.id.in_(ticket_ids))))
    return days


def day_row(code: str, day: date, today: date, group: Group, extended: tuple[int, int]) -> dict[str, Any]:
    """The parts of one day kept in district.day_figures."""
    return {"hall": code, "business_date": day, "computed_on": today, "issued": group.issued,
            "served": group.served, "waits": sorted(group.waits),
            "ratings": {level: group.ratings[level] for level in (*RATING_LEVELS, UNRATED) if group.ratings[level]},
            "promised": {"total": group.cases["promised"],
                         **{outcome: group.promised[outcome] for outcome in PROMISED}},
            "complaints_received": group.complaints["received"], "complaints_upheld": group.complaints["upheld"],
            "extended_sessions": extended[0], "extended_served": extended[1]}


def merged(hall: HallFigures, parts: list[DayFigures]) -> dict[str, Any]:
    """A period's figures from its days: counts added, waits merged, rates worked out again from the sums by the
    hall's own formula (never averaged)."""
    waits = sorted(chain.from_iterable(part.waits for part in parts))  # sorted runs: timsort merges them in C
    ratings: Counter[str] = Counter()
    promised: Counter[str] = Counter()
    for part in parts:
        ratings.update(part.ratings)
        promised.update(part.promised)
    rate = hall.stats.satisfaction_rate(ratings)
    target = hall.config.evaluation.target_rate
    return {"issued": sum(part.issued for part in parts), "served": sum(part.served for part in parts),
            "waiting": {"n": len(waits), "mean": round(statistics.fmean(waits), 1) if waits else None,
                        "p95": round(waits[max(0, math.ceil(0.95 * len(waits)) - 1)], 1) if waits else None},
            "rated": sum(ratings[level] for level in RATING_LEVELS), "unrated": ratings[UNRATED],
            "satisfaction_rate": rate, "target_rate": target,
            "meets_target": None if rate is None else rate >= target,
            "extended": {"days": sum(1 for part in parts if part.extended_sessions),
                         "sessions": sum(part.extended_sessions for part in parts),
                         "served": sum(part.extended_served for part in parts)},
            "promised": {"total": promised["total"], **stage(promised)},
            "complaints": {"received": sum(part.complaints_received for part in parts),
                           "upheld": sum(part.complaints_upheld for part in parts)}}


def _extended_by_day(hall: HallFigures, first: date, last: date) -> dict[date, tuple[int, int]]:
    """延时服务 of each day: its records and the residents they served, by the hall's own extended_between."""
    by_day: dict[date, tuple[int, int]] = defaultdict(lambda: (0, 0))
    for record in extended.between(hall.storage, hall.config.timezone, first, last)["records"]:  # type: ignore[arg-type]
        day = date.fromisoformat(record["business_date"])
        sessions, served = by_day[day]
        by_day[day] = (sessions + 1, served + record["served"])
    return by_day


def runs(days: Iterable[date]) -> Iterator[tuple[date, date]]:
    """The days as (first, last) runs of consecutive days, in order."""
    ordered = sorted(set(days))
    start = 0
    for k in range(1, len(ordered) + 1):
        if k == len(ordered) or ordered[k] != ordered[k - 1] + timedelta(days=1):
            yield ordered[start], ordered[k - 1]
            start = k


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=k) for k in range((last - first).days + 1)]
