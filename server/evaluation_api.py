"""REST for 一事一评 (the rating tablet at a window) and 整改 (the admin's follow-ups of poor ratings)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Blueprint

from server.auth import Principal
from server.operations import Answer, Body, operation
from server.schemas import Clerk, Level, Rated, RatingLevel, Served, TabletRating, one_of
from server.web import hall

bp = Blueprint("evaluation_api", __name__, url_prefix="/api")


class TabletWindow(Answer):
    id: int
    name: str


class Prompt(Answer):
    """The ticket the window's tablet asks about now."""

    ticket: int
    number: str
    service_name: str
    #: who served (name and 工号, shown on the tablet)
    clerk: Clerk
    finished_at: datetime
    due_at: datetime
    seconds_left: int


class TabletState(Answer):
    window: TabletWindow
    levels: list[Level]
    #: the reasons to choose from for a poor level ([evaluation] reasons)
    reasons: list[str]
    #: the levels that need a reason
    poor: list[RatingLevel]
    #: the prompt open now; none when the tablet has nothing to ask
    prompt: Prompt | None
    server_time: datetime


@operation(bp, "get", "/rate/<int:window_id>", summary="The rating tablet's state at the window: levels, reasons, "
           "the prompt open now (evaluator token bound to that window)", tag="evaluation", roles=("evaluator",),
           answer=TabletState, errors=(404,))
def rating_state(window_id: int, who: Principal) -> dict[str, Any]:
    """Only for the tablet bound to that window."""
    return hall().evaluation.for_evaluator(who.name, window_id)


@operation(bp, "post", "/rate/<int:window_id>", summary="Rate the ticket finished at the window (evaluator token "
           "bound to that window)", tag="evaluation", roles=("evaluator",), body=TabletRating, answer=Rated,
           errors=(404, 409))
def rate(window_id: int, who: Principal, data: TabletRating) -> dict[str, Any]:
    evaluation = hall().evaluation
    evaluation.bound_window(who.name, window_id)
    rating = evaluation.check(data.level, data.reason, data.comment)
    return {"rating": evaluation.rate_at_window(who.name, window_id, data.ticket, rating)}


class FollowUpFilter(Body):
    #: open (default), closed or all
    status: one_of(("open", "closed", "all")) = "open"  # type: ignore[valid-type]


class FollowUp(Served):
    """整改: the follow-up of a poor rating."""

    #: the ticket rated
    id: int
    level: RatingLevel
    level_name: str
    reason: str | None
    comment: str | None
    rated_at: datetime | None
    due: date
    working_days_left: int | None
    overdue: bool
    closed: bool
    closed_at: datetime | None
    closed_by: str | None
    #: 整改情况: what was done about it
    note: str | None
    #: the complaint the rating was opened as (POST /api/complaints/from-rating/{ticket}); null: none
    complaint: int | None


class FollowUps(Answer):
    followups: list[FollowUp]


class OneFollowUp(Answer):
    followup: FollowUp


class FollowUpClosing(Body):
    #: 整改情况 (required, at most 500 characters: note_required, note_too_long)
    note: str | None = None


@operation(bp, "get", "/followups", summary="整改: follow-ups of poor ratings (admin); ?status=open|closed|all",
           tag="evaluation", roles=("admin",), query=FollowUpFilter, answer=FollowUps)
def followups(query: FollowUpFilter) -> dict[str, Any]:
    return {"followups": hall().evaluation.followups(query.status)}


@operation(bp, "post", "/followups/<int:ticket_id>/close", summary="Close a follow-up with the resolution note "
           "(admin)", tag="evaluation", roles=("admin",), body=FollowUpClosing, answer=OneFollowUp,
           errors=(404, 409))
def close_followup(ticket_id: int, who: Principal, data: FollowUpClosing) -> dict[str, Any]:
    return {"followup": hall().evaluation.close_followup(ticket_id, who.name, data.note)}
