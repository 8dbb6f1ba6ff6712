"""五件制: every 办结 is recorded as one of the five case types of the manual (办件管理 3.1-3.5),
and what is left to do is followed to the end.

即办件 is finished on the spot. 承诺件 carries the date the item's 承诺时限 gives; a later one is
an extension, with its reason (3.4.2.2 不得随意延长). 补办件 lists every missing material
(一次性告知); its 承诺时限 counts from 补齐 (3.3.2.2). 退回件 carries the reason; the resident may
ask for 复核 (3.2.2.3). 报批件 is forwarded (上报) within the configured days, and after the 批复
the resident is answered (2.4, 3.5.2.2). The time points of 2.2 (受理、审核、决定、送达) are
marked in the order of STEPS; 送达 closes the case. Each pending stage past its date is overdue.
Plain Python over a Storage and a Clock; the case is written inside the engine's 办结 transaction
(a finish hook), each later change with its ticket_events row and a HallEvent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, false, insert, or_, select, true
from sqlalchemy.orm import Session

from server.auth import Principal, clerk_cards
from server.clock import business_date, calendar_day
from server.events import HallEvent
from server.ledger import Ledger
from server.models import CaseRecord, Ticket, TicketEvent
from server.privacy import mask_numbers
from server.queue import DomainError, record_row
from server.vocabulary import CASE_STEPS, CASE_TYPES, REVIEW_RESULTS

#: the types still open after 办结 (closed_at set at 送达, when nothing is left to do)
OPEN_TYPES = ("promised", "supplement", "approval")
#: the time points each open type is marked through after 受理, in this order (办理质量 2.2: 受理、审核、决定、送达;
#: 补办件: 补齐 first, the 承诺时限 counting from it, 3.3.2.2; 报批件: 审核 at the window, 上报, the 批复 (the higher
#: office's 决定), 送达 = the resident answered, 2.4 and 3.5.2.2). 即办件 and 退回件 get 审核, 决定, 送达 at 办结.
STEPS: dict[str, tuple[str, ...]] = {"promised": ("checked", "decided", "delivered"),
                                     "supplement": ("supplemented", "checked", "decided", "delivered"),
                                     "approval": ("checked", "forwarded", "approved", "delivered")}
#: the ticket_events action of each step; 送达 completes the case
STEP_EVENTS: dict[str, str] = {"supplemented": "case_supplemented", "checked": "case_checked",
                               "decided": "case_decided", "forwarded": "case_forwarded",
                               "approved": "case_approved", "delivered": "case_completed"}
#: the printable notices (A4): the name (after 便民服务中心××窗口, as the manual names them), the letters of their
#: serial numbers, and who gets each copy (3.2.2.2, 3.3.2.1, 3.4.2.1; 报批件: 2.1, see docs/api.md)
NOTICES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "supplement": ("申请材料补正通知书", "BZ", ("存窗口", "报中心管理人员", "交服务对象")),
    "returned": ("退回件通知书", "TH", ("存窗口", "报“中心”管理员备查", "交服务对象")),
    "promised": ("承诺件受理通知书", "CN", ("存窗口", "报中心管理人员", "报主管部门领导", "交服务对象")),
    "approval": ("报批件受理通知书", "BP", ("存窗口", "报中心管理人员", "交服务对象"))}
EVENTS = (*STEP_EVENTS.values(), "case_extended", "case_review_requested", "case_reviewed")
_FIELDS: dict[str, set[str]] = {"immediate": set(), "promised": {"due", "working_days", "extension_reason"},
                                "approval": set(), "supplement": {"materials"}, "returned": {"reason"}}
MAX_MATERIALS = 30
TEXT_LIMIT = 200
#: 即办 in config: the item is finished on the spot, its 承诺时限 is the day itself
ON_THE_SPOT = "即办"


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
    #: 承诺件: why ``due`` is later than the item's 承诺时限 allows (an extension)
    extension_reason: str | None = None
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


class Cases(Ledger):

    def promised_days(self, service_code: str) -> int | str:
        """The item's 承诺时限 (working days, or 即办), else the hall's [cases] promised_working_days."""
        service = self.config.service(service_code)
        days = service.promised_working_days if service else None
        return self.config.cases.promised_working_days if days is None else days

    def limit_from(self, service_code: str, day: date) -> date:
        """The date the item's 承诺时限 gives, counted from ``day`` (受理, or a 补办件's 补齐) by the calendar."""
        days = self.promised_days(service_code)
        return day if days == ON_THE_SPOT else self.calendar.add_working_days(day, int(days))

    # ------------------------------------------------------------------ at 办结

    def parse(self, data: dict[str, Any]) -> CaseInput:
        """The fields given in a finish request (server.schemas.CaseChoice, which checked their JSON types):
        ``{"case": "promised", "due": "2026-12-07"}`` and so on; none is the default 即办件. Checked before the 办结
        starts, so a wrong case finishes nothing (the 承诺时限, which depends on the item, is checked by on_finish
        inside the 办结's transaction)."""
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
        if kind == "promised":
            reason = data.get("extension_reason")
            return CaseInput(kind, due=self._due(data),
                             extension_reason=self._text(reason, "extension_reason", "延期理由") if reason else None)
        if kind == "supplement":
            return CaseInput(kind, materials=self._materials(data.get("materials")))
        if kind == "returned":
            return CaseInput(kind, reason=self._text(data.get("reason"), "reason", "退回原因"))
        return CaseInput(kind)

    @staticmethod
    def _text(value: Any, field: str, what: str) -> str:
        """A reason typed by the clerk: required, at most TEXT_LIMIT characters, numbers masked (no ID numbers)."""
        if not isinstance(value, str) or not value.strip():
            raise DomainError("invalid", f"{field}_required", f"请写明{what}")
        if len(value.strip()) > TEXT_LIMIT:
            raise DomainError("invalid", f"{field}_too_long", f"{what}最多 {TEXT_LIMIT} 字")
        return mask_numbers(value.strip())

    def _due(self, data: dict[str, Any]) -> date | None:
        """The date given, or so many working days after today; None: the item's 承诺时限 (worked out at 办结)."""
        given, days = data.get("due"), data.get("working_days")
        if given is not None:
            return self._date(given)
        if days is not None:
            if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 120:
                raise DomainError("invalid", "bad_due", "working_days 应为 1 到 120 的整数（工作日）")
            return self.calendar.add_working_days(self.today(), days)
        return None

    def _date(self, given: Any, after: date | None = None) -> date:
        """A promised date: today (or after ``after``) to a year ahead, else 422 bad_due."""
        today = self.today()
        due = calendar_day(given) if isinstance(given, str) else None
        if due is None:
            raise DomainError("invalid", "bad_due", "承诺办结日期应为 YYYY-MM-DD")
        if due < today or due > today + timedelta(days=366):
            raise DomainError("invalid", "bad_due", "承诺办结日期应在今天到一年之内")
        if after is not None and due <= after:
            raise DomainError("invalid", "bad_due", f"延期后的日期应晚于原承诺办结日期 {after.isoformat()}")
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
                  case: CaseInput | None) -> list[dict[str, Any]]:
        """The engine's finish hook: the case is recorded in the 办结's own transaction (its event by the engine).
        A 承诺件's date later than the item's 承诺时限 needs a reason (3.4.2.2: 不得随意延长) and counts as an
        extension; refusing it here rolls the 办结 back. 即办件 and 退回件 are checked, decided and delivered at once
        (the 退回件通知书 is the decision handed over); 报批件 must be forwarded within [cases]
        approval_working_days."""
        case = case or DEFAULT
        today = business_date(now, self.config.timezone)
        row: dict[str, Any] = {"ticket_id": ticket_id, "window_id": window_id, "clerk": staff, "type": case.type,
                               "recorded_at": now, "due": None, "materials": list(case.materials) or None,
                               "reason": case.reason, "chosen": case.chosen, "extensions": 0}
        detail: dict[str, Any] = {"type": case.type}
        if case.type == "promised":
            service = connection.execute(select(Ticket.service).where(Ticket.id == ticket_id)).scalar_one()
            row["limit_due"] = self.limit_from(service, today)
            row["due"] = case.due or row["limit_due"]
            if row["due"] > row["limit_due"]:
                if case.extension_reason is None:
                    raise DomainError("invalid", "extension_reason_required",
                                      f"承诺办结日期晚于本事项承诺时限（{row['limit_due'].isoformat()}），请写明延期理由")
                row["extensions"], row["extension_reason"] = 1, case.extension_reason
                detail["extension_reason"] = case.extension_reason
            elif case.extension_reason is not None:
                raise DomainError("invalid", "no_extension", "承诺办结日期未超过本事项承诺时限，无需延期理由")
            detail.update(due=row["due"].isoformat(), limit_due=row["limit_due"].isoformat())
        elif case.type == "approval":
            row["forward_due"] = self.calendar.add_working_days(today, self.config.cases.approval_working_days)
            detail["forward_due"] = row["forward_due"].isoformat()
        elif case.type in ("immediate", "returned"):
            for step in ("checked", "decided", "delivered"):
                row[f"{step}_at"], row[f"{step}_by"] = now, staff
        connection.execute(_NEW_CASE, row)
        if case.materials:
            detail["materials"] = list(case.materials)
        if case.reason is not None:
            detail["reason"] = case.reason
        if not case.chosen:
            detail["default"] = True
        return [record_row(ticket_id, "case_recorded", window_id, staff, now, detail)]

    # ------------------------------------------------------------------ reading

    def options(self) -> dict[str, Any]:
        """What the caller's 办件类型 choice offers: the types, each item's 承诺时限 and date, reasons to return."""
        today = self.today()
        settings = self.config.cases
        return {"today": today.isoformat(),
                "types": [{"code": code, "name": name} for code, name in CASE_TYPES.items()],
                "promised_due": self.calendar.add_working_days(today, settings.promised_working_days).isoformat(),
                "promised": {service.code: self._limit_json(service.code, today) for service in self.config.services},
                "approval_due": self.calendar.add_working_days(today, settings.approval_working_days).isoformat(),
                "promised_working_days": settings.promised_working_days,
                "approval_working_days": settings.approval_working_days,
                "answer_working_days": settings.answer_working_days,
                "review_working_days": settings.review_working_days,
                "return_reasons": list(settings.return_reasons),
                "materials": {service.code: split_materials(service.materials) for service in self.config.services}}

    def _limit_json(self, service_code: str, today: date) -> dict[str, Any]:
        """An item's 承诺时限 as the caller shows it, and the date it gives from today."""
        days = self.promised_days(service_code)
        on_the_spot = days == ON_THE_SPOT
        return {"working_days": None if on_the_spot else days, "immediate": on_the_spot,
                "due": self.limit_from(service_code, today).isoformat()}

    def of_ticket(self, ticket_id: int) -> dict[str, Any] | None:
        with self.storage.read() as session:
            record = session.scalars(select(CaseRecord).where(CaseRecord.ticket_id == ticket_id)).one_or_none()
            return self._json(session, [record])[0] if record else None

    def get(self, case_id: int, who: Principal) -> dict[str, Any]:
        with self.storage.read() as session:
            return self._json(session, [self._record(session, case_id, who)])[0]

    def open_cases(self, who: Principal) -> list[dict[str, Any]]:
        """What is left to do, of the cases ``who`` handles: 承诺件, 补办件 and 报批件 not yet delivered, and 退回件
        whose 复核 is not answered; the most urgent first."""
        query = (select(CaseRecord).where(handled_by(who), or_(
            and_(CaseRecord.type.in_(OPEN_TYPES), CaseRecord.closed_at.is_(None)),
            and_(CaseRecord.review_requested_at.is_not(None), CaseRecord.reviewed_at.is_(None))))
            .order_by(CaseRecord.id))
        with self.storage.read() as session:
            cases = self._json(session, list(session.scalars(query)))
        return sorted(cases, key=lambda c: (c["deadline"] is None, c["deadline"] or "", c["id"]))

    def of_period(self, first: date, last: date, who: Principal) -> list[dict[str, Any]]:
        """Every case of the tickets of those business days that ``who`` handles, with its time points."""
        query = (select(CaseRecord).join(Ticket, Ticket.id == CaseRecord.ticket_id)
                 .where(Ticket.business_date.between(first, last), handled_by(who)).order_by(CaseRecord.id))
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

    @staticmethod
    def next_step(record: CaseRecord) -> str | None:
        """The time point to mark next, in the order of STEPS; None when nothing is left to mark."""
        return next((step for step in STEPS.get(record.type, ()) if getattr(record, f"{step}_at") is None), None)

    @staticmethod
    def deadline(record: CaseRecord) -> date | None:
        """The date the pending stage must be done by: 上报, the answer after the 批复, 送达 of a promise, 复核."""
        if record.review_requested_at is not None and record.reviewed_at is None:
            return record.review_due
        if record.type not in OPEN_TYPES or record.closed_at is not None:
            return None
        if record.type == "approval":
            return record.forward_due if record.forwarded_at is None else record.answer_due
        return record.due

    def _json(self, session: Session, records: list[CaseRecord]) -> list[dict[str, Any]]:
        tickets = {t.id: t for t in session.scalars(select(Ticket).where(Ticket.id.in_([r.ticket_id
                                                                                         for r in records])))}
        clerks = clerk_cards(session, {r.clerk for r in records})
        today = self.today()
        answer = []
        for record in records:
            ticket = tickets[record.ticket_id]
            service, window = self.config.service(ticket.service), self.config.window(record.window_id)
            is_open = record.type in OPEN_TYPES and record.closed_at is None
            notice = NOTICES.get(record.type)
            deadline = self.deadline(record)
            flags = {"forward_overdue": _late(is_open and record.forwarded_at is None, record.forward_due, today),
                     "answer_overdue": _late(is_open and record.approved_at is not None, record.answer_due, today),
                     "review_overdue": _late(record.reviewed_at is None, record.review_due, today),
                     "due_overdue": _late(is_open and record.type != "approval", record.due, today)}
            answer.append({
                "id": record.id, "ticket": ticket.id, "number": ticket.number, "service": ticket.service,
                "service_name": service.name if service else ticket.service, "window": record.window_id,
                "window_name": window.name if window else str(record.window_id), "clerk": clerks[record.clerk],
                "type": record.type, "type_name": CASE_TYPES[record.type], "chosen": record.chosen,
                "due": _day(record.due), "limit_due": _day(record.limit_due), "extensions": record.extensions,
                "extension_reason": record.extension_reason, "materials": record.materials or [],
                "reason": record.reason, "recorded_at": record.recorded_at.isoformat(),
                "closed_at": _moment(record.closed_at), "closed_by": record.closed_by, "open": is_open,
                "steps": [{"step": "accepted", "at": record.recorded_at.isoformat(), "by": record.clerk},
                          *({"step": step, "at": _moment(getattr(record, f"{step}_at")),
                             "by": getattr(record, f"{step}_by")}
                            for step in STEPS.get(record.type, ("checked", "decided", "delivered")))],
                "next_step": self.next_step(record),
                "forward_due": _day(record.forward_due), "answer_due": _day(record.answer_due),
                "review_requested_at": _moment(record.review_requested_at), "review_due": _day(record.review_due),
                "reviewed_at": _moment(record.reviewed_at), "reviewed_by": record.reviewed_by,
                "review_result": record.review_result,
                "forward_overdue": flags["forward_overdue"], "answer_overdue": flags["answer_overdue"],
                "review_overdue": flags["review_overdue"], "overdue": any(flags.values()),
                "deadline": _day(deadline),
                "working_days_left": self.calendar.working_days_between(today, deadline) if deadline else None,
                "notice": f"/caller/notice/{record.id}" if notice else None,
                "notice_name": notice[0] if notice else None})
        return answer

    # ------------------------------------------------------------------ the time points

    def mark(self, case_id: int, step: str, who: Principal) -> dict[str, Any]:
        """One time point of an open case, in the order of STEPS (a step twice, or before the one it follows: 409)."""
        if step not in STEP_EVENTS:
            raise DomainError("invalid", "bad_step", f"step 应为 {', '.join(STEP_EVENTS)} 之一")
        return self._change(case_id, who, lambda record, now: self._step(record, step, now, who))

    def close(self, case_id: int, who: Principal) -> dict[str, Any]:
        """办结 at once: every time point not yet marked is marked now (the admin's 已办结, a late record)."""

        def rest(record: CaseRecord, now: datetime) -> list[tuple[str, dict[str, Any]]]:
            self._open(record)
            changes: list[tuple[str, dict[str, Any]]] = []
            while (step := self.next_step(record)) is not None:
                changes += self._step(record, step, now, who)
            return changes

        return self._change(case_id, who, rest)

    def extend(self, case_id: int, due: str, reason: str, who: Principal) -> dict[str, Any]:
        """A later date for an open 承诺件 or 补办件 (after 补齐), with its reason: one more extension."""
        text = self._text(reason, "extension_reason", "延期理由")

        def later(record: CaseRecord, now: datetime) -> list[tuple[str, dict[str, Any]]]:
            self._open(record)
            if record.due is None:
                raise DomainError("conflict", "not_extendable",
                                  f"该{CASE_TYPES[record.type]}尚无承诺办结日期，无需延期")
            previous, record.due = record.due, self._date(due, after=record.due)
            record.extensions += 1
            record.extension_reason = text
            return [("case_extended", {"type": record.type, "due": record.due.isoformat(),
                                       "previous": previous.isoformat(), "extension_reason": text})]

        return self._change(case_id, who, later)

    def request_review(self, case_id: int, who: Principal) -> dict[str, Any]:
        """A 退回件's resident asks for 复核 (3.2.2.3): answered within [cases] review_working_days (3.2.2.1)."""

        def requested(record: CaseRecord, now: datetime) -> list[tuple[str, dict[str, Any]]]:
            if record.type != "returned":
                raise DomainError("conflict", "not_returned", "只有退回件可以申请复核")
            if record.review_requested_at is not None:
                raise DomainError("conflict", "step_done", "该件已申请复核")
            record.review_requested_at = now
            record.review_due = self.calendar.add_working_days(business_date(now, self.config.timezone),
                                                               self.config.cases.review_working_days)
            return [("case_review_requested", {"type": record.type, "review_due": record.review_due.isoformat()})]

        return self._change(case_id, who, requested)

    def answer_review(self, case_id: int, result: str, text: str | None, who: Principal) -> dict[str, Any]:
        """The 复核's answer: 维持 (the 退回 stands) or 撤销, with what the resident was told."""
        if result not in REVIEW_RESULTS:
            raise DomainError("invalid", "bad_result", f"result 应为 {', '.join(REVIEW_RESULTS)} 之一")
        said = self._text(text, "review_text", "复核意见") if text and text.strip() else None

        def answered(record: CaseRecord, now: datetime) -> list[tuple[str, dict[str, Any]]]:
            if record.review_requested_at is None:
                raise DomainError("conflict", "step_order", "该件尚未申请复核")
            if record.reviewed_at is not None:
                raise DomainError("conflict", "step_done", "该件的复核已答复")
            record.reviewed_at, record.reviewed_by = now, who.name
            record.review_result = "：".join(filter(None, [REVIEW_RESULTS[result], said]))[:TEXT_LIMIT]
            on_time = bool(record.review_due and business_date(now, self.config.timezone) <= record.review_due)
            return [("case_reviewed", {"type": record.type, "result": result, "on_time": on_time})]

        return self._change(case_id, who, answered)

    @staticmethod
    def _open(record: CaseRecord) -> None:
        if record.type not in OPEN_TYPES:
            raise DomainError("conflict", "not_closable", f"{CASE_TYPES[record.type]}在办结时已了结，无需再办")
        if record.closed_at is not None:
            raise DomainError("conflict", "case_closed", "该件已办结")

    def _step(self, record: CaseRecord, step: str, now: datetime, who: Principal
              ) -> list[tuple[str, dict[str, Any]]]:
        self._open(record)
        name = CASE_STEPS[step]
        if step not in STEPS[record.type]:
            raise DomainError("conflict", "not_a_step", f"{CASE_TYPES[record.type]}没有“{name}”这一环节")
        if getattr(record, f"{step}_at") is not None:
            raise DomainError("conflict", "step_done", f"“{name}”已经标记过")
        pending = self.next_step(record)
        if step != pending:
            raise DomainError("conflict", "step_order", f"请先标记“{CASE_STEPS[str(pending)]}”")
        today = business_date(now, self.config.timezone)
        setattr(record, f"{step}_at", now)
        setattr(record, f"{step}_by", who.name)
        detail: dict[str, Any] = {"type": record.type, "step": step}
        if step == "supplemented":  # 3.3.2.2: the 承诺时限 counts from the day the materials are complete
            service = record_service(record)
            record.limit_due = record.due = self.limit_from(service, today)
            detail["due"] = record.due.isoformat()
        elif step == "forwarded":
            detail["on_time"] = bool(record.forward_due and today <= record.forward_due)
        elif step == "approved":
            record.answer_due = self.calendar.add_working_days(today, self.config.cases.answer_working_days)
            detail["answer_due"] = record.answer_due.isoformat()
        elif step == "delivered":
            record.closed_at, record.closed_by = now, who.name
            due = record.answer_due if record.type == "approval" else record.due
            detail.update(due=_day(due), on_time=bool(due and today <= due))
        return [(STEP_EVENTS[step], detail)]

    def _change(self, case_id: int, who: Principal,
                change: Callable[[CaseRecord, datetime], list[tuple[str, dict[str, Any]]]]) -> dict[str, Any]:
        """One action on a case ``who`` handles, in one transaction: its ticket_events rows, then the HallEvents."""
        now = self.clock.now()
        with self.storage.write() as session:
            record = self._record(session, case_id, who, lock=True)
            events = change(record, now)
            for action, detail in events:
                session.add(TicketEvent(ticket_id=record.ticket_id, action=action, window_id=record.window_id,
                                        actor=who.actor, at=now, detail=detail))
            session.flush()
            answer = self._json(session, [record])[0]
        self.bus.publish([HallEvent(action, now, window_id=record.window_id, actor=who.actor)
                          for action, _ in events])
        return answer

    # ------------------------------------------------------------------ the printable notice

    def notice(self, case_id: int, who: Principal) -> dict[str, Any]:
        """What the A4 notice for the resident says: the case, with a serial number, the hall, the window, who
        gets each copy (一式三联 / 四联) and the 监督投诉电话."""
        case = self.get(case_id, who)
        if case["notice"] is None:
            raise DomainError("not_found", "no_notice", f"{case['type_name']}没有通知书")
        name, letters, copies = NOTICES[case["type"]]
        recorded = datetime.fromisoformat(case["recorded_at"]).astimezone(self.config.timezone)
        return {**case, "title": f"{self.config.name}{case['window_name']}{name}", "hall": self.config.name,
                "date": business_date(recorded, self.config.timezone), "copies": copies,
                "complaint_phone": self.config.hall.complaint_phone,
                "answer_working_days": self.config.cases.answer_working_days,
                "serial": f"{letters}{recorded:%Y%m%d}-{case['id']:05d}"}


def record_service(record: CaseRecord) -> str:
    """The item of the case's ticket (loaded through the session the record belongs to)."""
    session = Session.object_session(record)
    assert session is not None
    return session.execute(select(Ticket.service).where(Ticket.id == record.ticket_id)).scalar_one()


def _late(pending: bool, due: date | None, today: date) -> bool:
    """A stage still pending whose date has passed (the day after it, working or not)."""
    return bool(pending and due and today > due)


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _moment(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
