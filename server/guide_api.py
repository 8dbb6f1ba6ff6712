"""The guide desk's REST API: appointments (registered at the desk, checked in at the kiosk), the 登记表 as XLSX,
finding a ticket by its number, the duty log and the enquiry register.

Personal data (name, phone, ID digits) goes out in full only to the guide desk and the admin; a clerk sees it
masked, a kiosk only the masked appointment it has just checked in, a display nothing.
"""

from __future__ import annotations

from datetime import date, time
from io import BytesIO
from typing import Any

from flask import Blueprint, jsonify, request, send_file

from server.appointments import Booking
from server.calendar import wall_time
from server.queue import DomainError
from server.register import xlsx
from server.vocabulary import APPOINTMENT_CHANNELS, APPOINTMENT_KINDS, DUTY_KINDS, ENQUIRY_CHANNELS
from server.web import (
    DESK,
    ISSUERS,
    STAFF,
    body,
    field,
    hall,
    limits,
    parse_day,
    print_plan,
    require,
    spooler,
    tracked,
)

bp = Blueprint("guide_api", __name__, url_prefix="/api")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def day_arg(name: str = "date") -> date:
    """?date=YYYY-MM-DD, today when absent."""
    value = request.args.get(name)
    if not value:
        return hall().appointments.today()
    return parse_day(value, name)


def _time_field(data: dict[str, Any], name: str) -> time | None:
    value = field(data, name, str, required=False)
    if value is None:
        return None
    at = wall_time(value.strip())
    if at is None:
        raise DomainError("invalid", "bad_time", f"{name} 应为 HH:MM，例如 09:30")
    return at


# ---------------------------------------------------------------- appointments

@bp.post("/appointments")
def book() -> Any:
    """Register an appointment taken by phone, letter, at the desk (or, later, online)."""
    who = require(*DESK)
    data = body()
    booking = Booking(service=field(data, "service", str), day=parse_day(field(data, "date", str), "date"),
                      slot=field(data, "slot", str),
                      kind=field(data, "kind", str, required=False) or "window", channel=field(data, "channel", str),
                      name=field(data, "name", str), phone=field(data, "phone", str),
                      id_last6=field(data, "id_last6", str, required=False),
                      notes=field(data, "notes", str, required=False) or "",
                      assigned_to=field(data, "assigned_to", str, required=False))
    return jsonify({"appointment": hall().appointments.book(booking, who.actor).to_json(full=True)}), 201


@bp.get("/appointments")
def day_list() -> Any:
    require(*DESK)
    day = day_arg()
    return jsonify({"date": day.isoformat(),
                    "appointments": [a.to_json(full=True) for a in hall().appointments.on(day)]})


@bp.get("/appointments/setup")
def setup() -> Any:
    """What the desk's form offers: kinds, channels, reasons, staff, each item's 办事指南 (一次性告知), the rules."""
    require(*DESK)
    config = hall().config
    rules = config.appointments
    return jsonify({
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
    })


@bp.get("/appointments/slots")
def slots() -> Any:
    require(*DESK)
    service = request.args.get("service")
    if not service:
        raise DomainError("invalid", "missing_field", "缺少参数 service")
    return jsonify(hall().appointments.slots(day_arg(), service))


@bp.get("/appointments/assigned")
def assigned() -> Any:
    """Home-visit and holiday appointments: one's own (any staff), or everyone's (?all=1, guide and admin)."""
    who = require(*STAFF)
    everyone = request.args.get("all") == "1"
    if everyone:
        require(*DESK)
    visits = hall().appointments.visits(None if everyone else who.name)
    return jsonify({"appointments": [a.to_json(full=who.role in DESK) for a in visits]})


@bp.get("/appointments/register.xlsx")
def register_xlsx() -> Any:
    """《中心预约服务登记表》 of a day as an XLSX file."""
    require(*DESK)
    day = day_arg()
    data = xlsx(hall().config.name, day, hall().appointments.on(day))
    return send_file(BytesIO(data), mimetype=XLSX, as_attachment=True,
                     download_name=f"中心预约服务登记表-{day.isoformat()}.xlsx", max_age=0)


@bp.post("/appointments/<int:appointment_id>/cancel")
def cancel(appointment_id: int) -> Any:
    who = require(*DESK)
    reason = field(body(), "reason", str, required=False)
    return jsonify({"appointment": hall().appointments.cancel(appointment_id, who.actor, reason).to_json(full=True)})


@bp.post("/appointments/<int:appointment_id>/reject")
def reject(appointment_id: int) -> Any:
    who = require(*DESK)
    reason = field(body(), "reason", str)
    return jsonify({"appointment": hall().appointments.reject(appointment_id, who.actor, reason).to_json(full=True)})


@bp.post("/appointments/<int:appointment_id>/outcome")
def outcome(appointment_id: int) -> Any:
    """A home or holiday visit done or not done: by the staff member assigned, or the guide desk or admin."""
    who = require(*STAFF)
    data = body()
    done = data.get("done")
    if not isinstance(done, bool):
        raise DomainError("invalid", "bad_field", "字段 done 应为 true 或 false")
    view = hall().appointments.record_outcome(appointment_id, who.name, who.role in DESK, done,
                                              field(data, "note", str, required=False) or "")
    return jsonify({"appointment": view.to_json(full=who.role in DESK)})


@bp.post("/appointments/check-in")
def check_in() -> Any:
    """The resident's code or phone number: a ticket tagged 预约, printed like any other, or the reason why not.
    A kiosk is throttled (codes cannot be tried one after another), and by phone it learns nothing of whether
    or when the number has an appointment: anyone can type a phone number, only the resident knows the code."""
    who = require(*ISSUERS)
    data = body()
    kiosk = who.kind == "device"
    code, phone = field(data, "code", str, False), field(data, "phone", str, False)
    if kiosk:
        limits().check_in(who.name)
    try:
        ticket, appointment = hall().appointments.check_in(who.actor, "kiosk" if kiosk else "desk", code=code,
                                                           phone=phone)
    except DomainError as refusal:
        if not kiosk or not refusal.code.startswith("appointment_"):
            raise
        limits().missed(who.name)
        if phone is None:
            raise
        raise DomainError("not_found", "appointment_not_found",
                          "没有找到这个手机号现在可以签到的预约。请输入预约码，或到导询台咨询") from None
    return jsonify({"ticket": tracked(ticket), "print": print_plan(spooler().printer_for(who.actor)),
                    "appointment": appointment.to_json(full=who.role in DESK)}), 201


# ---------------------------------------------------------------- tickets at the desk

@bp.get("/tickets")
def by_number() -> Any:
    """Today's ticket of a paper number (?number=A012): its state, for a resident asking at the desk."""
    require(*DESK)
    number = request.args.get("number", "").strip()
    if not number:
        raise DomainError("invalid", "missing_field", "缺少参数 number，例如 A012")
    return jsonify({"ticket": tracked(hall().engine.by_number(number))})


@bp.get("/tickets/<int:ticket_id>/appointment")
def ticket_appointment(ticket_id: int) -> Any:
    """The appointment behind a 预约 ticket: in full for the desk, masked for the clerk calling it."""
    who = require(*STAFF)
    return jsonify({"appointment": hall().appointments.of_ticket(ticket_id).to_json(full=who.role in DESK)})


# ---------------------------------------------------------------- 值班记录 and 来电来访登记

@bp.get("/duty-log")
def duty_log() -> Any:
    require(*DESK)
    day = day_arg()
    return jsonify({"date": day.isoformat(), "entries": hall().desk.duty_log(day)})


@bp.post("/duty-log")
def log_duty() -> Any:
    who = require(*DESK)
    data = body()
    entry = hall().desk.log_duty(field(data, "kind", str, required=False) or "general", field(data, "text", str),
                                 who.actor, _time_field(data, "at"))
    return jsonify({"entry": entry}), 201


@bp.get("/enquiries")
def enquiries() -> Any:
    require(*DESK)
    day = day_arg()
    return jsonify({"date": day.isoformat(), "entries": hall().desk.enquiries(day)})


@bp.post("/enquiries")
def register_enquiry() -> Any:
    who = require(*DESK)
    data = body()
    text = {name: field(data, name, str, required=False) or ""
            for name in ("answer", "who", "contact", "referred_to")}
    entry = hall().desk.register_enquiry(field(data, "channel", str), field(data, "subject", str), who.actor,
                                         at=_time_field(data, "at"), **text)
    return jsonify({"entry": entry}), 201
