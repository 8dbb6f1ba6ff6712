"""The hall's words live in server/vocabulary.py only: no screen script holds a copy that could drift."""

from __future__ import annotations

import re
from datetime import date, time
from pathlib import Path

import pytest

from server import vocabulary
from server.clock import calendar_day, wall_time

ROOT = Path(__file__).resolve().parents[2]
SCREENS = ("admin", "caller", "display", "evaluator", "guide", "kiosk", "track", "windowscreen", "static")
#: a JavaScript string: "…", '…' or a template `…` without ${…} (a label never holds one)
#: words of the vocabulary that also stand alone in another sense: 窗口 (the appointment kind) heads the window
#: columns; 已办结 in followups.js is the button that marks a 承诺件 completed, not a ticket's status
PLAIN_WORDS = {"窗口": "*", "已办结": "admin/static/followups.js"}
_LITERAL = re.compile(r'"((?:[^"\\\n]|\\.)*)"|\'((?:[^\'\\\n]|\\.)*)\'|`([^`$]*)`')


def screen_scripts() -> list[Path]:
    """Every script a screen loads, the vendored libraries aside."""
    return sorted(path for package in SCREENS for path in (ROOT / package).rglob("*.js") if "vendor" not in path.parts)


def literals(source: str) -> list[tuple[int, str]]:
    """(line, text) of every string literal of a script."""
    return [(source.count("\n", 0, m.start()) + 1, next(g for g in m.groups() if g is not None))
            for m in _LITERAL.finditer(source)]


def labels() -> set[str]:
    """Every word of the vocabulary a screen shows, and the weekday tables as a string (日一二三四五六)."""
    found: set[str] = set()
    for value in vocabulary.words().values():
        if isinstance(value, dict):
            found.update(v for v in value.values() if len(v) > 1)  # a weekday's single character is no table
        else:
            found.add(value)
    chars = "".join(vocabulary.WEEKDAYS.values())
    return found | {chars, chars[-1] + chars[:-1]}


def test_the_scanner_finds_a_copied_label() -> None:
    """A copy such as caller.js once held is caught, in any quoting, and a label inside a sentence is not."""
    copy = ('const TICKET_STATUS = { waiting: "等候中", no_show: \'过号\',\n'
            '  transferred: `已转移` };\nx = `${n} 已过号`;')
    assert [(line, text) for line, text in literals(copy) if text in labels()] == [(1, "等候中"), (1, "过号"),
                                                                                   (2, "已转移")]
    assert "日一二三四五六" in labels() and "非常不满意" in labels() and "未开放" in labels()


def test_no_screen_script_holds_a_label_of_the_vocabulary() -> None:
    """The screens take their labels from hallq.words (served from server/vocabulary.py), never from a copy."""
    scripts = screen_scripts()
    assert ROOT / "static" / "hallq.js" in scripts and ROOT / "caller" / "static" / "caller.js" in scripts
    words = labels()
    copies = [f"{path.relative_to(ROOT)}:{line}: {text}" for path in scripts
              for line, text in literals(path.read_text(encoding="utf-8"))
              if text in words and PLAIN_WORDS.get(text) not in ("*", str(path.relative_to(ROOT)))]
    assert copies == []


def test_the_resident_and_the_public_screens_say_the_staff_words_where_they_overlap() -> None:
    """The phone says 过号 and 已转移 as the caller does (they once said 已过号 and 已转办)."""
    for code in ("waiting", "done", "no_show", "transferred"):
        assert vocabulary.RESIDENT_TICKET_STATUS[code] == vocabulary.TICKET_STATUS[code]
    assert vocabulary.TICKET_STATUS["no_show"] == "过号" and vocabulary.TICKET_STATUS["transferred"] == "已转移"
    assert vocabulary.WINDOW_NOW["serving"] == vocabulary.RESIDENT_TICKET_STATUS["serving"]
    assert vocabulary.WINDOW_STATE_PUBLIC["paused"] == vocabulary.WINDOW_STATUS["paused"]
    assert list(vocabulary.WEEKDAY_NAMES.values()) == ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]
    assert vocabulary.PRIORITIES == ("elderly", "disabled", "military", "pregnant")


@pytest.mark.parametrize(("text", "expected"), [("09:30", time(9, 30)), ("00:00", time(0)), ("23:59", time(23, 59)),
                                                ("24:00", None), ("9:30", None), ("09:60", None), (" 09:30", None),
                                                ("09:30:00", None), ("", None)])
def test_a_time_of_day_is_hh_mm(text: str, expected: time | None) -> None:
    assert wall_time(text) == expected


@pytest.mark.parametrize(("text", "expected"), [("2026-11-30", date(2026, 11, 30)), ("2026-02-30", None),
                                                ("2026-13-01", None), ("tomorrow", None), ("", None)])
def test_a_calendar_day_is_an_iso_date(text: str, expected: date | None) -> None:
    assert calendar_day(text) == expected
