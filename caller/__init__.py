"""The clerk's caller: sign in to a window, call, serve, transfer."""

from flask import Blueprint, render_template

bp = Blueprint("caller", __name__, template_folder="templates", static_folder="static",
               static_url_path="/caller/static")


@bp.get("/caller")
def page() -> str:
    return render_template("caller.html")
