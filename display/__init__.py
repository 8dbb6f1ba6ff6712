"""The waiting-area TV: the latest call, every window's number, waiting counts."""

from flask import Blueprint, render_template

bp = Blueprint("display", __name__, template_folder="templates", static_folder="static",
               static_url_path="/display/static")


@bp.get("/display")
def page() -> str:
    return render_template("display.html")
