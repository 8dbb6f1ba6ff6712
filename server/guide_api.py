"""The guide desk's REST API: appointments (registered at the desk, checked in at the kiosk), the 登记表 as XLSX,
finding a ticket by its number, the duty log and the enquiry register.

Personal data (name, phone, ID digits) goes out in full only to the guide desk and the admin; a clerk sees it
masked, a kiosk only the masked appointment it has just checked in, a display nothing.
"""

from __future__ import annotations

import datetime as dt
from io import BytesIO
from typing import Any, Literal

from flask import Blueprint, Response, send_file

from server.appointments import Booking
from server.auth import Principal, StaffRole
from server.clock import wall_time
from server.operations import Answer, Body, File, operation
from server.queue import DomainError
from server.register import xlsx
from server.schemas import PrintPlan, TrackedTicket, one_of
from server.vocabulary import APPOINTMENT_CHANNELS, APPOINTMENT_KINDS, APPOINTMENT_STATUS, DUTY_KINDS, ENQUIRY_CHANNELS
from server.web import DESK, ISSUERS, STAFF, hall, limits, parse_day, print_plan, require, spooler, tracked

bp = Blueprint("guide_api", __name__, url_prefix="/api")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class Day(Body):
    #: YYYY-MM-DD; today when absent
    date: str | None = None


def day_of(value: str | None) -> dt.date:
    """?date=YYYY-MM-DD, today when absent (the desk's pages read it so too)."""
    if not value:
        return hall().appointments.today()
    return parse_day(value, "date")


def _time(value: str | None, name: str) -> dt.time | None:
    if value is None:
        return None
    at = wall_time(value.strip())
    if at is None:
        raise DomainError("invalid", "bad_time", f"{name} 应为 HH:MM，例如 09:30")
    return at


# ---------------------------------------------------------------- appointments

AppointmentStatus = Literal[tuple(APPOINTMENT_STATUS)]  # type: ignore[valid-type]


class AppointmentTicket(Answer):
    """The ticket the check-in gave."""

    id: int
    number: str


class Appointment(Answer):
    """An appointment. In full (code, name, phone, id_last6, notes, reason, booked_by…) only for guide/admin;
    others get name 张*三, phone 138****1234, id_last6 ****5X, and no code, notes, reason or booked_*."""

    id: int
    service: str
    service_name: str
    date: dt.date
    #: HH:MM: the slot's start (kind window), the agreed time (home, holiday)
    slot: str
    slot_end: str | None
    kind: Literal[tuple(APPOINTMENT_KINDS)]  # type: ignore[valid-type]
    kind_text: str
    channel: Literal[tuple(APPOINTMENT_CHANNELS)]  # type: ignore[valid-type]
    channel_text: str
    status: AppointmentStatus
    status_text: str
    #: the staff member (username) serving a home or holiday visit
    assigned_to: str | None
    assigned_name: str | None
    ticket: AppointmentTicket | None
    check_in_from: dt.datetime | None
    forfeit_at: dt.datetime | None
    name: str
    phone: str
    id_last6: str | None
    #: the 6-digit code the resident checks in with (guide/admin only)
    code: str | None = None
    notes: str | None = None
    #: why it was cancelled or rejected
    reason: str | None = None
    booked_by: str | None = None
    booked_by_name: str | None = None
    booked_at: dt.datetime | None = None


class OneAppointment(Answer):
    appointment: Appointment


class DayAppointments(Answer):
    date: dt.date
    appointments: list[Appointment]


class Appointments(Answer):
    appointments: list[Appointment]


class BookingRequest(Body):
    """An appointment taken by phone, letter, at the desk (or, later, online). The codes, the day, the slot, the
    phone and the ID digits are checked by the hall's rules, with their own error codes."""

    #: the item's code
    service: str
    #: YYYY-MM-DD: today to [appointments] days_ahead
    date: str
    #: HH:MM: a slot's start for kind window; the agreed time for home and holiday
    slot: str
    kind: one_of(APPOINTMENT_KINDS) | None = None  # type: ignore[valid-type]
    channel: one_of(APPOINTMENT_CHANNELS)  # type: ignore[valid-type]
    name: str
    #: an 11-digit mobile, or a landline with its area code
    phone: str
    #: 身份证后六位 (the last may be X)
    id_last6: str | None = None
    notes: str | None = None
    #: the staff member's username; required for home and holiday
    assigned_to: str | None = None


@operation(bp, "post", "/appointments", summary="Register an appointment (guide/admin; phone, letter, desk, a future "
           "online channel); 409 slot_full, duplicate_appointment, no_such_slot, slot_started, hall_open_that_day, "
           "bad_date", tag="appointments", roles=DESK, body=BookingRequest, answer=OneAppointment, status=201,
           errors=(404, 409))
def book(who: Principal, data: BookingRequest) -> dict[str, Any]:
    """Register an appointment taken by phone, letter, at the desk (or, later, online)."""
    booking = Booking(service=data.service, day=parse_day(data.date, "date"), slot=data.slot,
                      kind=data.kind or "window", channel=data.channel, name=data.name, phone=data.phone,
                      id_last6=data.id_last6, notes=data.notes or "", assigned_to=data.assigned_to)
    return {"appointment": hall().appointments.book(booking, who.actor).to_json(full=True)}


@operation(bp, "get", "/appointments", summary="The day's appointments in full (guide/admin; anyone else 403)",
           tag="appointments", roles=DESK, query=Day, answer=DayAppointments)
def day_list(query: Day) -> dict[str, Any]:
    day = day_of(query.date)
    return {"date": day.isoformat(), "appointments": [a.to_json(full=True) for a in hall().appointments.on(day)]}


class Choice(Answer):
    code: str
    name: str


class ServiceGuide(Answer):
    """办事指南, read to a resident booking by phone (一次性告知)."""

    materials: str
    steps: str
    time_limit: str
    fees: str


class BookableService(Answer):
    code: str
    name: str
    category: str
    guide: ServiceGuide


class StaffCard(Answer):
    username: str
    name: str
    role: StaffRole


class DeskSetup(Answer):
    """What the desk's form offers."""

    today: dt.date
    kinds: list[Choice]
    channels: list[Choice]
    reject_reasons: list[str]
    days_ahead: int
    check_in_before_minutes: int
    forfeit_after_minutes: int
    services: list[BookableService]
    #: who a home or holiday visit may be assigned to
    staff: list[StaffCard]
    duty_kinds: list[Choice]
    enquiry_channels: list[Choice]
    #: the printer of this desk's tickets and reprints (补打); null: the desk has none and hands out no paper
    desk_printer: str | None


@operation(bp, "get", "/appointments/setup", summary="What the desk's form offers: kinds, channels, reject reasons, "
           "staff, each item's 办事指南", tag="appointments", roles=DESK, answer=DeskSetup)
def setup(who: Principal) -> dict[str, Any]:
    """Kinds, channels, reasons, staff, each item's 办事指南 (一次性告知), the rules."""
    config = hall().config
    rules = config.appointments
    desk = spooler().printer_for(who.actor)
    return {
        "today": hall().appointments.today().isoformat(),
        "kinds": [{"code": code, "name": name} for code, name in APPOINTMENT_KINDS.items()],
        "channels": [{"code": code, "name": name} for code, name in APPOINTMENT_CHANNELS.items()],
        "reject_reasons": list(rules.reject_reasons), "days_ahead": rules.days_ahead,
        "check_in_before_minutes": rules.check_in_before_minutes, "forfeit_after_minutes": rules.forfeit_after_minutes,
        "services": [{"code": s.code, "name": s.name, "category": s.category,
                      "guide": {"materials": s.materials, "steps": s.steps, "time_limit": s.time_limit,
                                "fees": s.fees}} for s in config.services],
        "staff": [{"username": p.name, "name": p.display_name, "role": p.role} for p in hall().accounts.members()],
        "duty_kinds": [{"code": code, "name": name} for code, name in DUTY_KINDS.items()],
        "enquiry_channels": [{"code": code, "name": name} for code, name in ENQUIRY_CHANNELS.items()],
        "desk_printer": desk.name if desk else None,
    }


class SlotsQuery(Day):
    #: the item's code
    service: str


class Slot(Answer):
    start: str
    end: str
    capacity: int
    booked: int
    left: int
    #: already begun: no longer bookable
    started: bool


class DaySlots(Answer):
    date: dt.date
    service: str
    #: a working day of the hall
    open: bool
    #: why there are no slots, when there are none
    message: str
    slots: list[Slot]


@operation(bp, "get", "/appointments/slots", summary="The slots of a day for an item, with places left",
           tag="appointments", roles=DESK, query=SlotsQuery, answer=DaySlots, errors=(404,))
def slots(query: SlotsQuery) -> dict[str, Any]:
    if not query.service:
        raise DomainError("invalid", "missing_field", "缺少参数 service")
    return hall().appointments.slots(day_of(query.date), query.service)


class Everyone(Body):
    #: 1: everyone's (guide/admin only); absent: one's own
    all: str | None = None


@operation(bp, "get", "/appointments/assigned", summary="Home-visit and holiday appointments: one's own (any staff; "
           "masked for clerks), or everyone's with ?all=1 (guide/admin)", tag="appointments", roles=STAFF,
           query=Everyone, answer=Appointments)
def assigned(who: Principal, query: Everyone) -> dict[str, Any]:
    everyone = query.all == "1"
    if everyone:
        require(*DESK)
    visits = hall().appointments.visits(None if everyone else who.name)
    return {"appointments": [a.to_json(full=who.role in DESK) for a in visits]}


@operation(bp, "get", "/appointments/register.xlsx", summary="《中心预约服务登记表》 of a day as an XLSX file "
           "(guide/admin)", tag="appointments", roles=DESK, query=Day, answer=File(XLSX))
def register_xlsx(query: Day) -> Response:
    day = day_of(query.date)
    data = xlsx(hall().config.name, day, hall().appointments.on(day))
    return send_file(BytesIO(data), mimetype=XLSX, as_attachment=True,
                     download_name=f"中心预约服务登记表-{day.isoformat()}.xlsx", max_age=0)


class Cancelling(Body):
    #: why (optional)
    reason: str | None = None


class Rejecting(Body):
    #: why the hall will not serve it, told to the resident
    reason: str


@operation(bp, "post", "/appointments/<int:appointment_id>/cancel", summary="Cancel a booked appointment "
           "(guide/admin)", tag="appointments", roles=DESK, body=Cancelling, answer=OneAppointment, errors=(404, 409))
def cancel(appointment_id: int, who: Principal, data: Cancelling) -> dict[str, Any]:
    return {"appointment": hall().appointments.cancel(appointment_id, who.actor, data.reason).to_json(full=True)}


@operation(bp, "post", "/appointments/<int:appointment_id>/reject", summary="不予预约, with the reason told to the "
           "resident (guide/admin)", tag="appointments", roles=DESK, body=Rejecting, answer=OneAppointment,
           errors=(404, 409))
def reject(appointment_id: int, who: Principal, data: Rejecting) -> dict[str, Any]:
    return {"appointment": hall().appointments.reject(appointment_id, who.actor, data.reason).to_json(full=True)}


class Outcome(Body):
    #: true: done; false: not done
    done: bool
    note: str | None = None


@operation(bp, "post", "/appointments/<int:appointment_id>/outcome", summary="A home or holiday visit done or not "
           "done (the staff assigned, or guide/admin)", tag="appointments", roles=STAFF, body=Outcome,
           answer=OneAppointment, errors=(404, 409))
def outcome(appointment_id: int, who: Principal, data: Outcome) -> dict[str, Any]:
    """By the staff member assigned, or the guide desk or admin."""
    view = hall().appointments.record_outcome(appointment_id, who.name, who.role in DESK, data.done, data.note or "")
    return {"appointment": view.to_json(full=who.role in DESK)}


class CheckIn(Body):
    """One of the two (code_or_phone); their form is checked by the hall's rules (bad_code, bad_phone)."""

    #: the 6-digit appointment code
    code: str | None = None
    #: the 11-digit mobile the appointment was booked with
    phone: str | None = None


class CheckedIn(Answer):
    ticket: TrackedTicket
    print: PrintPlan
    #: masked for the kiosk, in full for guide/admin
    appointment: Appointment


@operation(bp, "post", "/appointments/check-in", summary="Check in with the 6-digit code or the 11-digit phone "
           "(kiosk; guide/admin at the desk): a ticket tagged 预约", tag="appointments", roles=ISSUERS, body=CheckIn,
           answer=CheckedIn, status=201, errors=(404, 409, 429), description="404 appointment_not_found; 409 "
           "appointment_not_today, appointment_too_early, appointment_checked_in, appointment_forfeited, "
           "appointment_cancelled, appointment_rejected, appointment_not_in_hall (error.detail: number, service, "
           "date, from); 422 code_or_phone, bad_code, bad_phone; a kiosk checking in by phone gets only 404 "
           "appointment_not_found; 429 too_many_requests (kiosk)")
def check_in(who: Principal, data: CheckIn) -> dict[str, Any]:
    """The resident's code or phone number: a ticket tagged 预约, printed like any other, or the reason why not.
    A kiosk is throttled (codes cannot be tried one after another), and by phone it learns nothing of whether
    or when the number has an appointment: anyone can type a phone number, only the resident knows the code."""
    kiosk = who.kind == "device"
    if kiosk:
        limits().check_in(who.name)
    try:
        ticket, appointment = hall().appointments.check_in(who.actor, "kiosk" if kiosk else "desk", code=data.code,
                                                           phone=data.phone)
    except DomainError as refusal:
        if not kiosk or not refusal.code.startswith("appointment_"):
            raise
        limits().missed(who.name)
        if data.phone is None:
            raise
        raise DomainError("not_found", "appointment_not_found",
                          "没有找到这个手机号现在可以签到的预约。请输入预约码，或到导询台咨询") from None
    return {"ticket": tracked(ticket), "print": print_plan(spooler().printer_for(who.actor)),
            "appointment": appointment.to_json(full=who.role in DESK)}


# ---------------------------------------------------------------- tickets at the desk

class PaperNumber(Body):
    #: the number on the paper, A012 (today's)
    number: str


class OneTrackedTicket(Answer):
    ticket: TrackedTicket


@operation(bp, "get", "/tickets", summary="Today's ticket of a paper number, for the guide desk (guide/admin)",
           tag="queue", roles=DESK, query=PaperNumber, answer=OneTrackedTicket, errors=(404,))
def by_number(query: PaperNumber) -> dict[str, Any]:
    """Today's ticket of a paper number (?number=A012): its state, for a resident asking at the desk."""
    number = query.number.strip()
    if not number:
        raise DomainError("invalid", "missing_field", "缺少参数 number，例如 A012")
    return {"ticket": tracked(hall().engine.by_number(number))}


@operation(bp, "get", "/tickets/<int:ticket_id>/appointment", summary="The appointment behind a 预约 ticket: in full "
           "for guide/admin, masked for clerks", tag="appointments", roles=STAFF, answer=OneAppointment,
           errors=(404,))
def ticket_appointment(ticket_id: int, who: Principal) -> dict[str, Any]:
    return {"appointment": hall().appointments.of_ticket(ticket_id).to_json(full=who.role in DESK)}


# ---------------------------------------------------------------- 值班记录 and 来电来访登记

class DutyEntry(Answer):
    id: int
    date: dt.date
    #: when it happened
    at: dt.datetime
    kind: Literal[tuple(DUTY_KINDS)]  # type: ignore[valid-type]
    kind_text: str
    text: str
    author: str
    author_name: str
    logged_at: dt.datetime


class DutyLog(Answer):
    date: dt.date
    entries: list[DutyEntry]


class OneDutyEntry(Answer):
    entry: DutyEntry


class DutyNote(Body):
    #: general (default), emergency (突发事件) or major (重大事件)
    kind: one_of(DUTY_KINDS) | None = None  # type: ignore[valid-type]
    #: what happened, at most 1000 characters
    text: str
    #: HH:MM today, when it happened; now when absent
    at: str | None = None


@operation(bp, "get", "/duty-log", summary="The day's 值班记录 (guide/admin)", tag="desk", roles=DESK, query=Day,
           answer=DutyLog)
def duty_log(query: Day) -> dict[str, Any]:
    day = day_of(query.date)
    return {"date": day.isoformat(), "entries": hall().desk.duty_log(day)}


@operation(bp, "post", "/duty-log", summary="Add to today's 值班记录 (guide/admin)", tag="desk", roles=DESK,
           body=DutyNote, answer=OneDutyEntry, status=201)
def log_duty(who: Principal, data: DutyNote) -> dict[str, Any]:
    return {"entry": hall().desk.log_duty(data.kind or "general", data.text, who.actor, _time(data.at, "at"))}


class EnquiryEntry(Answer):
    id: int
    date: dt.date
    at: dt.datetime
    channel: Literal[tuple(ENQUIRY_CHANNELS)]  # type: ignore[valid-type]
    channel_text: str
    who: str
    contact: str
    subject: str
    answer: str
    referred_to: str
    author: str
    author_name: str


class Enquiries(Answer):
    date: dt.date
    entries: list[EnquiryEntry]


class OneEnquiry(Answer):
    entry: EnquiryEntry


class EnquiryNote(Body):
    #: phone (来电), visit (来访) or letter (来信)
    channel: one_of(ENQUIRY_CHANNELS)  # type: ignore[valid-type]
    #: what was asked, at most 500 characters
    subject: str
    answer: str | None = None
    #: who called or came, at most 32 characters
    who: str | None = None
    contact: str | None = None
    #: the window or office it was referred to (转办)
    referred_to: str | None = None
    #: HH:MM today, when it happened; now when absent
    at: str | None = None


@operation(bp, "get", "/enquiries", summary="The day's 来电来访登记 (guide/admin)", tag="desk", roles=DESK, query=Day,
           answer=Enquiries)
def enquiries(query: Day) -> dict[str, Any]:
    day = day_of(query.date)
    return {"date": day.isoformat(), "entries": hall().desk.enquiries(day)}


@operation(bp, "post", "/enquiries", summary="Register a call, letter or walk-in enquiry (guide/admin)", tag="desk",
           roles=DESK, body=EnquiryNote, answer=OneEnquiry, status=201)
def register_enquiry(who: Principal, data: EnquiryNote) -> dict[str, Any]:
    entry = hall().desk.register_enquiry(data.channel, data.subject, who.actor, answer=data.answer or "",
                                         who=data.who or "", contact=data.contact or "",
                                         referred_to=data.referred_to or "", at=_time(data.at, "at"))
    return {"entry": entry}
