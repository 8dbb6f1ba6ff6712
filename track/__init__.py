"""The resident's phone: the page behind the ticket's QR code. No login; the unguessable token is the key,
and nothing on it says who the resident is."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from flask import Blueprint, current_app, jsonify, render_template

from server.clock import business_date
from server.events import TicketView
from server.hall import Hall
from server.models import TicketStatus as S
from server.operations import Answer, operation
from server.queue import DomainError
from server.schemas import Level, Rated, RatingChoice, RatingLevel
from server.vocabulary import EXPIRED, RESIDENT_TICKET_STATUS, TICKET_STATUS
from server.web import principal, storable

bp = Blueprint("track", __name__, template_folder="templates", static_folder="static",
               static_url_path="/track/static")

#: "即将到号" when this many residents or fewer are ahead
SOON = 3
#: seconds between two refreshes of the page
REFRESH = 5

def _hall() -> Hall:
    return current_app.extensions["hallq"]


def _ticket(hall: Hall, token: str) -> TicketView | None:
    """The ticket of a token; none for one no database could hold (a NUL, say: PostgreSQL would refuse the query),
    which names no ticket either."""
    return hall.engine.tracked(token) if storable(token) else None


def state(hall: Hall, view: TicketView, now: datetime) -> dict[str, Any]:
    """What the tracking page shows; the same for the first paint and every refresh."""
    window = hall.config.window(view.window) if view.window else None
    zone = hall.config.timezone  # times as the hall's clocks show them
    expired = business_date(view.issued_at, zone) != business_date(now, zone)
    waiting = view.status == S.WAITING and not expired
    if expired and view.status == S.WAITING:
        hint = "号票已过期，请重新取号"
    elif view.status == S.CALLED and window is not None:
        hint = f"请到 {hall.engine.wayfinding.place(window)} 办理"
    elif view.status == S.NO_SHOW:
        hint = "您已过号，请到导询台咨询"
    elif waiting and view.waiting_ahead <= SOON:
        hint = "即将到号，请留意叫号"
    elif waiting:
        hint = "请耐心等候，留意大厅叫号"
    else:
        hint = ""
    return {"hall": hall.config.name, "number": view.number, "service_name": view.service_name,
            "status": view.status, "status_text": EXPIRED if expired and view.status == S.WAITING
            else RESIDENT_TICKET_STATUS.get(view.status, view.status),
            "waiting_ahead": view.waiting_ahead if waiting else None,
            "estimated_wait_minutes": view.estimated_wait_minutes if waiting else None,
            "soon": waiting and view.waiting_ahead <= SOON, "window_name": window.name if window else None,
            "hint": hint, "windows_text": view.windows_text if waiting else None,
            "notice": view.window_notice if waiting else None, "issued_at": view.issued_at.astimezone(zone).isoformat(),
            "updated_at": now.astimezone(zone).isoformat(),
            "refresh": REFRESH, "rating": hall.evaluation.for_resident(view)}


@bp.get("/t/<token>")
def page(token: str) -> Any:
    hall = _hall()
    view = _ticket(hall, token)
    if view is None:
        return render_template("track.html", hall=hall.config, ticket=None), 404
    return render_template("track.html", hall=hall.config, ticket=state(hall, view, hall.settings.clock.now()))


class ResidentRating(Answer):
    """The page's rating part: whether the resident may rate now, or what they said."""

    open: bool
    #: the label of the level given (满意), once rated
    level: str | None
    levels: list[Level]
    reasons: list[str]
    poor: list[RatingLevel]


class TrackState(Answer):
    """What the tracking page shows; nothing on it says who the resident is."""

    hall: str
    number: str
    service_name: str
    status: Literal[tuple(TICKET_STATUS)]  # type: ignore[valid-type]
    #: 等候中, 正在呼叫您 … ; 已过期 for a waiting ticket of an earlier day
    status_text: str
    #: the figures of a ticket still waiting today; none otherwise
    waiting_ahead: int | None
    estimated_wait_minutes: int | None
    #: 即将到号: this many or fewer ahead (SOON)
    soon: bool
    window_name: str | None
    #: what to do now, in Chinese
    hint: str
    windows_text: str | None
    notice: str | None
    issued_at: datetime
    updated_at: datetime
    #: seconds until the page asks again
    refresh: int
    rating: ResidentRating


@operation(bp, "get", "/t/<token>/state", summary="The resident's tracking page, refreshed (no login: the token "
           "of the ticket's QR code is the key)", tag="tracking", roles=None, answer=TrackState, errors=(404,))
def current(token: str) -> Any:
    hall = _hall()
    view = _ticket(hall, token)
    if view is None:
        return jsonify({"error": {"code": "ticket_not_found", "message": "没有这张号票，请核对二维码"}}), 404
    response = jsonify(state(hall, view, hall.settings.clock.now()))
    response.headers["Cache-Control"] = "no-store"
    return response


@operation(bp, "post", "/t/<token>/rate", summary="一事一评 from the resident's phone, once per ticket (no login: the "
           "token is the key; 403 staff_cannot_rate for staff and devices)", tag="tracking", roles=None,
           body=RatingChoice, answer=Rated, errors=(401, 404, 409))
def rate(token: str, data: RatingChoice) -> dict[str, Any]:
    """Never on a resident's behalf by staff or a device."""
    if principal() is not None:
        raise DomainError("forbidden", "staff_cannot_rate", "工作人员和设备不能代替群众评价")
    hall = _hall()
    view = _ticket(hall, token)
    if view is None:
        raise DomainError("not_found", "ticket_not_found", "没有这张号票，请核对二维码")
    rating = hall.evaluation.check(data.level, data.reason, data.comment)
    return {"rating": hall.evaluation.rate_ticket(view, rating)}
