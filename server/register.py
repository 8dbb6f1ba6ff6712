"""《中心预约服务登记表》 (seed 6.2.3): the day's appointments in the columns of the paper register, for the A4 print
page of the guide desk and as an XLSX file. It holds personal data in full: guide desk and admin only."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from server.appointments import AppointmentView, day_text
from server.spreadsheet import text

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
    book = Workbook()
    sheet = book.active
    sheet.title = "预约登记表"
    last = get_column_letter(len(COLUMNS))
    sheet.merge_cells(f"A1:{last}1")
    sheet["A1"] = f"{hall_name}　{TITLE}"
    sheet["A1"].font = Font(size=16, bold=True)
    sheet["A1"].alignment = Alignment(horizontal="center")
    sheet.merge_cells(f"A2:{last}2")
    sheet["A2"] = f"日期：{day.year}年{day_text(day)}　共 {len(appointments)} 条"
    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    for row_number, values in enumerate([COLUMNS, *rows(appointments)], start=3):
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=row_number, column=column, value=text(value))
            cell.border = border
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if row_number == 3:
                cell.font = Font(bold=True)
    for column, width in enumerate(_WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.print_title_rows = "3:3"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
