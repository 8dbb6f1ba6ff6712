"""The screens receive the hall's words from server/vocabulary.py with the page: the same words, on every screen."""

from __future__ import annotations

import html
import json
import re

from server import vocabulary
from tests.api.conftest import HallApp

#: every page that loads hallq.js (screen.html)
SCREENS = ("/kiosk", "/display", "/caller", "/guide", "/window/1", "/rate/1", "/admin/stats", "/admin/followups",
           "/admin/staff", "/admin/devices", "/admin/archives", "/admin/health", "/account")
_WORDS = re.compile(r'<script type="application/json" id="hall-words">(.*?)</script>', re.S)


def served_words(page: str) -> object:
    blocks = _WORDS.findall(page)
    assert len(blocks) == 1, "one words block a page"
    return json.loads(html.unescape(blocks[0]))


def test_every_screen_is_served_the_vocabulary(hall_app: HallApp) -> None:
    """What hallq.words reads equals server/vocabulary.py (through JSON: the weekdays' keys are strings), in its
    order too: the rating levels are shown best first."""
    expected = json.loads(json.dumps(vocabulary.words(), ensure_ascii=False))
    assert list(expected["rating_levels"]) == ["very_satisfied", "satisfied", "basic", "dissatisfied",
                                               "very_dissatisfied"]
    assert expected["ticket_status"]["no_show"] == "过号" and expected["weekdays"]["7"] == "日"
    client = hall_app.app.test_client()
    for path in SCREENS:
        answer = client.get(path)
        assert answer.status_code == 200, path
        page = answer.get_data(as_text=True)
        served = served_words(page)
        assert served == expected, path
        assert json.dumps(served, ensure_ascii=False) == json.dumps(expected, ensure_ascii=False), path  # order
        # the block comes before hallq.js, which reads it as it loads
        assert page.index('id="hall-words"') < page.index("/static/hallq.js"), path


def test_the_guide_desk_offers_each_priority_of_the_vocabulary(hall_app: HallApp) -> None:
    page = hall_app.app.test_client().get("/guide").get_data(as_text=True)
    for code, name in vocabulary.PRIORITY_NAMES.items():
        assert f'data-priority="{code}">绿色通道·{name}</button>' in page

