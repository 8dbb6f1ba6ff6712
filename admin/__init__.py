"""The admin's pages (中心负责人): the hall's statistics with charts and exports, the follow-ups —
整改 of poor ratings, overdue 承诺件 and 报批件 — and the staff accounts and devices. Staff login with the admin
role; the data come from the API. /account: every staff member changes their own password."""

from flask import Blueprint, current_app, render_template

bp = Blueprint("admin", __name__, template_folder="templates", static_folder="static",
               static_url_path="/admin/static")


@bp.get("/admin/stats")
def stats() -> str:
    return render_template("stats.html", hall=current_app.extensions["hallq"].config)


@bp.get("/admin/followups")
def followups() -> str:
    return render_template("followups.html", hall=current_app.extensions["hallq"].config)


@bp.get("/admin/staff")
def staff() -> str:
    return render_template("staff.html", hall=current_app.extensions["hallq"].config)


@bp.get("/admin/devices")
def devices() -> str:
    return render_template("devices.html", hall=current_app.extensions["hallq"].config)


@bp.get("/account")
def account() -> str:
    return render_template("account.html", hall=current_app.extensions["hallq"].config)
