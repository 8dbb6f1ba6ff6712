"""《中心预约服务登记表》 (seed 6.2.3): the day's appointments in the columns of the paper register, for the A4 print
page of the guide desk and as an XLSX file. It holds personal data in full: guide desk and admin only."""

from __future__ import annotations

from datetime import date

from server.appointments import AppointmentView, day_text
from server.spreadsheet import register_sheet, saved, workbook

TITLE = "中心预约服务登记表"
COLUMNS = ("序号", "预约时间", "姓名", "联系电话", "身份证后六位", "预约事项", "方式", "类别", "预约码", "状态",
           "登记人", "备注")
#: column widths in the XLSX (characters), chosen so that an A4 landscape page holds the 12 columns
_WIDTHS = (5, 12, 9, 13, 10, 22, 6, 7, 8, 14, 9, 30)
_OUTCOME = {"rejected": "理由", "cancelled": "取消原因", "done": "办理情况", "not_done": "未办理原因"}


def rows(appointments: list[AppointmentView]) -> list[tuple[str, ...]]:
    """One line per appointment, in the 12 columns."""
    lines = []
    for n, a in enumerate(appointments, start=1):
        status = a.status_text if not a.ticket_number else f"{a.status_text} {a.ticket_number}"
        remarks = [a.notes] if a.notes else []
        if a.assigned_name or a.assigned_to:
            remarks.append(f"负责：{a.assigned_name or a.assigned_to}")
        if a.reason:
            remarks.append(f"{_OUTCOME.get(a.status, '说明')}：{a.reason}")
        lines.append((str(n), f"{a.slot}-{a.slot_end}" if a.slot_end else a.slot, a.name, a.phone, a.id_last6 or "",
                      a.service_name, a.channel_text, a.kind_text, a.code, status, a.booked_by_name,
                      "；".join(remarks)))
    return lines


def xlsx(hall_name: str, day: date, appointments: list[AppointmentView]) -> bytes:
    """The register as an XLSX workbook: title, date, the header row repeated on each printed A4 landscape page."""
    book = workbook()
    sheet = book.active
    sheet.title = "预约登记表"
    register_sheet(sheet, f"{hall_name}　{TITLE}", f"日期：{day.year}年{day_text(day)}　共 {len(appointments)} 条",
                   COLUMNS, rows(appointments), heading_size=16, borders=True, widths=_WIDTHS)
    return saved(book)
