"""The sentence the waiting area hears, written so that espeak-ng's Mandarin voice reads it the way a clerk would.

A ticket number is read digit by digit ("A012" → "A零一二", never "十二"), like a phone number, because residents
compare it with the digits on their paper; a window's number is read as a number ("12号窗口" → "十二号窗口"), as
people say it. Both are turned into characters here because espeak-ng reads Arabic digits inconsistently.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

#: The default sentence; ``{number}`` and ``{window}`` are replaced by their spoken forms.
DEFAULT_TEMPLATE = "请{number}号到{window}办理"

_DIGITS = "零一二三四五六七八九"
_UNITS = ("", "十", "百", "千")
_NUMBER = re.compile(r"[0-9０-９]+")


def spell_number(number: str, yao: bool = False) -> str:
    """A ticket number read one digit at a time, letters kept: "A012" → "A零一二"; with ``yao`` 1 is read 幺."""
    digits = _DIGITS.replace("一", "幺") if yao else _DIGITS
    return "".join(digits[int(char)] if char in "0123456789" else char for char in _halfwidth(number))


def window_words(name: str) -> str:
    """Arabic numbers inside a window's name read as Chinese numbers: "12号窗口" → "十二号窗口", "105" → "一百零五".

    A number written with a leading zero ("03号") is read digit by digit, as it is written.
    """
    def spoken(match: re.Match[str]) -> str:
        text = _halfwidth(match.group())
        return spell_number(text) if len(text) > 1 and text.startswith("0") else chinese_number(int(text))

    return _NUMBER.sub(spoken, name)


def announcement_text(template: str, number: str, window_name: str, yao: bool = False) -> str:
    """The template with ``{number}`` and ``{window}`` filled with their spoken forms.

    Plain replacement, not ``str.format``: a template edited in config.toml with a stray brace must not make
    every call fail.
    """
    return (template or DEFAULT_TEMPLATE).replace("{number}", spell_number(number, yao)).replace(
        "{window}", window_words(window_name))


def together_parts(template: str, calls: Sequence[tuple[str, str]], yao: bool = False) -> list[str]:
    """Calls read together as one sentence, in parts, one a call: the template's words before the first and after
    the last placeholder are said once ("请A零零一号到一号窗口", "A零零二号到二号窗口办理"), so a backlog is
    read quickly yet each number still comes with its window. One call: its whole sentence."""
    template = template or DEFAULT_TEMPLATE
    if len(calls) == 1:
        return [announcement_text(template, *calls[0], yao)]
    marks = [template.index(mark) for mark in ("{number}", "{window}")]
    first, last = min(marks), max(marks) + len("{number}" if marks[0] > marks[1] else "{window}")
    parts = [announcement_text(template[first:last], number, window, yao) for number, window in calls]
    parts[0] = template[:first] + parts[0]
    parts[-1] += template[last:]
    return parts


def chinese_number(value: int) -> str:
    """A non-negative integer in Chinese numerals as spoken: 10 → 十, 20 → 二十, 105 → 一百零五, 10005 → 一万零五."""
    if value < 0:
        raise ValueError(f"negative number: {value}")
    if value == 0:
        return _DIGITS[0]
    if value >= 10**16:  # beyond 万亿: nobody says it; read the digits
        return spell_number(str(value))
    groups = []  # 4-digit groups, lowest first
    while value:
        value, group = divmod(value, 10_000)
        groups.append(group)
    words = ""
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            continue
        if words and (group < 1000 or groups[index + 1] == 0):
            words += "零"  # a gap of zeros inside the number is read once: 一万零五, 一亿零三万
        words += _below_10000(group) + ("", "万", "亿", "万亿")[index]
    return words[1:] if words.startswith("一十") else words  # 十二, 十万: the leading 一 is not said


def _below_10000(value: int) -> str:
    words, gap = "", False
    for position in (3, 2, 1, 0):
        digit = value // 10**position % 10
        if digit == 0:
            gap = bool(words)
            continue
        if gap:
            words += "零"
            gap = False
        words += _DIGITS[digit] + _UNITS[position]
    return words


def _halfwidth(text: str) -> str:
    """Full-width digits (０-９, typed with a Chinese input method) as ASCII ones."""
    return text.translate({code: code - 0xFEE0 for code in range(ord("０"), ord("９") + 1)})
