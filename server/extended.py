"""延时服务: when a session ends and residents still wait, the windows stay and serve every one of them.

At every session's end, the midday break as much as the evening (seed 7.2.1: nobody is told 「明天（或下午）再来」),
one record per session. Nothing here abandons a ticket: a session's end only starts the record; the record ends
when the last resident of the day is served, or when regular hours take over (the next session that day, or the
next business day); a ticket still open when the next business day begins is flagged as an anomaly, never deleted.
Functions over one session (the engine's transaction) and plain values; no clock of their own.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from server.calendar import HallCalendar
from server.config import HallConfig, Window
from server.models import ExtendedService, Ticket, TicketEvent, WindowState
from server.models import TicketStatus as S

if TYPE_CHECKING:
    from server.db import Storage

OPEN = (S.WAITING, S.CALLED, S.SERVING)
LEFT_OPEN = "left_open"  # the event flagging a ticket still open when the next business day began


def active(session: Session, day: date) -> ExtendedService | None:
    """The record running today, if any: at most one, as sessions do not overlap."""
    return session.scalar(select(ExtendedService).where(ExtendedService.business_date == day,
                                                        ExtendedService.ended_at.is_(None)))


def _open_tickets(session: Session, day: date) -> int:
    return session.scalar(select(func.count()).select_from(Ticket).where(
        Ticket.business_date == day, Ticket.status.in_(OPEN))) or 0


def _record_of(session: Session, day: date, started_at: datetime) -> ExtendedService | None:
    return session.scalar(select(ExtendedService).where(ExtendedService.business_date == day,
                                                        ExtendedService.started_at == started_at))


def advance(session: Session, calendar: HallCalendar, now: datetime, day: date) -> list[str]:
    """Start, end or flag what the time calls for; the kinds of what happened, for the event bus."""
    happened = []
    for record in session.scalars(select(ExtendedService).where(ExtendedService.ended_at.is_(None))).all():
        if now >= calendar.regular_hours_resume(record.started_at) or not _open_tickets(session, record.business_date):
            _end(session, record, calendar, now)
            happened.append("extended_ended")
    happened += _flag_left_open(session, calendar, now, day)
    ended = calendar.ended_before(now)
    if ended is not None and _record_of(session, day, ended.end) is None and (waiting := _open_tickets(session, day)):
        session.add(ExtendedService(business_date=day, session=ended.session.name, started_at=ended.end,
                                    waiting_at_start=waiting, windows=[], clerks=[], anomalies=[]))
        happened.append("extended_started")
    return happened


def _end(session: Session, record: ExtendedService, calendar: HallCalendar, now: datetime) -> None:
    """The record's figures, from the event log: who called or served during it, how many were served. It ends now,
    or where regular hours took over if that came first (the server's tick may come later, or not at all)."""
    end = min(now, calendar.regular_hours_resume(record.started_at))
    record.ended_at = end
    record.served = session.scalar(select(func.count()).select_from(Ticket).where(
        Ticket.business_date == record.business_date, Ticket.status == S.DONE,
        Ticket.finished_at >= record.started_at, Ticket.finished_at <= end)) or 0
    during = session.execute(select(TicketEvent.window_id, TicketEvent.actor).where(
        TicketEvent.at >= record.started_at, TicketEvent.at <= end,
        TicketEvent.action.in_(("called", "recalled", "started", "finished")),
        TicketEvent.window_id.is_not(None))).all()
    record.windows = sorted({window for window, _ in during if window is not None})
    record.clerks = sorted({actor for _, actor in during})


def _flag_left_open(session: Session, calendar: HallCalendar, now: datetime, day: date) -> list[str]:
    """Tickets of an earlier business day still open: flagged once, kept, listed in their day's closing record."""
    flagged = select(TicketEvent.ticket_id).where(TicketEvent.action == LEFT_OPEN)
    stale = session.scalars(select(Ticket).where(Ticket.business_date < day, Ticket.status.in_(OPEN),
                                                 Ticket.id.not_in(flagged)).order_by(Ticket.id)).all()
    for ticket in stale:
        session.add(TicketEvent(ticket_id=ticket.id, action=LEFT_OPEN, window_id=None, actor="system", at=now,
                                detail={"status": ticket.status, "business_date": ticket.business_date.isoformat()}))
        record = _closing_record(session, calendar, ticket.business_date, now)
        record.anomalies = [*record.anomalies, ticket.number]  # a new list: the JSON column sees the change
    return ["left_open_flagged"] if stale else []


def _closing_record(session: Session, calendar: HallCalendar, day: date, now: datetime) -> ExtendedService:
    """The record after the day's last session; made (and ended) now if the server was not running then."""
    last = calendar.last_session(day)
    closing = last.end if last is not None else calendar.day_start(day)  # a closed day: staff issued all the same
    record = _record_of(session, day, closing)
    if record is None:
        record = ExtendedService(business_date=day, session=last.session.name if last is not None else None,
                                 started_at=closing, waiting_at_start=0, windows=[], clerks=[], anomalies=[])
        session.add(record)
        _end(session, record, calendar, now)
    return record


def _servable(window: Window) -> Any:
    return or_(and_(Ticket.service.in_(window.services), Ticket.target_window.is_(None)),
               Ticket.target_window == window.id)


def waiting_by_window(session: Session, config: HallConfig, day: date) -> list[dict[str, Any]]:
    """For each window, how many waiting residents it could call: what 「延时服务：还有 N 人等候」 says."""
    counts = []
    for window in config.windows:
        waiting = session.scalar(select(func.count()).select_from(Ticket).where(
            Ticket.business_date == day, Ticket.status == S.WAITING, _servable(window))) or 0
        counts.append({"id": window.id, "name": window.name, "waiting": waiting})
    return counts


def uncovered(session: Session, config: HallConfig, window: Window, day: date) -> int:
    """Residents waiting for this window whom no other open window could take over."""
    others = [config.window(state.window_id) for state in session.scalars(select(WindowState).where(
        WindowState.status == "open", WindowState.clerk.is_not(None), WindowState.window_id != window.id))]
    covered = [_servable(other) for other in others if other is not None]
    query = select(func.count()).select_from(Ticket).where(
        Ticket.business_date == day, Ticket.status == S.WAITING, _servable(window))
    if covered:
        query = query.where(~or_(*covered))
    return session.scalar(query) or 0


def summary(record: ExtendedService, zone: Any) -> dict[str, Any]:
    """One record for the screens and the admin: ``session`` is the session it followed, ``started_at`` its end."""
    minutes = ((record.ended_at - record.started_at).total_seconds() / 60) if record.ended_at else None
    return {"business_date": record.business_date.isoformat(), "session": record.session,
            "started_at": record.started_at.astimezone(zone).isoformat(),
            "ended_at": record.ended_at.astimezone(zone).isoformat() if record.ended_at else None,
            "minutes": round(minutes, 1) if minutes is not None else None,
            "waiting_at_start": record.waiting_at_start, "served": record.served, "windows": record.windows,
            "clerks": record.clerks, "anomalies": record.anomalies}


def between(storage: Storage, zone: Any, first: date, last: date) -> dict[str, Any]:
    """延时服务 of the days from ``first`` to ``last``: each record (one per session it followed) and the totals:
    the days and the times (次) apart, as a day may have had it at noon and in the evening. A function of the
    storage alone, so the district computes a hall's figures from its replica with this same code."""
    with storage.read() as session:
        records = session.scalars(select(ExtendedService).where(
            ExtendedService.business_date >= first, ExtendedService.business_date <= last)
            .order_by(ExtendedService.business_date, ExtendedService.started_at)).all()
        rows = [summary(record, zone) for record in records]
    served = sum(r["served"] for r in rows)
    days = len({r["business_date"] for r in rows})
    return {"from": first.isoformat(), "to": last.isoformat(), "records": rows, "days": days,
            "sessions": len(rows), "served": served,
            "text": f"延时服务 {days} 天 {len(rows)} 次，服务群众 {served} 件",
            "minutes": round(sum(r["minutes"] or 0 for r in rows), 1),
            "anomalies": sum(len(r["anomalies"]) for r in rows)}
