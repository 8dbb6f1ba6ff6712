"""一事一评: the rating a resident gives after 办结, on the window's tablet or from the ticket's tracking page.

Plain Python over a Storage and a Clock, no Flask. Every 办结 opens a prompt inside the engine's own transaction
(a finish hook). The window's tablet asks until ``prompt_seconds`` have passed; then the server's tick records
未评价, whether the tablet was on or not. A 未评价 is not a rating: the resident may still rate once from the
tracking page within ``phone_days``. A poor rating opens a follow-up (整改) due some working days later, which an
admin closes with a note. Each step writes its ticket_events row (rated, unrated, followup_opened,
followup_closed): the statistics read those. Nothing here records who the resident is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.orm import Session

from server.auth import clerk_cards
from server.calendar import HallCalendar
from server.clock import Clock, business_date
from server.config import POOR_LEVELS, HallConfig, Window
from server.db import Storage
from server.events import EventBus, HallEvent, TicketView
from server.ledger import Ledger
from server.models import Complaint, Evaluation, Ticket, TicketEvent
from server.models import TicketStatus as S
from server.privacy import mask_numbers
from server.queue import DomainError, record_row, write_records
from server.vocabulary import RATING_LEVELS

PENDING, RATED, UNRATED = "pending", "rated", "unrated"
_EVALUATIONS = Evaluation.__table__
_NEW_PROMPT = insert(_EVALUATIONS)
_UNRATE = (update(_EVALUATIONS).where(_EVALUATIONS.c.state == PENDING).values(state=UNRATED)
           .returning(_EVALUATIONS.c.ticket_id, _EVALUATIONS.c.window_id, _EVALUATIONS.c.clerk))
#: the prompt still open at a window when its next 办结 comes, and the prompts whose time is up
_SUPERSEDED = _UNRATE.where(_EVALUATIONS.c.window_id == bindparam("window"))
_EXPIRED = _UNRATE.where(_EVALUATIONS.c.due_at <= bindparam("now"))
#: the domain events published here (screens other than the rating tablet need no snapshot for them)
EVENTS = ("rated", "unrated", "followup_closed")
COMMENT_LIMIT = 200
NOTE_LIMIT = 500
LEVELS = [{"code": code, "label": label} for code, label in RATING_LEVELS.items()]


@dataclass(frozen=True)
class Rating:
    level: str
    reason: str | None
    comment: str | None


class Evaluations(Ledger):
    def __init__(self, storage: Storage, config: HallConfig, clock: Clock, bus: EventBus, calendar: HallCalendar):
        super().__init__(storage, config, clock, bus, calendar)
        self.settings = config.evaluation

    # ------------------------------------------------------------------ 办结 opens a prompt

    def on_finish(self, connection: Connection, ticket_id: int, window_id: int, staff: str, now: datetime,
                  _case: Any) -> list[dict[str, Any]]:
        """The engine's finish hook: the window's tablet now asks about this ticket; one it was still asking
        about is recorded 未评价 (the next resident is at the window; its event by the engine)."""
        superseded = self._unrated(connection, _SUPERSEDED, {"window": window_id, "now": now}, now, "superseded")
        connection.execute(_NEW_PROMPT, {"ticket_id": ticket_id, "window_id": window_id, "clerk": staff,
                                         "finished_at": now, "state": PENDING,
                                         "due_at": now + timedelta(seconds=self.settings.prompt_seconds)})
        return superseded

    def tick(self) -> None:
        """Prompts whose time is up become 未评价, on the server's clock: a tablet switched off changes nothing."""
        now = self.clock.now()
        with self.storage.read() as session:
            if session.scalar(select(Evaluation.ticket_id).where(Evaluation.state == PENDING,
                                                                 Evaluation.due_at <= now).limit(1)) is None:
                return  # the usual case: no write transaction every few seconds
        with self.storage.write() as session:
            unrated = self._unrated(session.connection(), _EXPIRED, {"now": now}, now, "timeout")
            write_records(session.connection(), unrated)
        windows = {row["window_id"] for row in unrated}
        self.bus.publish([HallEvent("unrated", now, window_id=window) for window in sorted(windows)])

    @staticmethod
    def _unrated(connection: Connection, prompts: Any, parameters: dict[str, Any], now: datetime,
                 why: str) -> list[dict[str, Any]]:
        """The pending prompts that ``prompts`` selects become 未评价: the rows of their events."""
        return [record_row(prompt.ticket_id, "unrated", prompt.window_id, "system", now,
                           {"clerk": prompt.clerk, "why": why})
                for prompt in connection.execute(prompts, parameters).all()]

    # ------------------------------------------------------------------ the tablet at the window

    def bound_window(self, device: str, window_id: int) -> Window:
        """The window a tablet may rate at: the one config.toml binds it to, and only that one."""
        bound = self.settings.window_of(device)
        if bound is None:
            raise DomainError("forbidden", "evaluator_not_bound", f"评价器 {device} 未绑定窗口：请在 config.toml 的 "
                              "[[evaluation.evaluators]] 中为它设置窗口")
        window = self.config.window(bound)
        assert window is not None  # config validation checked the window exists
        if bound != window_id:
            raise DomainError("forbidden", "not_this_window", f"本评价器属于{window.name}，不能评价其他窗口的服务")
        return window

    def for_evaluator(self, device: str, window_id: int) -> dict[str, Any]:
        """What the tablet shows: its window, the levels and reasons, and the prompt open now (or None)."""
        window = self.bound_window(device, window_id)
        return {"window": {"id": window.id, "name": window.name}, "levels": LEVELS,
                "reasons": list(self.settings.reasons), "poor": list(POOR_LEVELS),
                "prompt": self.prompt(window.id), "server_time": self.clock.now().isoformat()}

    def prompt(self, window_id: int) -> dict[str, Any] | None:
        """The ticket the window's tablet asks about now: its number, item and who served it."""
        now = self.clock.now()
        with self.storage.read() as session:
            row = session.execute(
                select(Evaluation, Ticket.number, Ticket.service).join(Ticket, Ticket.id == Evaluation.ticket_id)
                .where(Evaluation.window_id == window_id, Evaluation.state == PENDING, Evaluation.due_at > now)
                .order_by(Evaluation.finished_at.desc()).limit(1)).first()
            if row is None:
                return None
            prompt, number, code = row
            clerk = clerk_cards(session, [prompt.clerk])[prompt.clerk]
        service = self.config.service(code)
        return {"ticket": prompt.ticket_id, "number": number, "service_name": service.name if service else code,
                "clerk": {"name": clerk["name"], "staff_no": clerk["staff_no"]},
                "finished_at": prompt.finished_at.isoformat(), "due_at": prompt.due_at.isoformat(),
                "seconds_left": max(0, round((prompt.due_at - now).total_seconds()))}

    def rate_at_window(self, device: str, window_id: int, ticket_id: int, rating: Rating) -> dict[str, Any]:
        window = self.bound_window(device, window_id)
        now = self.clock.now()
        with self.storage.write() as session:
            prompt = self._lock(session, ticket_id)
            if prompt.window_id != window.id:
                raise DomainError("forbidden", "not_this_window", "该号票不是在本窗口办结的，不能在此评价")
            self._still_open(prompt)
            if prompt.state != PENDING or now >= prompt.due_at:
                raise DomainError("conflict", "rating_closed", "评价时间已过，感谢您的理解")
            self._rate(session, prompt, rating, "evaluator", f"device:{device}", now)
        self.bus.publish([HallEvent("rated", now, window_id=window.id)])
        return self._result(prompt)

    # ------------------------------------------------------------------ the resident's phone

    def rate_ticket(self, view: TicketView, rating: Rating) -> dict[str, Any]:
        """A rating from the tracking page (the ticket's latest row, as the page follows a transfer)."""
        now = self.clock.now()
        with self.storage.write() as session:
            prompt = self._lock(session, view.id) if view.status == S.DONE else None
            if prompt is None:
                raise DomainError("conflict", "not_finished", "办结后才能评价")
            self._still_open(prompt)
            if now >= prompt.finished_at + timedelta(days=self.settings.phone_days):
                raise DomainError("conflict", "rating_closed",
                                  f"已超过评价期限（办结后 {self.settings.phone_days} 天内可评价）")
            self._rate(session, prompt, rating, "phone", "resident", now)
        self.bus.publish([HallEvent("rated", now, window_id=prompt.window_id)])
        return self._result(prompt)

    def for_resident(self, view: TicketView) -> dict[str, Any]:
        """The tracking page's rating part: whether the resident may rate now, or what they said."""
        answer: dict[str, Any] = {"open": False, "level": None, "levels": LEVELS,
                                  "reasons": list(self.settings.reasons), "poor": list(POOR_LEVELS)}
        if view.status != S.DONE:
            return answer
        with self.storage.read() as session:
            prompt = session.get(Evaluation, view.id)
        if prompt is None:
            return answer
        if prompt.state == RATED:
            answer["level"] = RATING_LEVELS[prompt.level or ""]
        else:
            answer["open"] = self.clock.now() < prompt.finished_at + timedelta(days=self.settings.phone_days)
        return answer

    # ------------------------------------------------------------------ rating

    def check(self, level: Any, reason: Any, comment: Any) -> Rating:
        """A rating as the hall accepts it: one of the five levels; a reason from the list for the two poor ones."""
        if level not in RATING_LEVELS:
            raise DomainError("invalid", "bad_level", f"level 应为 {', '.join(RATING_LEVELS)} 之一")
        if level in POOR_LEVELS:
            if reason is None:
                raise DomainError("invalid", "reason_required", f"选择「{RATING_LEVELS[level]}」时请选择原因")
            if reason not in self.settings.reasons:
                raise DomainError("invalid", "bad_reason", f"原因应为：{'、'.join(self.settings.reasons)} 之一")
        elif reason is not None:
            raise DomainError("invalid", "reason_not_allowed", "只有「不满意」和「非常不满意」需要选择原因")
        if comment is not None and not isinstance(comment, str):
            raise DomainError("invalid", "bad_field", "字段 comment 应为 str")
        comment = (comment or "").strip()
        if len(comment) > COMMENT_LIMIT:
            raise DomainError("invalid", "comment_too_long", f"意见最多 {COMMENT_LIMIT} 字")
        return Rating(level=level, reason=reason, comment=mask_numbers(comment) or None)

    @staticmethod
    def _lock(session: Session, ticket_id: int) -> Evaluation:
        prompt = session.scalars(select(Evaluation).where(Evaluation.ticket_id == ticket_id)
                                 .with_for_update()).one_or_none()
        if prompt is None:
            raise DomainError("not_found", "rating_not_found", "该号票没有可评价的服务")
        return prompt

    @staticmethod
    def _still_open(prompt: Evaluation) -> None:
        if prompt.state == RATED:
            raise DomainError("conflict", "already_rated", "本次服务已评价过，感谢您的评价")

    def _rate(self, session: Session, prompt: Evaluation, rating: Rating, channel: str, actor: str,
              now: datetime) -> None:
        prompt.state, prompt.level, prompt.reason, prompt.comment = RATED, rating.level, rating.reason, rating.comment
        prompt.channel, prompt.rated_at = channel, now
        session.add(TicketEvent(ticket_id=prompt.ticket_id, action="rated", window_id=prompt.window_id, actor=actor,
                                at=now, detail={"level": rating.level, "reason": rating.reason, "channel": channel,
                                                "clerk": prompt.clerk}))
        if rating.level in POOR_LEVELS:
            due = self.calendar.add_working_days(business_date(now, self.config.timezone),
                                                 self.settings.followup_working_days)
            prompt.followup_due = due
            session.add(TicketEvent(ticket_id=prompt.ticket_id, action="followup_opened",
                                    window_id=prompt.window_id, actor="system", at=now,
                                    detail={"clerk": prompt.clerk, "level": rating.level, "due": due.isoformat()}))

    @staticmethod
    def _result(prompt: Evaluation) -> dict[str, Any]:
        return {"ticket": prompt.ticket_id, "level": prompt.level, "label": RATING_LEVELS[prompt.level or ""]}

    # ------------------------------------------------------------------ 整改: follow-ups of poor ratings

    def followups(self, status: str = "open") -> list[dict[str, Any]]:
        """The follow-ups for the admin, the earliest deadline first; ``status`` open, closed or all."""
        if status not in ("open", "closed", "all"):
            raise DomainError("invalid", "bad_status", "status 应为 open、closed 或 all")
        query = (select(Evaluation, Ticket.number, Ticket.service).join(Ticket, Ticket.id == Evaluation.ticket_id)
                 .where(Evaluation.followup_due.is_not(None))
                 .order_by(Evaluation.followup_due, Evaluation.ticket_id))
        if status != "all":
            closed = Evaluation.followup_closed_at.is_not(None)
            query = query.where(closed if status == "closed" else ~closed)
        today = self.today()
        with self.storage.read() as session:
            rows = session.execute(query).all()
            clerks = clerk_cards(session, {prompt.clerk for prompt, _, _ in rows})
            complaints = _complaints(session, [prompt.ticket_id for prompt, _, _ in rows])
        return [self._followup_json(prompt, number, code, clerks[prompt.clerk], today,
                                    complaints.get(prompt.ticket_id)) for prompt, number, code in rows]

    def _followup_json(self, prompt: Evaluation, number: str, code: str, clerk: dict[str, str],
                       today: Any, complaint: int | None) -> dict[str, Any]:
        assert prompt.followup_due is not None and prompt.level is not None
        service, window = self.config.service(code), self.config.window(prompt.window_id)
        closed = prompt.followup_closed_at is not None
        left = self.calendar.working_days_between(today, prompt.followup_due)
        return {"id": prompt.ticket_id, "number": number, "service": code,
                "service_name": service.name if service else code, "window": prompt.window_id,
                "window_name": window.name if window else str(prompt.window_id), "clerk": clerk,
                "level": prompt.level, "level_name": RATING_LEVELS[prompt.level], "reason": prompt.reason,
                "comment": prompt.comment, "rated_at": prompt.rated_at.isoformat() if prompt.rated_at else None,
                "due": prompt.followup_due.isoformat(), "working_days_left": None if closed else left,
                "overdue": not closed and today > prompt.followup_due, "closed": closed,
                "closed_at": prompt.followup_closed_at.isoformat() if closed else None,  # type: ignore[union-attr]
                "closed_by": prompt.followup_closed_by, "note": prompt.followup_note, "complaint": complaint}

    def close_followup(self, ticket_id: int, admin: str, note: Any) -> dict[str, Any]:
        if not isinstance(note, str) or not note.strip():
            raise DomainError("invalid", "note_required", "请填写整改情况（处理结果）")
        if len(note.strip()) > NOTE_LIMIT:
            raise DomainError("invalid", "note_too_long", f"整改情况最多 {NOTE_LIMIT} 字")
        now = self.clock.now()
        today = business_date(now, self.config.timezone)
        with self.storage.write() as session:
            prompt = session.scalars(select(Evaluation).where(Evaluation.ticket_id == ticket_id)
                                     .with_for_update()).one_or_none()
            if prompt is None or prompt.followup_due is None:
                raise DomainError("not_found", "followup_not_found", f"没有编号为 {ticket_id} 的整改事项")
            if prompt.followup_closed_at is not None:
                raise DomainError("conflict", "followup_closed", "该整改事项已办结")
            prompt.followup_closed_at, prompt.followup_closed_by = now, admin
            prompt.followup_note = mask_numbers(note.strip())
            session.add(TicketEvent(ticket_id=ticket_id, action="followup_closed", window_id=prompt.window_id,
                                    actor=admin, at=now, detail={"clerk": prompt.clerk,
                                                                 "due": prompt.followup_due.isoformat(),
                                                                 "late": today > prompt.followup_due}))
            number, code = session.execute(select(Ticket.number, Ticket.service)
                                           .where(Ticket.id == ticket_id)).one()
            clerk = clerk_cards(session, [prompt.clerk])[prompt.clerk]
            complaint = _complaints(session, [ticket_id]).get(ticket_id)
        self.bus.publish([HallEvent("followup_closed", now, window_id=prompt.window_id, actor=admin)])
        return self._followup_json(prompt, number, code, clerk, today, complaint)


def _complaints(session: Session, tickets: list[int]) -> dict[int, int]:
    """The complaint each rating was opened as (server/complaints.py), by ticket: the 整改 page links to it."""
    if not tickets:
        return {}
    rows = session.execute(select(Complaint.ticket_id, Complaint.id).where(Complaint.ticket_id.in_(tickets)))
    return {row.ticket_id: row.id for row in rows}
