"""REST for the case records (五件制): the open 承诺件 and 报批件, and marking them completed or replied."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from server.web import OPERATORS, hall, require

bp = Blueprint("cases_api", __name__, url_prefix="/api")


@bp.get("/cases")
def open_cases() -> Any:
    """承诺件 and 报批件 still open, overdue ones flagged: those the caller handles (server.cases.handled_by)."""
    who = require(*OPERATORS)
    return jsonify({"cases": hall().cases.open_cases(who)})


@bp.get("/cases/options")
def options() -> Any:
    require(*OPERATORS)
    return jsonify(hall().cases.options())


@bp.get("/cases/<int:case_id>")
def one_case(case_id: int) -> Any:
    who = require(*OPERATORS)
    return jsonify({"case": hall().cases.get(case_id, who)})


@bp.post("/cases/<int:case_id>/close")
def close_case(case_id: int) -> Any:
    """A 承诺件 completed, or a 报批件's reply received."""
    who = require(*OPERATORS)
    return jsonify({"case": hall().cases.close(case_id, who)})
