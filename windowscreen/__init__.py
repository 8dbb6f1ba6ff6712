"""The small screen above each window: its name, the number at the window, the clerk, 今日已办."""

from flask import Blueprint, current_app, render_template

bp = Blueprint("windowscreen", __name__, template_folder="templates", static_folder="static",
               static_url_path="/windowscreen/static")


@bp.get("/window/<int:window_id>")
def page(window_id: int) -> tuple[str, int]:
    window = current_app.extensions["hallq"].config.window(window_id)
    return render_template("windowscreen.html", window=window, window_id=window_id), 200 if window else 404
