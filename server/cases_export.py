"""The cases of a period with their time points (办理质量 2.2: 受理、审核、决定、送达 应有准确、完整的记录) as an XLSX
file for the admin: one row a case, the clerk's usernames and typed texts kept as text (server.spreadsheet)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from server.spreadsheet import saved, text, workbook
from server.vocabulary import CASE_STEPS

TITLE = "办件登记表"
#: the time points, each a column, in the order a case goes through them
STEP_COLUMNS = ("accepted", "supplemented", "checked", "forwarded", "approved", "decided", "delivered")
COLUMNS = ("编号", "号码", "事项", "办件类型", "窗口", "承办人", *(CASE_STEPS[s] for s in STEP_COLUMNS),
           "承诺时限日期", "承诺办结日期", "延期次数", "延期理由", "上报期限", "答复期限", "补正材料", "退回原因",
           "申请复核", "复核期限", "复核答复", "复核结果", "超期", "未选择（默认即办件）")


def rows(cases: list[dict[str, Any]], zone: ZoneInfo) -> list[tuple[Any, ...]]:
    """One line per case (server.cases.Cases._json), times in the hall's time zone."""

    def when(value: str | None) -> str:
        return datetime.fromisoformat(value).astimezone(zone).strftime("%Y-%m-%d %H:%M") if value else ""

    lines = []
    for c in cases:
        marked = {s["step"]: s for s in c["steps"]}
        points = [f"{when(marked[s]['at'])} {marked[s]['by'] or ''}".strip() if s in marked else "—"
                  for s in STEP_COLUMNS]
        lines.append((c["id"], c["number"], c["service_name"], c["type_name"], c["window_name"], c["clerk"]["name"],
                      *points, c["limit_due"] or "", c["due"] or "", c["extensions"], c["extension_reason"] or "",
                      c["forward_due"] or "", c["answer_due"] or "", "、".join(c["materials"]), c["reason"] or "",
                      when(c["review_requested_at"]), c["review_due"] or "",
                      f"{when(c['reviewed_at'])} {c['reviewed_by'] or ''}".strip(), c["review_result"] or "",
                      "是" if c["overdue"] else "", "" if c["chosen"] else "是"))
    return lines


def to_xlsx(hall_name: str, first: date, last: date, cases: list[dict[str, Any]], zone: ZoneInfo) -> bytes:
    from openpyxl.styles import Font

    book = workbook()
    sheet = book.active
    sheet.title = TITLE
    sheet.append([f"{hall_name}　{TITLE}　{first.isoformat()} 至 {last.isoformat()}　共 {len(cases)} 件"])
    sheet["A1"].font = Font(size=14, bold=True)
    sheet.append(list(COLUMNS))
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for line in rows(cases, zone):
        sheet.append([text(value) for value in line])
    sheet.freeze_panes = "A3"
    return saved(book)
