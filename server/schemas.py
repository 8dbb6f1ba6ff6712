"""The shapes the API's answers share (a ticket, a window, a print plan, a case, a rating), declared once for the
views and the OpenAPI document (server/operations.py). Shapes used by one module only live next to its views."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, WithJsonSchema

from server.cases import MAX_MATERIALS
from server.events import TicketView
from server.operations import Answer, Body, Count, answer_of
from server.vocabulary import CASE_STEPS, CASE_TYPES, RATING_LEVELS


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


class WindowClerk(Clerk):
    #: 党员: shown by the name on the window screen
    party_member: bool


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
    #: 党员服务岗 ([[windows]] party_post)
    party_post: bool
    status: str
    clerk: WindowClerk | None
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


CaseStepCode = Literal[tuple(CASE_STEPS)]  # type: ignore[valid-type]


class CaseStep(Answer):
    """One time point of a case (办理质量 2.2: 受理、审核、决定、送达; 补齐, 上报, 批复到达), in the order marked."""

    step: CaseStepCode
    #: null: not marked yet
    at: datetime | None
    #: the staff member's username
    by: str | None


class Case(Served):
    """A case record (五件制): what was recorded at 办结, its time points, what is left to do and by when."""

    id: int
    #: the ticket finished
    ticket: int
    type: CaseType
    type_name: str
    #: false: nobody chose, call-next or F5 recorded the default 即办件
    chosen: bool
    #: 承诺件 (补办件 after 补齐): the promised completion date
    due: date | None
    #: the date the item's 承诺时限 gives (承诺件 from 受理, 补办件 from 补齐); a later due is an extension
    limit_due: date | None
    extensions: int
    #: the latest extension's reason
    extension_reason: str | None
    #: 补办件: every material to bring (一次性告知)
    materials: list[str]
    #: 退回件: why
    reason: str | None
    recorded_at: datetime
    #: nothing left to do (送达 of a 承诺件, 补办件 or 报批件); null for 即办件 and 退回件, finished at 办结
    closed_at: datetime | None
    closed_by: str | None
    #: a 承诺件, 补办件 or 报批件 not yet delivered
    open: bool
    #: 受理 then the type's time points in their order (即办件 and 退回件: all at 办结)
    steps: list[CaseStep]
    #: the time point to mark next (POST /api/cases/{id}/step); null when none is left
    next_step: CaseStepCode | None
    #: 报批件: 上报 due by (approval_working_days after 受理); the resident answered by (after the 批复)
    forward_due: date | None
    answer_due: date | None
    #: 退回件: the resident asked for 复核; answered by review_due, with its result (维持/撤销：意见)
    review_requested_at: datetime | None
    review_due: date | None
    reviewed_at: datetime | None
    reviewed_by: str | None
    review_result: str | None
    #: 报批件 not forwarded in time; 报批件 answered late after the 批复; 复核 not answered in time
    forward_overdue: bool
    answer_overdue: bool
    review_overdue: bool
    #: any stage overdue (a 承诺件 or 补办件 past its due, or one of the three above)
    overdue: bool
    #: the date the pending stage is due by, and the working days left to it (negative: overdue)
    deadline: date | None
    working_days_left: int | None
    #: the printable notice's page (补办件, 退回件, 承诺件, 报批件); none for 即办件
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
    (case_required, bad_case, case_field, bad_due, materials_required, bad_materials, reason_required,
    extension_reason_required, no_extension), so fields
    the model does not know are kept for parse to refuse by name."""

    model_config = ConfigDict(extra="allow")

    case: one_of(CASE_TYPES) | None = None  # type: ignore[valid-type]
    #: 承诺件: the date, YYYY-MM-DD (today to a year ahead); absent: the item's 承诺时限
    due: str | None = None
    #: 承诺件: so many working days from today (1 to 120), instead of due
    working_days: int | None = None
    #: 承诺件: required when the date is later than the item's 承诺时限 (an extension), refused otherwise
    extension_reason: str | None = None
    #: 补办件: all the materials to bring, each 1 to 100 characters (the items are checked by parse: bad_materials)
    materials: Annotated[list[Any], WithJsonSchema({"type": "array", "minItems": 1, "maxItems": MAX_MATERIALS,
                                                    "items": {"type": "string", "minLength": 1,
                                                              "maxLength": 100}})] | None = None
    #: 退回件: why (at most 200 characters)
    reason: str | None = None


# ---------------------------------------------------------------- 一事一评

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
