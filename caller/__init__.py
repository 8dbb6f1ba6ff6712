"""The clerk's caller: sign in to a window, call, serve, transfer; the printable notices of a case."""

from typing import Any

from flask import Blueprint, current_app, render_template

from server.queue import DomainError
from server.web import OPERATORS, require, status_of

bp = Blueprint("caller", __name__, template_folder="templates", static_folder="static",
               static_url_path="/caller/static")


@bp.get("/caller")
def page() -> str:
    return render_template("caller.html")


@bp.get("/caller/notice/<int:case_id>")
def notice(case_id: int) -> Any:
    """补正通知书, 退回件通知书 or 承诺件受理通知书 as an A4 page the browser prints: for whoever handles the case."""
    try:
        who = require(*OPERATORS)
        return render_template("notice.html", n=current_app.extensions["hallq"].cases.notice(case_id, who))
    except DomainError as exc:
        return render_template("notice.html", n=None, message=exc.message), status_of(exc)
