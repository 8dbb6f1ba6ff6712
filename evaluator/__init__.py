"""The rating tablet (评价器) facing the resident at a window: after 办结 it asks 一事一评."""

from flask import Blueprint, current_app, render_template

bp = Blueprint("evaluator", __name__, template_folder="templates", static_folder="static",
               static_url_path="/evaluator/static")


@bp.get("/rate/<int:window_id>")
def page(window_id: int) -> tuple[str, int]:
    window = current_app.extensions["hallq"].config.window(window_id)
    return render_template("evaluator.html", window=window, window_id=window_id), 200 if window else 404
