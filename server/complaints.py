"""投诉: the complaint register (服务质量反馈和投诉制度, 机构建设 4.3, seed lines 275-281; 3.4.2.4, lines 884-888).

A complaint reaches the hall by phone, letter, a visit to the 咨询投诉区 (the guide desk), the rating tablet or
online. The guide desk or the admin registers it with the window or clerk concerned, what the resident asks and who
handles it; the answer is due to the resident ``[complaints] answer_working_days`` after it was received, by the
hall's calendar (调查处理结果应在规定时间内向当事人反馈). The admin records the answer and whether the complaint was
upheld (投诉属实: it counts against the clerk and the window), then whether the resident accepted it, and closes it.

The resident's name and contact are personal: the guide desk and the admin see them; the clerk concerned sees the
complaints about them, never who made them. Each change writes a ticket_events row with none of it, and nothing
personal is logged. Plain Python over a Storage and a Clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.auth import Principal, clerk_cards
from server.clock import business_date
from server.config import POOR_LEVELS
from server.events import HallEvent
from server.ledger import Ledger
from server.models import Complaint, Evaluation, Staff, Ticket, TicketEvent
from server.privacy import mask_numbers
from server.queue import DomainError
from server.vocabulary import COMPLAINT_CHANNELS, COMPLAINT_STATUS, RATING_LEVELS

log = logging.getLogger(__name__)

EVENTS = ("complaint_registered", "complaint_assigned", "complaint_answered", "complaint_closed")
#: what the register lists: not yet closed, not answered past the due date, closed, everything
STATUSES = tuple(COMPLAINT_STATUS)
#: who sees the complainant's name and contact, and answers and closes complaints
FULL_VIEW = ("guide", "admin")
TEXT_LIMIT = 1000
NAME_LIMIT = 32


@dataclass(frozen=True)
class Filing:
    """A complaint as registered; ``request`` is what the resident complains of and asks for."""

    channel: str
    request: str
    window: int | None = None
    clerk: str | None = None
    name: str = ""
    contact: str = ""
    handler: str | None = None


@dataclass(frozen=True)
class Filter:
    """Which complaints to list: by status, received in a period, by channel, window or clerk."""

    status: str = "open"
    first: date | None = None
    last: date | None = None
    channel: str | None = None
    window: int | None = None
    clerk: str | None = None


def seen_by(who: Principal) -> ColumnElement[bool]:
    """The guide desk and the admin see every complaint; a clerk those about them (公正处理: they may answer for
    what is held against them, 4.3); nobody else any."""
    if who.role in FULL_VIEW:
        return true()
    if who.role == "clerk":
        return Complaint.clerk == who.name
    raise DomainError("forbidden", "forbidden", "当前账号或设备无权进行此操作")


def _text(value: str | None, what: str, longest: int, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise DomainError("invalid", "missing_field", f"请填写{what}")
    if len(value) > longest:
        raise DomainError("invalid", "too_long", f"{what}最多 {longest} 字")
    return value


class Complaints(Ledger):

    # ------------------------------------------------------------------ registering

    def register(self, filing: Filing, who: Principal) -> dict[str, Any]:
        """A complaint received now from any channel; its answer due by the hall's calendar."""
        if filing.channel not in COMPLAINT_CHANNELS:
            raise DomainError("invalid", "bad_channel", f"channel 只能是 {', '.join(COMPLAINT_CHANNELS)} 之一")
        if filing.window is not None and self.config.window(filing.window) is None:
            raise DomainError("invalid", "bad_window", f"没有编号为 {filing.window} 的窗口")
        values = {"channel": filing.channel, "window_id": filing.window,
                  "request": mask_numbers(_text(filing.request, "投诉内容", TEXT_LIMIT, required=True)),
                  "name": _text(filing.name, "投诉人姓名", NAME_LIMIT),
                  "contact": _text(filing.contact, "联系方式", NAME_LIMIT)}
        with self.storage.write() as session:
            clerk = self._staff(session, filing.clerk, "clerk") if filing.clerk else None
            handler = self._handler(session, filing.handler, clerk) if filing.handler else None
            complaint, event = self._file(session, who, clerk=clerk, handler=handler, **values)
            answer = self._json(session, [complaint], who)[0]
        self.bus.publish([event])
        return answer

    def from_rating(self, ticket_id: int, who: Principal, handler: str | None = None) -> dict[str, Any]:
        """A 不满意 or 非常不满意 rating opened as a complaint (channel 评价器), with the rating's window, clerk,
        reason and comment; at most one a rating (409 complaint_exists, its id in the detail)."""
        try:
            with self.storage.write() as session:
                rating = session.get(Evaluation, ticket_id)
                if rating is None or rating.level is None:
                    raise DomainError("not_found", "rating_not_found", f"号票 {ticket_id} 没有评价")
                if rating.level not in POOR_LEVELS:
                    raise DomainError("conflict", "not_poor", "只有「不满意」「非常不满意」的评价可以转为投诉")
                self._no_complaint_yet(session, ticket_id)
                chosen = self._handler(session, handler, rating.clerk) if handler else None
                request = "；".join(part for part in (f"评价{RATING_LEVELS[rating.level]}", rating.reason,
                                                     rating.comment) if part)
                complaint, event = self._file(session, who, channel="evaluator", window_id=rating.window_id,
                                              clerk=rating.clerk, handler=chosen, request=request,
                                              ticket_id=ticket_id, name="", contact="")
                answer = self._json(session, [complaint], who)[0]
        except IntegrityError:  # opened at the same moment elsewhere: the unique ticket_id said no
            raise DomainError("conflict", "complaint_exists", "该评价已转为投诉") from None
        self.bus.publish([event])
        return answer

    @staticmethod
    def _no_complaint_yet(session: Session, ticket_id: int) -> None:
        existing = session.scalar(select(Complaint.id).where(Complaint.ticket_id == ticket_id))
        if existing is not None:
            raise DomainError("conflict", "complaint_exists", f"该评价已转为投诉（编号 {existing}）",
                              {"complaint": existing})

    def _file(self, session: Session, who: Principal, **values: Any) -> tuple[Complaint, HallEvent]:
        now = self.clock.now()
        today = business_date(now, self.config.timezone)
        complaint = Complaint(business_date=today, received_at=now, registered_by=who.actor,
                              due=self.calendar.add_working_days(today, self.config.complaints.answer_working_days),
                              **values)
        session.add(complaint)
        session.flush()
        event = self._record(session, complaint, "complaint_registered", who, now,
                             {"channel": complaint.channel, "due": complaint.due.isoformat()})
        return complaint, event

    # ------------------------------------------------------------------ reading

    def listing(self, wanted: Filter, who: Principal) -> list[dict[str, Any]]:
        """The complaints ``who`` may see that ``wanted`` selects, the earliest answer due first."""
        if wanted.status not in STATUSES:
            raise DomainError("invalid", "bad_status", f"status 应为 {'、'.join(STATUSES)} 之一")
        query = select(Complaint).where(seen_by(who)).order_by(Complaint.due, Complaint.id)
        if wanted.status in ("open", "overdue"):
            query = query.where(Complaint.closed_at.is_(None))
        if wanted.status == "overdue":
            query = query.where(Complaint.answered_at.is_(None), Complaint.due < self.today())
        if wanted.status == "closed":
            query = query.where(Complaint.closed_at.is_not(None))
        if wanted.first is not None and wanted.last is not None:
            query = query.where(Complaint.business_date.between(wanted.first, wanted.last))
        for column, value in ((Complaint.channel, wanted.channel), (Complaint.window_id, wanted.window),
                              (Complaint.clerk, wanted.clerk)):
            if value is not None:
                query = query.where(column == value)
        with self.storage.read() as session:
            return self._json(session, list(session.scalars(query)), who)

    def get(self, complaint_id: int, who: Principal) -> dict[str, Any]:
        with self.storage.read() as session:
            return self._json(session, [self._complaint(session, complaint_id, who)], who)[0]

    @staticmethod
    def _complaint(session: Session, complaint_id: int, who: Principal, lock: bool = False) -> Complaint:
        """The complaint, if ``who`` may see it (a clerk learns nothing of complaints about others)."""
        query = select(Complaint).where(Complaint.id == complaint_id, seen_by(who))
        complaint = session.scalars(query.with_for_update() if lock else query).one_or_none()
        if complaint is None:
            raise DomainError("not_found", "complaint_not_found", f"没有编号为 {complaint_id} 的投诉")
        return complaint

    # ------------------------------------------------------------------ handling

    def assign(self, complaint_id: int, handler: str, who: Principal) -> dict[str, Any]:
        """Who investigates and answers (调查核实): any staff member but the one complained about."""
        def assigning(session: Session, complaint: Complaint) -> dict[str, Any]:
            complaint.handler = self._handler(session, handler, complaint.clerk)
            return {"handler": complaint.handler}

        return self._change(complaint_id, who, "complaint_assigned", assigning)

    def answer(self, complaint_id: int, text: str, upheld: bool, who: Principal) -> dict[str, Any]:
        """The result of the investigation told to the resident, and whether the complaint was upheld (投诉属实)."""
        text = mask_numbers(_text(text, "答复内容", TEXT_LIMIT, required=True))

        def answering(_session: Session, complaint: Complaint) -> dict[str, Any]:
            if complaint.answered_at is not None:
                raise DomainError("conflict", "already_answered", "该投诉已答复")
            complaint.answer, complaint.upheld = text, upheld
            complaint.answered_at, complaint.answered_by = self.clock.now(), who.actor
            return {"upheld": upheld, "on_time": self.today() <= complaint.due}

        return self._change(complaint_id, who, "complaint_answered", answering)

    def close(self, complaint_id: int, accepted: bool, who: Principal) -> dict[str, Any]:
        """Closed once answered, recording whether the resident accepted the answer."""
        def closing(_session: Session, complaint: Complaint) -> dict[str, Any]:
            if complaint.answered_at is None:
                raise DomainError("conflict", "not_answered", "请先答复投诉人，再办结")
            complaint.accepted, complaint.closed_at = accepted, self.clock.now()
            return {"accepted": accepted, "upheld": complaint.upheld}

        return self._change(complaint_id, who, "complaint_closed", closing)

    def _change(self, complaint_id: int, who: Principal, action: str,
                change: Callable[[Session, Complaint], dict[str, Any]]) -> dict[str, Any]:
        """One step of an open complaint, with its event."""
        now = self.clock.now()
        with self.storage.write() as session:
            complaint = self._complaint(session, complaint_id, who, lock=True)
            if complaint.closed_at is not None:
                raise DomainError("conflict", "complaint_closed", "该投诉已办结")
            detail = change(session, complaint)
            event = self._record(session, complaint, action, who, now, detail)
            answer = self._json(session, [complaint], who)[0]
        self.bus.publish([event])
        return answer

    # ------------------------------------------------------------------ internals

    @staticmethod
    def _staff(session: Session, username: str, what: str) -> str:
        """A staff account's username (a clerk who has left may still be complained about)."""
        if session.scalar(select(Staff.username).where(Staff.username == username)) is None:
            raise DomainError("invalid", f"bad_{what}", f"没有用户名为 {username} 的工作人员")
        return username

    @staticmethod
    def _handler(session: Session, username: str, concerned: str | None) -> str:
        """An enabled staff account, not the one complained about (公正处理, 4.3)."""
        if session.scalar(select(Staff.username).where(Staff.username == username,
                                                       Staff.disabled_at.is_(None))) is None:
            raise DomainError("invalid", "bad_handler", f"没有可承办投诉的工作人员 {username}")
        if username == concerned:
            raise DomainError("invalid", "handler_concerned", "被投诉的工作人员不能承办对自己的投诉")
        return username

    def _record(self, session: Session, complaint: Complaint, action: str, who: Principal, now: datetime,
                detail: dict[str, Any]) -> HallEvent:
        """The event row: the complaint's number, window and clerk, never the complainant or the texts."""
        detail = {"complaint": complaint.id, "clerk": complaint.clerk, **detail}
        session.add(TicketEvent(ticket_id=complaint.ticket_id, action=action, window_id=complaint.window_id,
                                actor=who.actor, at=now, detail=detail))
        log.info("%s by %s: %s", action, who.actor, detail)  # the detail holds no personal data
        # every staff screen hears it (the guide desk reloads its list): the number only, not whom it concerns
        return HallEvent(action, now, actor=who.actor, detail={"complaint": complaint.id})

    def _json(self, session: Session, complaints: list[Complaint], who: Principal) -> list[dict[str, Any]]:
        full = who.role in FULL_VIEW
        staff = {name for c in complaints for name in (c.clerk, c.handler, c.answered_by, c.registered_by) if name}
        cards = clerk_cards(session, staff)
        rated = [c.ticket_id for c in complaints if c.ticket_id]
        numbers = {row.id: row.number for row in session.execute(select(Ticket.id, Ticket.number)
                                                                  .where(Ticket.id.in_(rated)))} if rated else {}
        today = self.today()
        answer = []
        for c in complaints:
            window = self.config.window(c.window_id) if c.window_id is not None else None
            waiting = c.answered_at is None
            answer.append({
                "id": c.id, "date": c.business_date.isoformat(), "received_at": self._local(c.received_at),
                "channel": c.channel, "channel_text": COMPLAINT_CHANNELS[c.channel], "window": c.window_id,
                "window_name": window.name if window else None, "clerk": cards[c.clerk] if c.clerk else None,
                "ticket": c.ticket_id, "number": numbers.get(c.ticket_id) if c.ticket_id else None,
                "name": c.name if full else None, "contact": c.contact if full else None, "request": c.request,
                "handler": cards[c.handler] if c.handler else None, "due": c.due.isoformat(),
                "working_days_left": self.calendar.working_days_between(today, c.due) if waiting else None,
                "overdue": waiting and today > c.due, "answer": c.answer,
                "answered_at": self._local(c.answered_at) if c.answered_at else None,
                "answered_by": cards[c.answered_by]["name"] if c.answered_by in cards else c.answered_by,
                "answered_on_time": None if c.answered_at is None else business_date(
                    c.answered_at, self.config.timezone) <= c.due,
                "upheld": c.upheld, "accepted": c.accepted,
                "registered_by": cards[c.registered_by]["name"] if c.registered_by in cards else c.registered_by,
                "closed_at": self._local(c.closed_at) if c.closed_at else None, "open": c.closed_at is None})
        return answer

    def _local(self, instant: datetime) -> str:
        return instant.astimezone(self.config.timezone).isoformat()
