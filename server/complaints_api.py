"""REST for the complaint register (投诉, 机构建设 4.3): the guide desk and the admin register complaints, a poor
rating becomes one on request, the admin answers and closes them; a clerk reads those about them, without the
complainant's name or contact."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from flask import Blueprint

from server.auth import Principal, StaffRole
from server.complaints import STATUSES, Filing, Filter
from server.operations import Answer, Body, operation
from server.queue import DomainError
from server.schemas import ClerkCard, Period, one_of
from server.vocabulary import COMPLAINT_CHANNELS
from server.web import DESK, STAFF, hall, period_of

bp = Blueprint("complaints_api", __name__, url_prefix="/api")

#: who answers a complaint, says whether it was upheld and closes it: 中心管理人员 (公正处理, 4.3)
MANAGERS = ("admin",)


class ComplaintAnswer(Answer):
    """A complaint of the register. ``name`` and ``contact`` go to the guide desk and the admin only: a clerk gets
    null for both."""

    id: int
    #: the business date it was received
    date: date
    received_at: datetime
    channel: Literal[tuple(COMPLAINT_CHANNELS)]  # type: ignore[valid-type]
    channel_text: str
    #: the window complained about, when known
    window: int | None
    window_name: str | None
    #: the staff member complained about, when known
    clerk: ClerkCard | None
    #: the ticket whose 不满意 rating it was opened from
    ticket: int | None
    number: str | None
    #: the complainant (guide/admin only)
    name: str | None
    contact: str | None
    #: what the resident complains of and asks for (long digit runs masked)
    request: str
    #: who investigates and answers
    handler: ClerkCard | None
    #: the answer to the resident is due by then ([complaints] answer_working_days after it was received)
    due: date
    #: working days from today to ``due`` while unanswered (negative: overdue by so many); null once answered
    working_days_left: int | None
    #: not answered and today is after ``due``
    overdue: bool
    answer: str | None
    answered_at: datetime | None
    answered_by: str | None
    #: answered by ``due``; null while unanswered
    answered_on_time: bool | None
    #: 投诉属实 (counted against the clerk and the window); null until answered
    upheld: bool | None
    #: the resident accepted the answer; null until closed
    accepted: bool | None
    registered_by: str
    closed_at: datetime | None
    open: bool


class OneComplaint(Answer):
    complaint: ComplaintAnswer


class ComplaintList(Answer):
    complaints: list[ComplaintAnswer]


class ComplaintFilter(Period):
    """?status= and, optionally, the period received (?month= or ?from=&to=), a channel, a window or a clerk."""

    #: open (default: not closed, whenever received), overdue (open, unanswered, past due), closed or all
    status: one_of(STATUSES) = "open"  # type: ignore[valid-type]
    channel: one_of(COMPLAINT_CHANNELS) | None = None  # type: ignore[valid-type]
    #: a window's number
    window: str | None = None
    #: a staff username
    clerk: str | None = None


class ComplaintFiling(Body):
    #: phone 来电, letter 来信, visit 来访, evaluator 评价器, online 网上
    channel: one_of(COMPLAINT_CHANNELS)  # type: ignore[valid-type]
    #: what the resident complains of and asks for, at most 1000 characters
    request: str
    #: the window complained about
    window: int | None = None
    #: the staff member complained about (a username)
    clerk: str | None = None
    #: the complainant's name and contact, optional, at most 32 characters each
    name: str | None = None
    contact: str | None = None
    #: who investigates and answers (a username; not the one complained about)
    handler: str | None = None


class RatingComplaint(Body):
    #: who investigates and answers (a username; not the clerk rated)
    handler: str | None = None


class Handler(Body):
    #: a staff username, not the one complained about
    handler: str


class Answering(Body):
    #: the result of the investigation told to the resident, at most 1000 characters
    answer: str
    #: 投诉属实
    upheld: bool


class Closing(Body):
    #: the resident accepted the answer
    accepted: bool


class ChannelChoice(Answer):
    code: str
    name: str


class WindowChoice(Answer):
    id: int
    name: str


class StaffChoice(Answer):
    username: str
    name: str
    role: StaffRole


class ComplaintSetup(Answer):
    """What the register's forms offer."""

    today: date
    #: [complaints] answer_working_days
    answer_working_days: int
    #: the due date of a complaint received today
    due_today: date
    channels: list[ChannelChoice]
    windows: list[WindowChoice]
    #: who may be complained about or handle a complaint (enabled accounts)
    staff: list[StaffChoice]


@operation(bp, "get", "/complaints/setup", summary="What the complaint forms offer: channels, windows, staff, the "
           "answer's due date (guide/admin)", tag="complaints", roles=DESK, answer=ComplaintSetup)
def setup() -> dict[str, Any]:
    complaints, config = hall().complaints, hall().config
    today = complaints.today()
    days = config.complaints.answer_working_days
    return {"today": today.isoformat(), "answer_working_days": days,
            "due_today": complaints.calendar.add_working_days(today, days).isoformat(),
            "channels": [{"code": code, "name": name} for code, name in COMPLAINT_CHANNELS.items()],
            "windows": [{"id": window.id, "name": window.name} for window in config.windows],
            "staff": [{"username": p.name, "name": p.display_name, "role": p.role}
                      for p in hall().accounts.members()]}


@operation(bp, "get", "/complaints", summary="The complaint register (guide/admin: all, with the complainant; a "
           "clerk: those about them, without)", tag="complaints", roles=STAFF, query=ComplaintFilter,
           answer=ComplaintList)
def listing(who: Principal, query: ComplaintFilter) -> dict[str, Any]:
    first = last = None
    if query.month is not None or query.first is not None or query.last is not None:
        first, last = period_of(query)
    window = None
    if query.window is not None:
        if not query.window.isdigit() or len(query.window) > 6:
            raise DomainError("invalid", "bad_window", "window 应为窗口编号")
        window = int(query.window)
    if query.channel is not None and query.channel not in COMPLAINT_CHANNELS:
        raise DomainError("invalid", "bad_channel", f"channel 只能是 {', '.join(COMPLAINT_CHANNELS)} 之一")
    wanted = Filter(status=query.status, first=first, last=last, channel=query.channel, window=window,
                    clerk=query.clerk)
    return {"complaints": hall().complaints.listing(wanted, who)}


@operation(bp, "post", "/complaints", summary="Register a complaint (guide/admin); 422 bad_channel, bad_window, "
           "bad_clerk, bad_handler, handler_concerned, missing_field, too_long", tag="complaints", roles=DESK,
           body=ComplaintFiling, answer=OneComplaint, status=201)
def register(who: Principal, data: ComplaintFiling) -> dict[str, Any]:
    filing = Filing(channel=data.channel, request=data.request, window=data.window, clerk=data.clerk or None,
                    name=data.name or "", contact=data.contact or "", handler=data.handler or None)
    return {"complaint": hall().complaints.register(filing, who)}


@operation(bp, "post", "/complaints/from-rating/<int:ticket_id>", summary="A 不满意 or 非常不满意 rating opened as a "
           "complaint (channel evaluator), once a rating (guide/admin); 404 rating_not_found, 409 not_poor, "
           "complaint_exists", tag="complaints", roles=DESK, body=RatingComplaint, body_required=False,
           answer=OneComplaint, status=201, errors=(404, 409))
def from_rating(ticket_id: int, who: Principal, data: RatingComplaint) -> dict[str, Any]:
    return {"complaint": hall().complaints.from_rating(ticket_id, who, data.handler or None)}


@operation(bp, "get", "/complaints/<int:complaint_id>", summary="One complaint (guide/admin; a clerk one about them)",
           tag="complaints", roles=STAFF, answer=OneComplaint, errors=(404,))
def one(complaint_id: int, who: Principal) -> dict[str, Any]:
    return {"complaint": hall().complaints.get(complaint_id, who)}


@operation(bp, "post", "/complaints/<int:complaint_id>/handler", summary="Who investigates and answers (guide/admin)",
           tag="complaints", roles=DESK, body=Handler, answer=OneComplaint, errors=(404, 409))
def assign(complaint_id: int, who: Principal, data: Handler) -> dict[str, Any]:
    return {"complaint": hall().complaints.assign(complaint_id, data.handler, who)}


@operation(bp, "post", "/complaints/<int:complaint_id>/answer", summary="The answer told to the resident and whether "
           "the complaint was upheld, once (admin); 409 already_answered, complaint_closed", tag="complaints",
           roles=MANAGERS, body=Answering, answer=OneComplaint, errors=(404, 409))
def answer(complaint_id: int, who: Principal, data: Answering) -> dict[str, Any]:
    return {"complaint": hall().complaints.answer(complaint_id, data.answer, data.upheld, who)}


@operation(bp, "post", "/complaints/<int:complaint_id>/close", summary="Close an answered complaint with whether the "
           "resident accepted the answer (admin); 409 not_answered, complaint_closed", tag="complaints",
           roles=MANAGERS, body=Closing, answer=OneComplaint, errors=(404, 409))
def close(complaint_id: int, who: Principal, data: Closing) -> dict[str, Any]:
    return {"complaint": hall().complaints.close(complaint_id, data.accepted, who)}
