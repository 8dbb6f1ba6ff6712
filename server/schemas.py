"""The shapes the API's answers share (a ticket, a window, a print plan, a case, a rating), declared once for the
views and the OpenAPI document (server/operations.py). Shapes used by one module only live next to its views."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, WithJsonSchema

from server.cases import MAX_MATERIALS
from server.events import TicketView
from server.operations import Answer, Body, Count, answer_of
from server.vocabulary import CASE_TYPES, RATING_LEVELS


def one_of(codes: Any) -> Any:
    """A text the document lists the codes of, checked by the domain with its own error code (``bad_level``, say,
    not the model's ``bad_field``): the type ``str``, the schema ``{"enum": codes}``."""
    return Annotated[str, WithJsonSchema({"type": "string", "enum": list(codes)})]


Ticket = answer_of(TicketView, "Ticket", "A ticket as the API shows it (server.events.TicketView.to_json): never "
                   "the track token.", leave_out=("track_token",))


class TrackedTicket(Ticket):
    """A ticket with its tracking page, for whoever hands the paper to the resident (kiosk, guide desk)."""

    track_url: str


class Clerk(Answer):
    name: str
    staff_no: str | None


class CurrentTicket(Answer):
    id: int
    number: str
    status: str
    service: str
    appointment: bool
    transferred_from: int | None


class Window(Answer):
    id: int
    name: str
    label: str
    zone: str
    services: list[str]
    status: str
    clerk: Clerk | None
    current: CurrentTicket | None
    #: 今日已办: residents this window finished today
    served_today: int


class OneTicket(Answer):
    ticket: Ticket


class TicketOrNone(Answer):
    """The ticket the action concerns; null when there was none (call-next with nobody waiting)."""

    ticket: Ticket | None


class WindowAnswer(Answer):
    window: Window


class PrintPlan(Answer):
    """What happens to the paper: queued on a printer (its outcome follows as a `printed` event), or none."""

    status: Literal["queued", "none"]
    printer: str | None
    printer_status: str | None
    message: str


class Issued(Answer):
    ticket: TrackedTicket
    print: PrintPlan


class ClerkCard(Answer):
    """Who served: the staff member's username, name and 工号 (empty when none is on file)."""

    username: str
    name: str
    staff_no: str


# ---------------------------------------------------------------- 五件制

CaseType = Literal[tuple(CASE_TYPES)]  # type: ignore[valid-type]


class Served(Answer):
    """Where and by whom a ticket was served: what a case record and a follow-up both say of it."""

    number: str
    service: str
    service_name: str
    window: int
    window_name: str
    #: 承办人: the clerk who finished it
    clerk: ClerkCard


class Case(Served):
    """A case record (五件制): what was recorded at 办结, and for 承诺件 and 报批件 whether it is still open."""

    id: int
    #: the ticket finished
    ticket: int
    type: CaseType
    type_name: str
    #: 承诺件: the promised date; 报批件: the reply's due date
    due: date | None
    #: 补办件: every material to bring (一次性告知)
    materials: list[str]
    #: 退回件: why
    reason: str | None
    recorded_at: datetime
    closed_at: datetime | None
    closed_by: str | None
    #: a 承诺件 or 报批件 not yet completed (replied)
    open: bool
    overdue: bool
    working_days_left: int | None
    #: the printable notice's page (补办件, 退回件, 承诺件); none for the others
    notice: str | None
    notice_name: str | None


class OneCase(Answer):
    case: Case


class Period(Body):
    """?month=, ?quarter=, ?year= (one of them) or ?from=&to= (at most a year); checked by server.web.period_of
    (422 bad_period), not here."""

    #: YYYY-MM; wins over from and to
    month: str | None = None
    #: YYYY-Qn, n 1 to 4 (2026-Q4: October to December); wins over from and to
    quarter: str | None = None
    #: YYYY: the calendar year; wins over from and to
    year: str | None = None
    #: YYYY-MM-DD, the first day, with to
    first: str | None = Field(None, alias="from")
    #: YYYY-MM-DD, the last day, with from
    last: str | None = Field(None, alias="to")


class CaseChoice(Body):
    """The case type the clerk chose at 办结 (五件制) with what that type needs; an empty body is 即办件. Which fields
    a type takes, the dates and the materials are checked by server.cases.Cases.parse with its own error codes
    (case_required, bad_case, case_field, bad_due, materials_required, bad_materials, reason_required), so fields
    the model does not know are kept for parse to refuse by name."""

    model_config = ConfigDict(extra="allow")

    case: one_of(CASE_TYPES) | None = None  # type: ignore[valid-type]
    #: 承诺件 / 报批件: the date, YYYY-MM-DD (today to a year ahead); absent: the configured working days
    due: str | None = None
    #: 承诺件 / 报批件: so many working days from today (1 to 120), instead of due
    working_days: int | None = None
    #: 补办件: all the materials to bring, each 1 to 100 characters (the items are checked by parse: bad_materials)
    materials: Annotated[list[Any], WithJsonSchema({"type": "array", "minItems": 1, "maxItems": MAX_MATERIALS,
                                                    "items": {"type": "string", "minLength": 1,
                                                              "maxLength": 100}})] | None = None
    #: 退回件: why (at most 200 characters)
    reason: str | None = None


# ---------------------------------------------------------------- 一次一评

RatingLevel = Literal[tuple(RATING_LEVELS)]  # type: ignore[valid-type]


class Level(Answer):
    code: RatingLevel
    #: the national label: 非常满意 … 非常不满意
    label: str


class Rating(Answer):
    ticket: int
    level: RatingLevel
    label: str


class Rated(Answer):
    rating: Rating


class RatingChoice(Body):
    """What the resident chose; level, reason and comment are checked by the hall's rules (bad_level,
    reason_required, bad_reason, reason_not_allowed, comment_too_long)."""

    level: one_of(RATING_LEVELS)  # type: ignore[valid-type]
    #: required for dissatisfied and very_dissatisfied, one of the hall's reasons; absent for the others
    reason: str | None = None
    #: the resident's own words, at most 200 characters
    comment: str | None = None


class TabletRating(RatingChoice):
    #: the ticket the tablet asked about (its prompt)
    ticket: Count
