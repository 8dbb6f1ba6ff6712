"""五件制: every 办结 is recorded as one of the five case types of the manual (办件管理 3.1-3.5).

即办件 is finished on the spot; 承诺件 carries the promised completion date; 补办件 the complete list of missing
materials (the 补正通知书 tells them all at once: 一次性告知); 退回件 the reason (退回件通知书); 报批件 is forwarded
upward with a reply due date. 承诺件 and 报批件 stay open until the clerk or an admin marks them completed or the
reply received; past their date they are overdue. Plain Python over a Storage and a Clock; the case is written
inside the engine's 办结 transaction (a finish hook), each change with its ticket_events row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, false, insert, select, true
from sqlalchemy.orm import Session

from server.auth import Principal, clerk_cards
from server.calendar import HallCalendar
from server.clock import Clock, business_date, calendar_day
from server.config import HallConfig
from server.db import Storage
from server.events import EventBus, HallEvent
from server.models import CaseRecord, Ticket, TicketEvent
from server.privacy import mask_numbers
from server.queue import DomainError
from server.queue_sql import RECORD
from server.vocabulary import CASE_TYPES

#: the types still open after 办结, and the event that closes each: 承诺件 completed, 报批件 reply received
CLOSING: dict[str, str] = {"promised": "case_completed", "approval": "case_replied"}
#: the printable notices (A4) and the letters of their serial numbers
NOTICES: dict[str, tuple[str, str]] = {"supplement": ("申请材料补正通知书", "BZ"), "returned": ("退回件通知书", "TH"),
                                       "promised": ("承诺件受理通知书", "CN")}
EVENTS = ("case_completed", "case_replied")
_FIELDS: dict[str, set[str]] = {"immediate": set(), "promised": {"due", "working_days"},
                                "approval": {"due", "working_days"}, "supplement": {"materials"},
                                "returned": {"reason"}}
MAX_MATERIALS = 30
TEXT_LIMIT = 200


def handled_by(who: Principal) -> ColumnElement[bool]:
    """The one rule for who may see a case and act on it (list, read, close, print its notices): its 承办人, the
    clerk who recorded it at 办结 (首问负责制: the notice's first copy stays with them), and the admin (中心管理人员,
    who gets the second copy). The guide desk and the devices handle no case."""
    if who.role == "admin":
        return true()
    return CaseRecord.clerk == who.name if who.role == "clerk" else false()


@dataclass(frozen=True)
class CaseInput:
    """What the clerk said at 办结; ``chosen`` False: nobody chose, the default 即办件 was recorded."""

    type: str
    due: date | None = None
    materials: tuple[str, ...] = ()
    reason: str | None = None
    chosen: bool = True


#: F5 without a choice, and call-next's automatic 办结 of the resident before: the common case
DEFAULT = CaseInput("immediate", chosen=False)
_NEW_CASE = insert(CaseRecord.__table__)


def split_materials(text: str) -> list[str]:
    """The items of a service's 一次性告知 line (户口簿、原身份证（换领、补领时）), split at 、；; outside brackets."""
    items, current, depth = [], "", 0
    for char in text:
        depth += char in "（("
        depth -= char in "）)"
        if char in "、；;" and depth <= 0:
            items.append(current)
            current = ""
        else:
            current += char
    return [item.strip() for item in [*items, current] if item.strip()]


class Cases:
    def __init__(self, storage: Storage, config: HallConfig, clock: Clock, bus: EventBus, calendar: HallCalendar):
        self.storage = storage
        self.config = config
        self.clock = clock
        self.bus = bus
        self.calendar = calendar

    def today(self) -> date:
        return business_date(self.clock.now(), self.config.timezone)

    # ------------------------------------------------------------------ at 办结

    def parse(self, data: dict[str, Any]) -> CaseInput:
        """The fields given in a finish request (server.schemas.CaseChoice, which checked their JSON types):
        ``{"case": "promised", "due": "2026-12-07"}`` and so on; none is the default 即办件. Checked before the 办结
        starts, so a wrong case finishes nothing."""
        kind = data.get("case")
        if kind is None:
            if data:
                raise DomainError("invalid", "case_required", f"请用 case 指明办件类型：{', '.join(CASE_TYPES)}")
            return DEFAULT
        if kind not in CASE_TYPES:
            raise DomainError("invalid", "bad_case", f"case 应为 {', '.join(CASE_TYPES)} 之一")
        label = CASE_TYPES[kind]
        for name in data:
            if name != "case" and name not in _FIELDS[kind]:
                raise DomainError("invalid", "case_field", f"{label}不需要字段 {name}")
        if kind in CLOSING:
            return CaseInput(kind, due=self._due(kind, data))
        if kind == "supplement":
            return CaseInput(kind, materials=self._materials(data.get("materials")))
        if kind == "returned":
            reason = data.get("reason")
            if not isinstance(reason, str) or not reason.strip():
                raise DomainError("invalid", "reason_required", "退回件请写明退回原因")
            if len(reason.strip()) > TEXT_LIMIT:
                raise DomainError("invalid", "reason_too_long", f"退回原因最多 {TEXT_LIMIT} 字")
            return CaseInput(kind, reason=mask_numbers(reason.strip()))
        return CaseInput(kind)

    def _due(self, kind: str, data: dict[str, Any]) -> date:
        """The date given, or so many working days after today (by default the configured number)."""
        today = self.today()
        given, days = data.get("due"), data.get("working_days")
        what = "承诺办结日期" if kind == "promised" else "上级批复期限"
        if given is not None:
            due = calendar_day(given) if isinstance(given, str) else None
            if due is None:
                raise DomainError("invalid", "bad_due", f"{what}应为 YYYY-MM-DD")
        elif days is not None:
            if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 120:
                raise DomainError("invalid", "bad_due", "working_days 应为 1 到 120 的整数（工作日）")
            due = self.calendar.add_working_days(today, days)
        else:
            settings = self.config.cases
            due = self.calendar.add_working_days(today, settings.promised_working_days if kind == "promised"
                                                 else settings.approval_working_days)
        if due < today or due > today + timedelta(days=366):
            raise DomainError("invalid", "bad_due", f"{what}应在今天到一年之内")
        return due

    @staticmethod
    def _materials(value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            raise DomainError("invalid", "materials_required", "补办件请列出需要补正的全部材料（一次性告知）")
        materials: list[str] = []
        for item in value:
            if not isinstance(item, str) or not item.strip() or len(item.strip()) > 100:
                raise DomainError("invalid", "bad_materials", "每项材料应为 1 到 100 字的文字")
            if item.strip() not in materials:
                materials.append(mask_numbers(item.strip()))
        if len(materials) > MAX_MATERIALS:
            raise DomainError("invalid", "bad_materials", f"材料最多 {MAX_MATERIALS} 项")
        return tuple(materials)

    def on_finish(self, connection: Connection, ticket_id: int, window_id: int, staff: str, now: datetime,
                  case: CaseInput | None) -> None:
        """The engine's finish hook: the case is recorded in the 办结's own transaction."""
        case = case or DEFAULT
        connection.execute(_NEW_CASE, {"ticket_id": ticket_id, "window_id": window_id, "clerk": staff,
                                       "type": case.type, "recorded_at": now, "due": case.due,
                                       "materials": list(case.materials) or None, "reason": case.reason})
        detail: dict[str, Any] = {"type": case.type}
        if case.due is not None:
            detail["due"] = case.due.isoformat()
        if case.materials:
            detail["materials"] = list(case.materials)
        if case.reason is not None:
            detail["reason"] = case.reason
        if not case.chosen:
            detail["default"] = True
        connection.execute(RECORD, {"ticket_id": ticket_id, "action": "case_recorded", "window_id": window_id,
                                    "actor": staff, "at": now, "detail": detail})

    # ------------------------------------------------------------------ reading

    def options(self) -> dict[str, Any]:
        """What the caller's 办件类型 choice offers: the types, proposed dates, reasons to return."""
        today = self.today()
        settings = self.config.cases
        return {"today": today.isoformat(),
                "types": [{"code": code, "name": name} for code, name in CASE_TYPES.items()],
                "promised_due": self.calendar.add_working_days(today, settings.promised_working_days).isoformat(),
                "approval_due": self.calendar.add_working_days(today, settings.approval_working_days).isoformat(),
                "promised_working_days": settings.promised_working_days,
                "approval_working_days": settings.approval_working_days,
                "return_reasons": list(settings.return_reasons),
                "materials": {service.code: split_materials(service.materials) for service in self.config.services}}

    def of_ticket(self, ticket_id: int) -> dict[str, Any] | None:
        with self.storage.read() as session:
            record = session.scalars(select(CaseRecord).where(CaseRecord.ticket_id == ticket_id)).one_or_none()
            return self._json(session, [record])[0] if record else None

    def get(self, case_id: int, who: Principal) -> dict[str, Any]:
        with self.storage.read() as session:
            return self._json(session, [self._record(session, case_id, who)])[0]

    def open_cases(self, who: Principal) -> list[dict[str, Any]]:
        """承诺件 and 报批件 not yet completed, the earliest date first, of the cases ``who`` handles."""
        query = (select(CaseRecord).where(CaseRecord.type.in_(CLOSING), CaseRecord.closed_at.is_(None),
                                          handled_by(who))
                 .order_by(CaseRecord.due, CaseRecord.id))
        with self.storage.read() as session:
            return self._json(session, list(session.scalars(query)))

    @staticmethod
    def _record(session: Session, case_id: int, who: Principal, lock: bool = False) -> CaseRecord:
        """The case, if ``who`` handles it (checked before anything about its state is told)."""
        query = select(CaseRecord, handled_by(who)).where(CaseRecord.id == case_id)
        row = session.execute(query.with_for_update() if lock else query).one_or_none()
        if row is None:
            raise DomainError("not_found", "case_not_found", f"没有编号为 {case_id} 的办件")
        if not row[1]:
            raise DomainError("forbidden", "not_your_case", "只有受理该件的工作人员或管理员可以查看和办理")
        return row[0]

    def _json(self, session: Session, records: list[CaseRecord]) -> list[dict[str, Any]]:
        tickets = {t.id: t for t in session.scalars(select(Ticket).where(Ticket.id.in_([r.ticket_id
                                                                                         for r in records])))}
        clerks = clerk_cards(session, {r.clerk for r in records})
        today = self.today()
        answer = []
        for record in records:
            ticket = tickets[record.ticket_id]
            service, window = self.config.service(ticket.service), self.config.window(record.window_id)
            is_open = record.type in CLOSING and record.closed_at is None
            notice = NOTICES.get(record.type)
            answer.append({
                "id": record.id, "ticket": ticket.id, "number": ticket.number, "service": ticket.service,
                "service_name": service.name if service else ticket.service, "window": record.window_id,
                "window_name": window.name if window else str(record.window_id), "clerk": clerks[record.clerk],
                "type": record.type, "type_name": CASE_TYPES[record.type],
                "due": record.due.isoformat() if record.due else None, "materials": record.materials or [],
                "reason": record.reason, "recorded_at": record.recorded_at.isoformat(),
                "closed_at": record.closed_at.isoformat() if record.closed_at else None,
                "closed_by": record.closed_by, "open": is_open,
                "overdue": bool(is_open and record.due and today > record.due),
                "working_days_left": self.calendar.working_days_between(today, record.due)
                if is_open and record.due else None,
                "notice": f"/caller/notice/{record.id}" if notice else None,
                "notice_name": notice[0] if notice else None})
        return answer

    # ------------------------------------------------------------------ completing

    def close(self, case_id: int, who: Principal) -> dict[str, Any]:
        """A 承诺件 completed, or a 报批件's reply received: by the clerk who took it in, or an admin."""
        now = self.clock.now()
        today = business_date(now, self.config.timezone)
        with self.storage.write() as session:
            record = self._record(session, case_id, who, lock=True)
            if record.type not in CLOSING:
                raise DomainError("conflict", "not_closable",
                                  f"{CASE_TYPES[record.type]}在办结时已了结，无需再办")
            if record.closed_at is not None:
                raise DomainError("conflict", "case_closed", "该件已办结")
            record.closed_at, record.closed_by = now, who.name
            action = CLOSING[record.type]
            detail = {"type": record.type, "due": record.due.isoformat() if record.due else None,
                      "on_time": bool(record.due and today <= record.due)}
            session.add(TicketEvent(ticket_id=record.ticket_id, action=action, window_id=record.window_id,
                                    actor=who.actor, at=now, detail=detail))
            answer = self._json(session, [record])[0]
        self.bus.publish([HallEvent(action, now, window_id=record.window_id, actor=who.actor)])
        return answer

    # ------------------------------------------------------------------ the printable notice

    def notice(self, case_id: int, who: Principal) -> dict[str, Any]:
        """What the A4 notice for the resident says: the case, with a serial number, the hall and the window."""
        case = self.get(case_id, who)
        if case["notice"] is None:
            raise DomainError("not_found", "no_notice", f"{case['type_name']}没有通知书")
        title, letters = NOTICES[case["type"]]
        recorded = datetime.fromisoformat(case["recorded_at"]).astimezone(self.config.timezone)
        return {**case, "title": title, "hall": self.config.name, "date": business_date(recorded, self.config.timezone),
                "serial": f"{letters}{recorded:%Y%m%d}-{case['id']:05d}"}
