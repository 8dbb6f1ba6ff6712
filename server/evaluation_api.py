"""REST for 一次一评 (the rating tablet at a window) and 整改 (the admin's follow-ups of poor ratings)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from server.web import body, field, hall, require

bp = Blueprint("evaluation_api", __name__, url_prefix="/api")


@bp.get("/rate/<int:window_id>")
def rating_state(window_id: int) -> Any:
    """The tablet's state: its window, the levels and reasons, the prompt open now. Only for the tablet bound to
    that window."""
    who = require("evaluator")
    return jsonify(hall().evaluation.for_evaluator(who.name, window_id))


@bp.post("/rate/<int:window_id>")
def rate(window_id: int) -> Any:
    who = require("evaluator")
    data = body()
    evaluation = hall().evaluation
    evaluation.bound_window(who.name, window_id)
    rating = evaluation.check(data.get("level"), data.get("reason"), data.get("comment"))
    return jsonify({"rating": evaluation.rate_at_window(who.name, window_id, field(data, "ticket", int), rating)})


@bp.get("/followups")
def followups() -> Any:
    require("admin")
    return jsonify({"followups": hall().evaluation.followups(request.args.get("status", "open"))})


@bp.post("/followups/<int:ticket_id>/close")
def close_followup(ticket_id: int) -> Any:
    who = require("admin")
    return jsonify({"followup": hall().evaluation.close_followup(ticket_id, who.name, body().get("note"))})
