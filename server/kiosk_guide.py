"""The 办事指南 the kiosk shows residents, as the hall's 触摸查询器 (场所设施标准 3.5; the guide's fields:
服务行为标准 1.2): every item of config.toml with the pinyin initials residents type on the kiosk's letter keys."""

from __future__ import annotations

import functools
from typing import Any

from pypinyin import Style, lazy_pinyin

from server.config import HallConfig
from server.wayfinding import Wayfinding


def _letters(syllables: list[str]) -> str:
    return "".join(syllable[0] for syllable in syllables if syllable).upper()


@functools.cache
def initials(name: str) -> tuple[str, ...]:
    """「居民身份证核发」→ ("JMSFZHF",): the reading of the words (pypinyin's phrases, so 给付 is JF) and, where it
    differs, each character's everyday reading (给 alone is gěi: GF), as a resident unsure of a polyphone types it.
    Brackets and other signs are skipped: 就（失）业登记 → JSYDJ."""
    words = _letters(lazy_pinyin(name, style=Style.FIRST_LETTER, errors="ignore"))
    characters = _letters([next(iter(lazy_pinyin(c, style=Style.FIRST_LETTER, errors="ignore")), "") for c in name])
    return tuple(dict.fromkeys((words, characters)))


def guides(config: HallConfig, wayfinding: Wayfinding) -> list[dict[str, Any]]:
    """Every item's guide in config.toml's order; 承诺时限 is the item's own text, else its promised working days."""
    def promised(days: int | str | None) -> str:
        return "" if days is None else "即办" if days == "即办" else f"{days}个工作日"

    return [{"code": s.code, "name": s.name, "category": s.category, "initials": list(initials(s.name)),
             "materials": s.materials, "steps": s.steps,
             "time_limit": s.time_limit or promised(s.promised_working_days), "fees": s.fees,
             "fee_basis": s.fee_basis, "basis": s.basis,
             "windows": wayfinding.places(config.windows_serving(s.code)),
             "phone": s.phone or config.hall.phone, "complaint_phone": config.hall.complaint_phone}
            for s in config.services]
