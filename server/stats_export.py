"""The statistics as a spreadsheet: one table, written as CSV (UTF-8 with BOM, so Excel reads the Chinese) or as
XLSX (openpyxl). Both are built from the same rows as the JSON report, so they carry the same numbers: counts as
they are, times in minutes, rates in percent. The XLSX adds the staff assessment (考核, for reporting upward):
a sheet listing the clerks, one listing the windows, each with its figures, deductions and score."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

from server.spreadsheet import saved, text, workbook
from server.vocabulary import ASSESSMENT_DEDUCTIONS, CASE_TYPES, RATING_LEVELS, TICKET_STATUS, UNRATED

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

HEADER = ["范围", "名称", "工号", "取号", "办结", TICKET_STATUS["no_show"], "转移",
          "平均等候(分钟)", "等候中位数(分钟)", "等候P90(分钟)", "平均办理(分钟)", "办理中位数(分钟)", "办理P90(分钟)",
          *RATING_LEVELS.values(), UNRATED, "满意率(%)", *CASE_TYPES.values(), "其中默认即办件", "即办件占比(%)",
          "承诺件按时办结", "承诺件逾期办结", "承诺件超期未办结", "承诺件按时办结率(%)", "承诺件延期", "延期次数",
          "报批件按时上报", "报批件逾期上报", "报批件超期未上报", "报批件待批复",
          "报批件按时答复", "报批件逾期答复", "报批件超期未答复",
          "申请复核", "复核按时", "复核逾期", "复核超期未答复", "投诉", "投诉属实",
          "预约签到", "预约失约", "预约履约率(%)"]
SCOPES = (("by_day", "日期"), ("by_service", "事项"), ("by_window", "窗口"), ("by_clerk", "工作人员"))


def minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 2)


def percent(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 2)


def _row(scope: str, group: dict[str, Any]) -> list[Any]:
    wait, serve = group["waiting"], group["service_time"]
    promised, kept, review = group["promised"], group["appointments"], group["review"]
    forward, answer = group["approval"]["forward"], group["approval"]["answer"]
    return [scope, group["name"], group.get("staff_no", ""), group["issued"], group["served"], group["no_show"],
            group["transferred"], minutes(wait["mean"]), minutes(wait["median"]), minutes(wait["p90"]),
            minutes(serve["mean"]), minutes(serve["median"]), minutes(serve["p90"]),
            *group["ratings"].values(), percent(group["satisfaction_rate"]), *group["cases"].values(),
            group["immediate_default"], percent(group["immediate_share"]), promised["on_time"], promised["late"],
            promised["overdue"], percent(promised["on_time_rate"]), promised["extended"], promised["extensions"],
            forward["on_time"], forward["late"], forward["overdue"], answer["awaiting"], answer["on_time"],
            answer["late"], answer["overdue"], review["requested"], review["on_time"], review["late"],
            review["overdue"], group["complaints"]["received"], group["complaints"]["upheld"],
            *((kept["checked_in"], kept["forfeited"], percent(kept["kept_rate"])) if kept else (None, None, None))]


ASSESSMENT_HEADER = ["名称", "工号", "办结", "平均办理(分钟)", "评价", UNRATED, "满意率(%)", "承诺件",
                     "承诺件按时办结率(%)", "超时(件次)", "超时率(%)", "承诺件延期", "延期率(%)", "投诉", "投诉属实",
                     *(f"扣分：{name}" for name in ASSESSMENT_DEDUCTIONS.values()), "得分"]
#: the assessment's sheets: the list of the report and the sheet's name
ASSESSMENT_SHEETS = (("by_clerk", "工作人员考核"), ("by_window", "窗口考核"))


def assessment_rows(report: dict[str, Any], scope: str) -> list[list[Any]]:
    """One sheet of the assessment: the period, the formula, then a line per clerk (or window) with its score."""
    table = [["考核期间", f"{report['from']} 至 {report['to']}"], ["得分计算", report["assessment"]["text"]],
             ["满意率计算", report["formula"]["text"]], [], ASSESSMENT_HEADER]
    for group in report[scope]:
        score = group["assessment"]
        table.append([group["name"], group.get("staff_no", ""), group["served"],
                      minutes(group["service_time"]["mean"]), group["rated"], group["ratings"]["unrated"],
                      percent(group["satisfaction_rate"]), group["promised"]["total"],
                      percent(group["promised"]["on_time_rate"]), score["missed"], percent(score["missed_share"]),
                      group["promised"]["extended"], percent(score["extended_share"]),
                      group["complaints"]["received"], group["complaints"]["upheld"],
                      *score["deductions"].values(), score["score"]])
    return table


def rows(report: dict[str, Any]) -> list[list[Any]]:
    """The sheet: the period and the formula, the table (合计, then each day, service, window, staff member),
    arrivals per hour, 延时服务."""
    extended = report["extended"]
    table = [["统计期间", f"{report['from']} 至 {report['to']}"], ["满意率计算", report["formula"]["text"]], [],
             HEADER, _row("合计", report["total"])]
    for key, scope in SCOPES:
        table += [_row(scope, group) for group in report[key]]
    table += [[], ["到达时段", "取号"]]
    table += [[f"{hour:02d}:00-{hour + 1:02d}:00", count] for hour, count in enumerate(report["arrivals_by_hour"])
              if count]
    table += [[], ["延时服务天数", extended["days"]], ["延时服务次数", extended["sessions"]],
              ["延时服务人数", extended["served"]],
              ["延时服务时长(分钟)", extended["minutes"]]]
    return table


def _fill(sheet: Worksheet, table: list[list[Any]], header: int) -> None:
    """The rows as text-safe cells (server.spreadsheet.text), the header (row ``header``) bold and kept in view."""
    from openpyxl.styles import Font

    for row in table:
        sheet.append([text(cell) for cell in row])
    for cell in sheet[header]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = f"C{header + 1}"
    sheet.column_dimensions["B"].width = 24


def to_csv(report: dict[str, Any]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows(report):
        writer.writerow(["" if cell is None else text(cell) for cell in row])
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(report: dict[str, Any]) -> bytes:
    book = workbook()
    sheet = book.active
    sheet.title = "统计"
    _fill(sheet, rows(report), header=4)
    sheet.column_dimensions["A"].width = 14
    for scope, title in ASSESSMENT_SHEETS:
        _fill(book.create_sheet(title), assessment_rows(report, scope), header=5)
    return saved(book)
