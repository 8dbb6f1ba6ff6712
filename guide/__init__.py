"""The guide desk (导询台): appointments with the item's 一次性告知, desk tickets (绿色通道), reprints, finding a
ticket, the duty log and the enquiry register; and the day's 《中心预约服务登记表》 as an A4 print page.
Staff login, guide and admin only: these pages show residents' names and phone numbers in full."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from server.appointments import day_text
from server.auth import allowed
from server.guide_api import day_of
from server.queue import DomainError
from server.register import COLUMNS, TITLE, rows
from server.web import DESK, hall, principal, status_of

bp = Blueprint("guide", __name__, template_folder="templates", static_folder="static",
               static_url_path="/guide/static")


@bp.get("/guide")
def page() -> str:
    return render_template("guide.html")


@bp.get("/guide/register")
def register() -> Any:
    """?date=YYYY-MM-DD: the day's register laid out for an A4 landscape sheet; printed from the browser."""
    try:
        allowed(principal(), DESK)
        day = day_of(request.args.get("date"))
    except DomainError as refusal:
        return render_template("guide-register.html", refusal=refusal.message, hall=hall().config), status_of(refusal)
    return render_template("guide-register.html", refusal=None, hall=hall().config, title=TITLE, columns=COLUMNS,
                           rows=rows(hall().appointments.on(day)), day=day, day_text=f"{day.year}年{day_text(day)}")
