"""The district's screens and read API (district admins only): every hall side by side for a day, a month, a quarter
or a year against the 98% target; a hall's drill-down, which is the hall's own statistics page (admin/templates,
admin/static/stats.js) reading the hall's report computed at the district; the live board, pushed over Socket.IO to
logged-in district admins after each applied batch; the side-by-side table as XLSX for reporting upward."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, render_template, request
from flask_socketio import SocketIO, join_room

import admin
from district.auth import current_admin, district_admin
from district.figures import Figures
from district.store import DistrictStore
from server import spreadsheet, stats_export
from server.clock import business_date
from server.operations import validated
from server.queue import DomainError
from server.shipment import Batch
from server.stats_api import CSV, XLSX, DayOrPeriod, period
from server.stats_export import minutes, percent

blueprint = Blueprint("district_screens", __name__, template_folder="templates", static_folder="static",
                      static_url_path="/district/screens/static")
#: the hall's statistics page, template and scripts, for the drill-down (named "admin": its templates say so)
ADMIN = Path(admin.bp.root_path)
hall_pages = Blueprint("admin", __name__, template_folder=str(ADMIN / "templates"),
                       static_folder=str(ADMIN / "static"), static_url_path="/district/admin/static")
#: the Socket.IO room of the logged-in district admins: the only ones the live board is pushed to
ADMINS = "district_admins"
#: the side-by-side table's columns (the XLSX's; the screen shows the same)
COLUMNS = ("代码", "大厅", "取号", "办结", "平均等候(分钟)", "等候P95(分钟)", "评价", "满意率(%)", "目标(%)", "达标",
           "延时服务天数", "延时服务人数", "承诺件", "承诺件按时办结", "承诺件逾期办结", "承诺件超期未办结",
           "承诺件按时办结率(%)", "投诉", "投诉属实")


def figures() -> Figures:
    return current_app.extensions["district_figures"]


def init_app(app: Flask, socketio: SocketIO, store: DistrictStore) -> None:
    """The figures over the store's database; the rollups and the live board follow each applied batch."""
    found = Figures(store.engine, store.clock)
    app.extensions["district_figures"] = found
    app.register_blueprint(hall_pages)

    @socketio.on("connect")
    def connect(_auth: Any = None) -> bool:
        """Only a logged-in district admin's browser joins the room the board is pushed to."""
        if current_admin() is None:
            return False
        join_room(ADMINS)
        return True

    def applied(code: str, batch: Batch) -> None:
        found.on_applied(code, batch)
        entry = found.live_of(code)
        if entry is not None:
            socketio.emit("live", entry, to=ADMINS)

    store.on_applied.append(applied)


def asked_period() -> tuple[date, date]:
    """?date=, ?month=, ?quarter=, ?year= or ?from=&to= as the hall's /api/stats reads them; today by default."""
    query = validated(DayOrPeriod, request.args.to_dict())
    if not request.args:
        return _today(), _today()
    return period(query)


def _today() -> date:
    """The district's business date."""
    return business_date(figures().clock.now(), current_app.extensions["district"].config.timezone)


def rows(table: dict[str, Any]) -> list[list[Any]]:
    """The side-by-side table's rows, as the screen and the XLSX show them (times in minutes, rates in percent)."""
    lines = []
    for hall in table["halls"]:
        f = hall["figures"]
        if f is None:
            lines.append([hall["code"], hall["name"], *([None] * (len(COLUMNS) - 2))])
            continue
        wait, promised = f["waiting"], f["promised"]
        lines.append([hall["code"], hall["name"], f["issued"], f["served"], minutes(wait["mean"]), minutes(wait["p95"]),
                      f["rated"], percent(f["satisfaction_rate"]), percent(f["target_rate"]), _met(f["meets_target"]),
                      f["extended"]["days"], f["extended"]["served"], promised["total"], promised["on_time"],
                      promised["late"], promised["overdue"], percent(promised["on_time_rate"]),
                      f["complaints"]["received"], f["complaints"]["upheld"]])
    return lines


def _met(meets: bool | None) -> str:
    return "—" if meets is None else "达标" if meets else "未达标"


# ---------------------------------------------------------------------------------------------- the screens

@blueprint.get("/district/")
@district_admin
def side_by_side() -> str:
    first, last = asked_period()
    table = figures().side_by_side(first, last)
    year = _today().year
    return render_template("district_figures.html", table=table, asked=request.args.to_dict(),
                           query=request.query_string.decode(), years=[str(year - k) for k in range(5)],
                           quarters=[(f"{y}-Q{q}", f"{y}年第{q}季度") for y in (year, year - 1) for q in (4, 3, 2, 1)],
                           district=current_app.extensions["district"].config)


@blueprint.get("/district/halls/<code>")
@district_admin
def drill_down(code: str) -> str:
    hall = figures().hall(code)
    if hall is None:
        abort(404)
    return render_template("district_hall.html", hall=hall, stats_api=f"/district/api/v1/halls/{code}/stats",
                           district=current_app.extensions["district"].config)


@blueprint.get("/district/live")
@district_admin
def live_board() -> str:
    return render_template("district_live.html", board=figures().live(),
                           district=current_app.extensions["district"].config)


@blueprint.get("/district/export.xlsx")
@district_admin
def export() -> Response:
    first, last = asked_period()
    table = figures().side_by_side(first, last)
    book = spreadsheet.workbook()
    name = current_app.extensions["district"].config.name
    spreadsheet.register_sheet(book.active, f"{name} 各大厅统计", f"统计期间：{first} 至 {last}（{table['days']} 天）",
                               COLUMNS, rows(table), borders=True)
    book.active.title = "各大厅"
    return _download(spreadsheet.saved(book), XLSX, f"district-{first}_{last}.xlsx")


def _download(content: bytes, mimetype: str, filename: str) -> Response:
    return Response(content, mimetype=mimetype, headers={"Content-Disposition": f"attachment; filename={filename}",
                                                         "Cache-Control": "no-store"})


# ---------------------------------------------------------------------------------------------- the read API

@blueprint.get("/district/api/v1/figures")
@district_admin
def figures_json() -> dict[str, Any]:
    """Every hall side by side for the period."""
    return figures().side_by_side(*asked_period())


def _report(code: str) -> dict[str, Any]:
    report = figures().report(code, *asked_period())
    if report is None:
        raise DomainError("not_found", "hall_not_found", f"没有代码为 {code} 的大厅，或它尚未上报数据")
    return report


@blueprint.get("/district/api/v1/halls/<code>/stats")
@district_admin
def hall_stats(code: str) -> dict[str, Any]:
    """The hall's own report of the period (its /api/stats), from its replica."""
    return _report(code)


@blueprint.get("/district/api/v1/halls/<code>/stats.csv")
@district_admin
def hall_stats_csv(code: str) -> Response:
    report = _report(code)
    return _download(stats_export.to_csv(report), CSV, f"{code}-stats-{report['from']}_{report['to']}.csv")


@blueprint.get("/district/api/v1/halls/<code>/stats.xlsx")
@district_admin
def hall_stats_xlsx(code: str) -> Response:
    report = _report(code)
    return _download(stats_export.to_xlsx(report), XLSX, f"{code}-stats-{report['from']}_{report['to']}.xlsx")


@blueprint.get("/district/api/v1/live")
@district_admin
def live_json() -> dict[str, Any]:
    """Each hall's line now, as the live board shows it."""
    return {"halls": figures().live()}
