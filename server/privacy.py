"""Masking a resident's personal information (PIPL; GB/T 35273): what everyone but the guide desk and the admin
sees of a name, a phone number and the digits of an ID number. Pure functions of text."""

from __future__ import annotations

import re

_LONG_NUMBER = re.compile(r"\d{7,}[\dXx]")


def mask_name(name: str) -> str:
    """张三 → 张*, 张小三 → 张*三, 欧阳小明 → 欧**明: the first and last character stay (one only of two)."""
    name = name.strip()
    if len(name) <= 1:
        return "*" * len(name)
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_phone(phone: str) -> str:
    """13812341234 → 138****1234; a landline keeps its first three and last four digits as well."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) > 7:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return "*" * max(0, len(digits) - 4) + digits[-4:] if len(digits) > 4 else "*" * len(digits)


def mask_id_digits(digits: str | None) -> str | None:
    """The last six digits of an ID number, 12345X → ****5X: two stay, for a clerk to confirm with the resident."""
    if not digits:
        return None
    return "*" * (len(digits) - 2) + digits[-2:]


def mask_numbers(text: str) -> str:
    """A phone or ID number typed into free text (a comment, a case's reason) keeps only its first 3 and last 4
    characters: 138****1234."""
    return _LONG_NUMBER.sub(lambda m: m.group()[:3] + "*" * (len(m.group()) - 7) + m.group()[-4:], text)
