"""REST for the hall's statistics (admin): the figures as JSON, and the same figures as CSV and XLSX."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, jsonify, request

from server import stats_export
from server.web import hall, parse_day, period_of, require

bp = Blueprint("stats_api", __name__, url_prefix="/api")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def period() -> tuple[date, date]:
    """?date=YYYY-MM-DD (one day), ?month=YYYY-MM, or ?from=&to= (at most a year)."""
    if "date" in request.args:
        day = parse_day(request.args["date"], "date", "bad_period")
        return day, day
    return period_of(request.args)


def _report() -> dict[str, Any]:
    require("admin")
    return hall().stats.report(*period())


@bp.get("/stats")
def figures() -> Any:
    return jsonify(_report())


def _download(content: bytes, mimetype: str, report: dict[str, Any], suffix: str) -> Response:
    name = f"hallq-stats-{report['from']}_{report['to']}.{suffix}"
    return Response(content, mimetype=mimetype, headers={"Content-Disposition": f"attachment; filename={name}",
                                                         "Cache-Control": "no-store"})


@bp.get("/stats.csv")
def figures_csv() -> Response:
    report = _report()
    return _download(stats_export.to_csv(report), "text/csv; charset=utf-8", report, "csv")


@bp.get("/stats.xlsx")
def figures_xlsx() -> Response:
    report = _report()
    return _download(stats_export.to_xlsx(report), XLSX, report, "xlsx")
