"""The resident's touch kiosk by the door: take a number."""

from flask import Blueprint, render_template

bp = Blueprint("kiosk", __name__, template_folder="templates", static_folder="static",
               static_url_path="/kiosk/static")


@bp.get("/kiosk")
def page() -> str:
    return render_template("kiosk.html")
