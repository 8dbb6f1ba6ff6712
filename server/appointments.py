"""预约 (seed 6, 预约服务规范): the guide desk registers an appointment taken by phone, letter or at the desk and tells
the resident its 6-digit code; at the kiosk the code (or the phone number) checks in and gives a ticket tagged 预约
that is called before the regular tickets of its item; more than 30 minutes late it is given up by itself. Home
visits (上门服务) and appointments on days the hall is closed are marked done or not done by the staff assigned.

Plain Python over Storage and a Clock, no Flask. Every state change writes an event row in ticket_events (the
audit trail and the source of statistics) that holds no name, phone or ID digit, commits, then publishes a domain
event. Only ``AppointmentView.to_json(full=True)`` carries the personal fields, for the guide desk and the admin.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.auth import display_names
from server.clock import Clock, business_date, wall_time
from server.config import AppointmentSlot, HallConfig, Service
from server.db import Storage
from server.events import EventBus, HallEvent, TicketView
from server.models import Appointment, Staff, Ticket, TicketEvent
from server.privacy import mask_id_digits, mask_name, mask_phone
from server.queue import AppointmentClaim, DomainError, QueueEngine
from server.vocabulary import APPOINTMENT_CHANNELS, APPOINTMENT_KINDS, APPOINTMENT_STATUS, WEEKDAY_NAMES

log = logging.getLogger(__name__)

#: one of these per phone, item and day (the unique index ux_appointments_active says so too)
ACTIVE = ("booked", "checked_in")
#: kinds served away from the kiosk: marked done or not done by the staff assigned
VISITS = ("home", "holiday")
#: the domain events of this module (the guide desk's screens refresh on them)
EVENTS = ("appointment_booked", "appointment_rejected", "appointment_cancelled", "appointment_checked_in",
          "appointment_forfeited", "appointment_done", "appointment_not_done")
SYSTEM = "system"  # the actor of what the time does by itself
#: the longest name a 预约 keeps (the 登记表's column); a longer one is refused, never cut
NAME_LIMIT = 32

_CODE = re.compile(r"\d{6}")
_MOBILE = re.compile(r"1\d{10}")
_PHONE = re.compile(r"1\d{10}|0\d{9,11}")  # a mobile, or a landline with its area code
_ID_DIGITS = re.compile(r"\d{5}[\dX]")
_CODE_ATTEMPTS = 20
_BOOKING_ATTEMPTS = 3
#: PostgreSQL: bookings take this transaction lock, so two desks never both take a slot's last place
_BOOKING_LOCK = 0x68616C6C71


@dataclass(frozen=True)
class Booking:
    """What the guide desk (or, later, an online channel) asks for."""

    service: str
    day: date
    #: "09:00": a slot's start for the window kind; the agreed time for a home or holiday visit
    slot: str
    kind: str
    channel: str
    name: str
    phone: str
    id_last6: str | None = None
    notes: str = ""
    #: the staff member (username) who serves a home or holiday visit
    assigned_to: str | None = None


@dataclass(frozen=True)
class AppointmentView:
    """An appointment as the outside world may see it; personal fields only through ``to_json(full=True)``."""

    id: int
    code: str
    service: str
    service_name: str
    day: date
    slot: str
    slot_end: str | None
    kind: str
    channel: str
    name: str
    phone: str
    id_last6: str | None
    notes: str
    status: str
    reason: str | None
    assigned_to: str | None
    assigned_name: str | None
    booked_by: str
    booked_by_name: str
    booked_at: datetime
    ticket_id: int | None
    ticket_number: str | None
    check_in_from: datetime | None
    forfeit_at: datetime | None

    @property
    def status_text(self) -> str:
        return APPOINTMENT_STATUS[self.status]

    @property
    def kind_text(self) -> str:
        return APPOINTMENT_KINDS[self.kind]

    @property
    def channel_text(self) -> str:
        return APPOINTMENT_CHANNELS[self.channel]

    def to_json(self, full: bool) -> dict[str, Any]:
        """``full``: for the guide desk and the admin. Otherwise name, phone and ID digits are masked, and the code
        (the key to check in), the notes and the reason are left out."""
        data: dict[str, Any] = {
            "id": self.id, "service": self.service, "service_name": self.service_name, "date": self.day.isoformat(),
            "slot": self.slot, "slot_end": self.slot_end, "kind": self.kind, "kind_text": self.kind_text,
            "channel": self.channel, "channel_text": self.channel_text, "status": self.status,
            "status_text": self.status_text, "assigned_to": self.assigned_to,
            "assigned_name": self.assigned_name,
            "ticket": {"id": self.ticket_id, "number": self.ticket_number} if self.ticket_id else None,
            "check_in_from": self.check_in_from.isoformat() if self.check_in_from else None,
            "forfeit_at": self.forfeit_at.isoformat() if self.forfeit_at else None,
        }
        if not full:
            return {**data, "name": mask_name(self.name), "phone": mask_phone(self.phone),
                    "id_last6": mask_id_digits(self.id_last6)}
        return {**data, "code": self.code, "name": self.name, "phone": self.phone, "id_last6": self.id_last6,
                "notes": self.notes, "reason": self.reason, "booked_by": self.booked_by,
                "booked_by_name": self.booked_by_name, "booked_at": self.booked_at.isoformat()}


def day_text(day: date, today: date | None = None) -> str:
    """12月2日（周三）, or 今天 / 明天."""
    if today is not None and day == today:
        return "今天"
    if today is not None and day == today + timedelta(days=1):
        return "明天"
    return f"{day.month}月{day.day}日（{WEEKDAY_NAMES[day.isoweekday()]}）"


class Appointments:
    def __init__(self, storage: Storage, config: HallConfig, clock: Clock, bus: EventBus, engine: QueueEngine):
        self.storage = storage
        self.config = config
        self.rules = config.appointments
        self.clock = clock
        self.bus = bus
        self.engine = engine
        self.calendar = engine.hours.calendar

    # ------------------------------------------------------------------ reading

    def today(self) -> date:
        return business_date(self.clock.now(), self.config.timezone)

    def on(self, day: date) -> list[AppointmentView]:
        """The day's appointments in the order of the 登记表: by time, then as registered."""
        with self.storage.read() as session:
            rows = session.scalars(select(Appointment).where(Appointment.business_date == day)
                                   .order_by(Appointment.slot, Appointment.id)).all()
            return self._views(session, rows)

    def get(self, appointment_id: int) -> AppointmentView:
        with self.storage.read() as session:
            return self._views(session, [self._row(session, appointment_id)])[0]

    def of_ticket(self, ticket_id: int) -> AppointmentView:
        """The appointment a ticket was issued for (a clerk sees it masked)."""
        with self.storage.read() as session:
            ticket = session.get(Ticket, ticket_id)
            if ticket is None:
                raise DomainError("not_found", "ticket_not_found", f"没有编号为 {ticket_id} 的票")
            row = session.get(Appointment, ticket.appointment_id) if ticket.appointment_id else None
            if row is None:
                raise DomainError("not_found", "appointment_not_found",
                                  f"{ticket.number} 号不是预约号，或预约记录已清除")
            return self._views(session, [row])[0]

    def visits(self, staff: str | None) -> list[AppointmentView]:
        """Home-visit and holiday appointments from a week ago on, oldest first: everyone's (``staff`` None, for
        the guide desk) or those assigned to one staff member."""
        query = select(Appointment).where(Appointment.kind.in_(VISITS),
                                          Appointment.business_date >= self.today() - timedelta(days=7))
        if staff is not None:
            query = query.where(Appointment.assigned_to == staff)
        with self.storage.read() as session:
            return self._views(session, session.scalars(query.order_by(Appointment.starts_at, Appointment.id)).all())

    def slots(self, day: date, service_code: str) -> dict[str, Any]:
        """What the desk can still offer for an item on a day: each slot with its places left."""
        service = self._service(service_code)
        now = self.clock.now()
        slots = self._slots_of(day)
        with self.storage.read() as session:
            taken = dict(session.execute(
                select(Appointment.slot, func.count()).where(*self._taking(service.code, day))
                .group_by(Appointment.slot)).all())
        return {"date": day.isoformat(), "service": service.code, "open": self.calendar.is_working_day(day),
                "message": self._no_slots_message(day) if not slots else "",
                "slots": [{"start": f"{s.start:%H:%M}", "end": f"{s.end:%H:%M}", "capacity": s.capacity,
                           "booked": taken.get(f"{s.start:%H:%M}", 0),
                           "left": max(0, s.capacity - taken.get(f"{s.start:%H:%M}", 0)),
                           "started": self._at(day, s.start) <= now} for s in slots]}

    # ------------------------------------------------------------------ booking and its outcomes

    def book(self, booking: Booking, actor: str) -> AppointmentView:
        """Register an appointment: refused on a closed day, a full slot, or a second one for the same person,
        item and day. Returns it with the code to tell the resident."""
        booking = replace(booking, name=booking.name.strip(), phone=re.sub(r"[\s-]", "", booking.phone),
                          id_last6=(booking.id_last6 or "").strip().upper() or None)
        service, slot, starts_at = self._check(booking)
        for attempt in range(_BOOKING_ATTEMPTS):
            try:
                return self._insert(booking, service, slot, starts_at, actor)
            except IntegrityError:  # a code or a booking committed meanwhile: the next attempt sees it
                if attempt == _BOOKING_ATTEMPTS - 1:
                    raise DomainError("conflict", "busy", "预约登记繁忙，请重试") from None
        raise AssertionError("unreachable")

    def cancel(self, appointment_id: int, actor: str, reason: str | None) -> AppointmentView:
        """The resident called it off (or the desk did for them); the place is free again."""
        return self._close(appointment_id, actor, "cancelled", reason)

    def reject(self, appointment_id: int, actor: str, reason: str) -> AppointmentView:
        """不予预约: the hall will not serve it; seed 6.2.2 asks for the reason to be told."""
        if not reason.strip():
            raise DomainError("invalid", "reason_required", "不予预约须说明理由")
        return self._close(appointment_id, actor, "rejected", reason)

    def record_outcome(self, appointment_id: int, staff: str, any_staff: bool, done: bool,
                       note: str) -> AppointmentView:
        """A home or holiday visit done or not done, by the staff member assigned (``any_staff``: the guide desk or
        the admin, for anyone); a visit not done needs a note saying why."""
        note = note.strip()
        if not done and not note:
            raise DomainError("invalid", "note_required", "未办理时请在备注中说明原因")
        now = self.clock.now()
        with self.storage.write() as session:
            row = self._row(session, appointment_id, lock=True)
            if row.kind not in VISITS:
                raise DomainError("conflict", "not_a_visit", "窗口预约由签到和叫号记录，不需要标记办理结果")
            if not any_staff and row.assigned_to != staff:
                raise DomainError("forbidden", "not_assigned", "这不是分配给您的预约")
            self._require_booked(row)
            if business_date(now, self.config.timezone) < row.business_date:
                raise DomainError("conflict", "not_yet",
                                  f"预约日期（{day_text(row.business_date)}）还没到，不能标记办理结果")
            row.status, row.reason, row.closed_at = ("done" if done else "not_done"), note[:200] or None, now
            event = self._record(session, row, f"appointment_{row.status}", staff, now)
            view = self._views(session, [row])[0]
        self.bus.publish([event])
        return view

    # ------------------------------------------------------------------ check-in

    def check_in(self, actor: str, channel: str, code: str | None = None,
                 phone: str | None = None) -> tuple[TicketView, AppointmentView]:
        """The resident at the kiosk (or at the desk) with a code or a phone number: a ticket tagged 预约, or the
        reason why not, in words a resident understands."""
        if (code is None) == (phone is None):
            raise DomainError("invalid", "code_or_phone", "请输入预约码或手机号（二选一）")
        code, phone = code.strip() if code is not None else None, phone.strip() if phone is not None else None
        if code is not None and not _CODE.fullmatch(code):
            raise DomainError("invalid", "bad_code", "预约码是 6 位数字，请重新输入")
        if phone is not None and not _MOBILE.fullmatch(phone):
            raise DomainError("invalid", "bad_phone", "请输入 11 位手机号码")
        now = self.clock.now()
        self._forfeit_due(now)  # the 30-minute rule holds at this moment, whether the tick has run or not
        with self.storage.read() as session:
            row = self._by_code(session, code) if code is not None else self._by_phone(session, phone or "", now)
            appointment = self._views(session, [row])[0]
        if (refusal := self._refusal(appointment, now)) is not None:
            raise refusal
        ticket = self.engine.issue(appointment.service, None, actor, channel,
                                   appointment=AppointmentClaim(appointment.id, self._settle(actor)))
        with self.storage.read() as session:
            row = self._row(session, appointment.id)
            checked_in, detail = self._views(session, [row])[0], self._detail(row)
        self.bus.publish([HallEvent("appointment_checked_in", now, ticket, actor=actor, detail=detail)])
        return ticket, checked_in

    def _settle(self, actor: str) -> Callable[[Session, Ticket, datetime], None]:
        def settle(session: Session, ticket: Ticket, now: datetime) -> None:
            taken = session.execute(update(Appointment).where(
                Appointment.id == ticket.appointment_id, Appointment.status == "booked")
                .values(status="checked_in", ticket_id=ticket.id, closed_at=now))
            row = self._row(session, ticket.appointment_id or 0)
            if taken.rowcount != 1:  # checked in or closed at this very moment elsewhere
                raise self._refusal(self._views(session, [row])[0], now) or DomainError(
                    "conflict", "busy", "签到繁忙，请重试")
            session.add(TicketEvent(ticket_id=ticket.id, action="appointment_checked_in", window_id=None,
                                    actor=actor, at=now, detail={**self._detail(row), "number": ticket.number}))
            log.info("appointment_checked_in: appointment %s as %s by %s", row.id, ticket.number, actor)
        return settle

    def _by_code(self, session: Session, code: str) -> Appointment:
        row = session.scalar(select(Appointment).where(Appointment.code == code))
        if row is None:
            raise DomainError("not_found", "appointment_not_found",
                              "没有找到这个预约码，请核对后重新输入，或到导询台咨询")
        return row

    def _by_phone(self, session: Session, phone: str, now: datetime) -> Appointment:
        """The phone's appointment that matters now: today's open one, else the one to be told about."""
        today = business_date(now, self.config.timezone)
        rows = session.scalars(select(Appointment).where(Appointment.phone == phone,
                                                         Appointment.business_date >= today)).all()

        def rank(row: Appointment) -> tuple[int, datetime]:
            if row.kind != "window":
                return 5, row.starts_at
            if row.business_date != today:
                return (4 if row.status == "booked" else 6), row.starts_at
            if row.status == "booked":
                return (0 if now >= row.starts_at - self._before else 1), row.starts_at
            return (2 if row.status == "checked_in" else 3), row.starts_at

        if not rows:
            raise DomainError("not_found", "appointment_not_found",
                              "没有找到这个手机号的预约，请核对号码或输入预约码，也可到导询台咨询")
        return min(rows, key=rank)

    def _refusal(self, a: AppointmentView, now: datetime) -> DomainError | None:
        """Why this appointment cannot check in now, said for the resident; None when it can."""
        today = business_date(now, self.config.timezone)
        offer = {"service": a.service, "service_name": a.service_name}
        when = f"{day_text(a.day, today)} {a.slot}" + (f"-{a.slot_end}" if a.slot_end else "")
        if a.kind in VISITS:
            return DomainError("conflict", "appointment_not_in_hall",
                               f"这是{APPOINTMENT_KINDS[a.kind]}服务预约（{when}），无需在取号机签到，"
                               "工作人员会按约定与您联系")
        if a.status == "checked_in":
            return DomainError("conflict", "appointment_checked_in", f"该预约已签到取号，您的号码是 {a.ticket_number}，"
                               "请留意叫号", {"number": a.ticket_number})
        if a.status == "forfeited" or (a.status == "booked" and a.day < today):  # an earlier day's: it is over
            return DomainError("conflict", "appointment_forfeited", f"您预约的 {when} 已超过 "
                               f"{self.rules.forfeit_after_minutes} 分钟未签到，预约已失效（视为放弃）。"
                               f"如需办理「{a.service_name}」，可以现在取普通号", offer)
        if a.status == "cancelled":
            return DomainError("conflict", "appointment_cancelled", "该预约已取消。如需办理，请取普通号或到导询台咨询",
                               offer)
        if a.status == "rejected":
            # the desk's reason is its own words, for staff: the kiosk and the display are told only this
            return DomainError("conflict", "appointment_rejected", "该预约未被受理，请到导询台咨询")
        if a.status != "booked":
            return DomainError("conflict", "appointment_closed", f"该预约已结束（{APPOINTMENT_STATUS[a.status]}）")
        assert a.check_in_from is not None
        opens = a.check_in_from.astimezone(self.config.timezone)
        if a.day != today:
            return DomainError("conflict", "appointment_not_today", f"您的预约是 {when}，不是今天。请在预约当天 "
                               f"{opens:%H:%M} 以后来签到", {"date": a.day.isoformat(), "slot": a.slot})
        if now < a.check_in_from:
            return DomainError("conflict", "appointment_too_early", f"您预约的是 {when}，{opens:%H:%M} 起可以签到，"
                               "请稍候再来", {"from": opens.isoformat()})
        return None

    # ------------------------------------------------------------------ the time does it: forfeit

    def tick(self) -> None:
        """Run by the server every few seconds: appointments more than the grace period late are given up."""
        self._forfeit_due(self.clock.now())

    def _forfeit_due(self, now: datetime) -> None:
        """超过预约时间 30 分钟而未到现场的，视为主动放弃 (seed 6.2.5), at that moment."""
        due = (Appointment.status == "booked", Appointment.kind == "window",
               Appointment.starts_at < now - timedelta(minutes=self.rules.forfeit_after_minutes))
        with self.storage.read() as session:  # nearly always nothing: no write lock for that
            if session.scalar(select(Appointment.id).where(*due).limit(1)) is None:
                return
        with self.storage.write() as session:
            rows = session.scalars(select(Appointment).where(*due).order_by(Appointment.id).with_for_update()).all()
            events = []
            for row in rows:
                row.status, row.closed_at = "forfeited", now
                events.append(self._record(session, row, "appointment_forfeited", SYSTEM, now))
        self.bus.publish(events)

    # ------------------------------------------------------------------ internals

    @property
    def _before(self) -> timedelta:
        return timedelta(minutes=self.rules.check_in_before_minutes)

    def _service(self, code: str) -> Service:
        service = self.config.service(code)
        if service is None:
            raise DomainError("not_found", "service_not_found", f"没有代码为 {code!r} 的事项")
        return service

    def _at(self, day: date, wall: time) -> datetime:
        return datetime.combine(day, wall).replace(tzinfo=self.config.timezone)

    def _slots_of(self, day: date) -> tuple[AppointmentSlot, ...]:
        """The slots offered on a day: none when the hall is closed; a 调休 working day has a Monday's."""
        if not self.calendar.is_working_day(day):
            return ()
        return self.rules.slots_on(1 if day in self.config.calendar.workdays else day.isoweekday())

    def _no_slots_message(self, day: date) -> str:
        if not self.calendar.is_working_day(day):
            return f"{day_text(day)} 中心不开放（节假日或休息日）：只能预约上门服务或节假日服务"
        if not self.rules.slots:
            return "本中心未设置预约时段（config.toml [appointments] slots）：只能预约上门服务或节假日服务"
        return f"{day_text(day)} 没有预约时段，请选择其他日期"

    @staticmethod
    def _taking(service: str, day: date) -> tuple[Any, ...]:
        """The appointments that hold a place in a slot."""
        return (Appointment.service == service, Appointment.business_date == day, Appointment.kind == "window",
                Appointment.status.not_in(("cancelled", "rejected")))

    def _check(self, booking: Booking) -> tuple[Service, AppointmentSlot | None, datetime]:
        """Everything about a booking that the database need not be asked: the slot and the instant it starts."""
        service = self._service(booking.service)
        if booking.kind not in APPOINTMENT_KINDS:
            raise DomainError("invalid", "bad_kind", f"kind 只能是 {', '.join(APPOINTMENT_KINDS)} 之一")
        if booking.channel not in APPOINTMENT_CHANNELS:
            raise DomainError("invalid", "bad_channel", f"channel 只能是 {', '.join(APPOINTMENT_CHANNELS)} 之一")
        name = booking.name.strip()
        if len(name) > NAME_LIMIT:
            raise DomainError("invalid", "too_long", f"姓名最多 {NAME_LIMIT} 字，现在 {len(name)} 字：请删减")
        if not name or not name.isprintable():
            raise DomainError("invalid", "bad_name", f"请填写姓名（1 到 {NAME_LIMIT} 个字）")
        if not _PHONE.fullmatch(booking.phone):
            raise DomainError("invalid", "bad_phone", "联系电话应为 11 位手机号，或带区号的固定电话（只写数字）")
        if booking.id_last6 is not None and not _ID_DIGITS.fullmatch(booking.id_last6):
            raise DomainError("invalid", "bad_id_digits", "身份证后六位应为 6 位数字（最后一位可以是 X）")
        if len(booking.notes) > 200:
            raise DomainError("invalid", "bad_notes", "备注最多 200 字")
        if wall_time(booking.slot) is None:
            raise DomainError("invalid", "bad_slot", "时间应为 HH:MM，例如 09:00")
        now = self.clock.now()
        today = business_date(now, self.config.timezone)
        if not today <= booking.day <= today + timedelta(days=self.rules.days_ahead):
            raise DomainError("conflict", "bad_date", f"只能预约今天到 {self.rules.days_ahead} 天后"
                              f"（{day_text(today + timedelta(days=self.rules.days_ahead))}）之间的日期")
        slot = None
        if booking.kind == "window":
            slot = next((s for s in self._slots_of(booking.day) if f"{s.start:%H:%M}" == booking.slot), None)
            if slot is None:
                offered = "、".join(s.label for s in self._slots_of(booking.day))
                raise DomainError("conflict", "no_such_slot",
                                  f"{day_text(booking.day)} 没有 {booking.slot} 开始的预约时段"
                                  + (f"（可选：{offered}）" if offered else f"：{self._no_slots_message(booking.day)}"))
        elif booking.kind == "holiday" and self.calendar.is_working_day(booking.day):
            raise DomainError("conflict", "hall_open_that_day",
                              f"{day_text(booking.day)} 中心正常开放：请预约「窗口」办理，"
                              "节假日预约只用于中心不开放的日子")
        if booking.kind in VISITS and not booking.assigned_to:
            raise DomainError("invalid", "assignee_required", "上门服务和节假日预约须指定负责的工作人员")
        starts_at = self._at(booking.day, time.fromisoformat(booking.slot))
        if starts_at <= now:
            raise DomainError("conflict", "slot_started", f"{day_text(booking.day, today)} {booking.slot} 已经过了，"
                              "请选择以后的时间")
        return service, slot, starts_at

    def _insert(self, booking: Booking, service: Service, slot: AppointmentSlot | None, starts_at: datetime,
                actor: str) -> AppointmentView:
        now = self.clock.now()
        with self.storage.write() as session:
            if self.storage.dialect == "postgresql":
                session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _BOOKING_LOCK})
            if booking.assigned_to and session.scalar(
                    select(Staff.id).where(Staff.username == booking.assigned_to)) is None:
                raise DomainError("not_found", "staff_not_found", f"没有用户名为 {booking.assigned_to!r} 的工作人员")
            same = session.scalar(select(Appointment).where(
                Appointment.phone == booking.phone, Appointment.service == service.code,
                Appointment.business_date == booking.day, Appointment.status.in_(ACTIVE)))
            if same is not None:
                raise DomainError("conflict", "duplicate_appointment", f"该联系电话已预约 {day_text(booking.day)} 的"
                                  f"「{service.name}」（{same.slot}），每人每个事项每天只能预约一次")
            if slot is not None:
                taken = session.scalar(select(func.count()).select_from(Appointment).where(
                    *self._taking(service.code, booking.day), Appointment.slot == booking.slot)) or 0
                if taken >= slot.capacity:
                    raise DomainError("conflict", "slot_full",
                                      f"{day_text(booking.day)} {slot.label} 的「{service.name}」"
                                      f"已约满（{slot.capacity} 人），请选择其他时段")
            row = Appointment(code=self._new_code(session), service=service.code, business_date=booking.day,
                              slot=booking.slot, slot_end=f"{slot.end:%H:%M}" if slot else None, starts_at=starts_at,
                              kind=booking.kind, channel=booking.channel, name=booking.name.strip(),
                              phone=booking.phone, id_last6=booking.id_last6, notes=booking.notes.strip(),
                              status="booked", assigned_to=booking.assigned_to if booking.kind in VISITS else None,
                              booked_by=actor, booked_at=now)
            session.add(row)
            session.flush()
            event = self._record(session, row, "appointment_booked", actor, now)
            view = self._views(session, [row])[0]
        self.bus.publish([event])
        return view

    @staticmethod
    def _new_code(session: Session) -> str:
        for _ in range(_CODE_ATTEMPTS):
            code = f"{secrets.randbelow(10 ** 6):06d}"
            if session.scalar(select(Appointment.id).where(Appointment.code == code)) is None:
                return code
        raise DomainError("conflict", "busy", "预约码生成繁忙，请重试")

    def _close(self, appointment_id: int, actor: str, status: str, reason: str | None) -> AppointmentView:
        now = self.clock.now()
        with self.storage.write() as session:
            row = self._row(session, appointment_id, lock=True)
            self._require_booked(row)
            row.status, row.reason, row.closed_at = status, (reason or "").strip()[:200] or None, now
            event = self._record(session, row, f"appointment_{status}", actor, now)
            view = self._views(session, [row])[0]
        self.bus.publish([event])
        return view

    @staticmethod
    def _require_booked(row: Appointment) -> None:
        if row.status != "booked":
            raise DomainError("conflict", "not_booked", f"该预约当前为「{APPOINTMENT_STATUS[row.status]}」，不能再更改")

    @staticmethod
    def _row(session: Session, appointment_id: int, lock: bool = False) -> Appointment:
        query = select(Appointment).where(Appointment.id == appointment_id)
        row = session.scalar(query.with_for_update() if lock else query)
        if row is None:
            raise DomainError("not_found", "appointment_not_found", f"没有编号为 {appointment_id} 的预约")
        return row

    @staticmethod
    def _detail(row: Appointment) -> dict[str, Any]:
        """What an event row says of an appointment: never a name, phone or ID digit."""
        return {"appointment": row.id, "service": row.service, "date": row.business_date.isoformat(),
                "slot": row.slot, "kind": row.kind, "channel": row.channel}

    def _record(self, session: Session, row: Appointment, action: str, actor: str, now: datetime) -> HallEvent:
        """The event row (audit trail, statistics) and the domain event to publish after commit."""
        detail = self._detail(row)
        session.add(TicketEvent(ticket_id=None, action=action, window_id=None, actor=actor, at=now, detail=detail))
        log.info("%s: appointment %s (%s %s %s, %s) by %s", action, row.id, row.service, detail["date"], row.slot,
                 row.kind, actor)  # never the resident's name, phone or ID digits
        return HallEvent(action, now, actor=actor, detail=detail)

    def _views(self, session: Session, rows: Iterable[Appointment]) -> list[AppointmentView]:
        rows = list(rows)
        names = display_names(session, [*(r.booked_by for r in rows), *(r.assigned_to for r in rows)])
        numbers = dict(session.execute(select(Ticket.id, Ticket.number).where(
            Ticket.id.in_([r.ticket_id for r in rows if r.ticket_id]))).all())
        grace = timedelta(minutes=self.rules.forfeit_after_minutes)
        views = []
        for r in rows:
            service = self.config.service(r.service)
            window = r.kind == "window"
            views.append(AppointmentView(
                id=r.id, code=r.code, service=r.service, service_name=service.name if service else r.service,
                day=r.business_date, slot=r.slot, slot_end=r.slot_end, kind=r.kind, channel=r.channel, name=r.name,
                phone=r.phone, id_last6=r.id_last6, notes=r.notes, status=r.status, reason=r.reason,
                assigned_to=r.assigned_to, assigned_name=names.get(r.assigned_to) if r.assigned_to else None,
                booked_by=r.booked_by, booked_by_name=names.get(r.booked_by, r.booked_by), booked_at=r.booked_at,
                ticket_id=r.ticket_id, ticket_number=numbers.get(r.ticket_id) if r.ticket_id else None,
                check_in_from=r.starts_at - self._before if window else None,
                forfeit_at=r.starts_at + grace if window else None))
        return views
