"""The 办事指南 the kiosk shows residents, as the hall's 触摸查询器 (场所设施标准 3.5; the guide's fields:
服务行为标准 1.2): every item of config.toml with the pinyin initials residents type on the kiosk's letter keys.

pypinyin's dictionaries take ~55 MB once loaded: more than a third of the server's memory with 200 screens open
(docs/performance.md), for the initials of some 25 names that do not change while the hall runs. So the server asks
a short-lived child process (``python -m server.kiosk_guide``) for them once, and never loads the dictionaries.
"""

from __future__ import annotations

import functools
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from server.config import HallConfig
    from server.wayfinding import Wayfinding

log = logging.getLogger(__name__)

#: where ``python -m server.kiosk_guide`` finds the package: a checkout's top or site-packages
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent
CHILD_TIMEOUT = 60.0  # seconds; loading the dictionaries takes ~0.3 s


def _letters(syllables: list[str]) -> str:
    return "".join(syllable[0] for syllable in syllables if syllable).upper()


@functools.cache
def initials(name: str) -> tuple[str, ...]:
    """「居民身份证核发」→ ("JMSFZHF",): the reading of the words (pypinyin's phrases, so 给付 is JF) and, where it
    differs, each character's everyday reading (给 alone is gěi: GF), as a resident unsure of a polyphone types it.
    Brackets and other signs are skipped: 就（失）业登记 → JSYDJ."""
    from pypinyin import Style, lazy_pinyin  # loaded here only in the child process (or a test)

    words = _letters(lazy_pinyin(name, style=Style.FIRST_LETTER, errors="ignore"))
    characters = _letters([next(iter(lazy_pinyin(c, style=Style.FIRST_LETTER, errors="ignore")), "") for c in name])
    return tuple(dict.fromkeys((words, characters)))


@functools.cache
def initials_of(names: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """The initials of each name, worked out by a child process, so the dictionaries never load in this one. Should
    the child fail (no process can be started), worked out here: the kiosk's guide works, at the memory's cost."""
    try:
        child = subprocess.run([sys.executable, "-m", "server.kiosk_guide"], input=json.dumps(names),
                               capture_output=True, text=True, check=True, timeout=CHILD_TIMEOUT, cwd=_PACKAGE_ROOT)
        found = json.loads(child.stdout)
        return {name: tuple(found[name]) for name in names}
    except (OSError, subprocess.SubprocessError, ValueError, KeyError) as exc:
        log.warning("pinyin initials worked out in the server process (the child failed: %s)", exc)
        return {name: initials(name) for name in names}


def guides(config: HallConfig, wayfinding: Wayfinding) -> list[dict[str, Any]]:
    """Every item's guide in config.toml's order; 承诺时限 is the item's own text, else its promised working days."""
    def promised(days: int | str | None) -> str:
        return "" if days is None else "即办" if days == "即办" else f"{days}个工作日"

    letters = initials_of(tuple(s.name for s in config.services))
    return [{"code": s.code, "name": s.name, "category": s.category, "initials": list(letters[s.name]),
             "materials": s.materials, "steps": s.steps,
             "time_limit": s.time_limit or promised(s.promised_working_days), "fees": s.fees,
             "fee_basis": s.fee_basis, "basis": s.basis,
             "windows": wayfinding.places(config.windows_serving(s.code)),
             "phone": s.phone or config.hall.phone, "complaint_phone": config.hall.complaint_phone}
            for s in config.services]


if __name__ == "__main__":  # the child of initials_of: names as a JSON list on stdin, {name: initials} on stdout
    json.dump({name: initials(name) for name in json.load(sys.stdin)}, sys.stdout)  # ASCII: any locale
