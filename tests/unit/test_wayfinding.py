"""Where to go: the windows of an item as residents read them, and what they are told when none is open."""

from __future__ import annotations

from datetime import datetime

from server.calendar import HallCalendar
from server.config import parse_config
from server.hours import Hours
from server.wayfinding import NOT_OPEN, PAUSED, Wayfinding
from tests.conftest import SHANGHAI, SMALL_HALL
from tests.unit.test_hours import WEEK

#: SMALL_HALL with 3号窗口 in no zone
MIXED = SMALL_HALL.replace('services = ["hukou", "id-card", "pension"]\nzone = "二楼"\n',
                           'services = ["hukou", "id-card", "pension"]\n')


def test_windows_are_grouped_by_zone_in_config_order() -> None:
    hall = parse_config(SMALL_HALL)
    places = Wayfinding(hall)
    assert places.zoned
    windows = [hall.window(4), hall.window(1), hall.window(3), hall.window(2)]
    assert places.places(windows) == "4号窗口、3号窗口（二楼）；1号窗口、2号窗口（一楼）"
    assert places.place(hall.window(4)) == "4号窗口（二楼）"
    assert places.windows_for("id-card", None) == (hall.window(1), hall.window(3), hall.window(4))
    assert places.windows_for("id-card", 4) == (hall.window(4),)  # transferred or moved there: only that one


def test_a_window_without_a_zone_is_named_alone_and_one_zone_names_none() -> None:
    mixed = parse_config(MIXED)
    assert Wayfinding(mixed).places(mixed.windows) == "1号窗口、2号窗口（一楼）；3号窗口；4号窗口（二楼）"
    single = parse_config(SMALL_HALL.replace('zone = "二楼"', 'zone = "一楼"'))
    assert not Wayfinding(single).zoned
    assert Wayfinding(single).places(single.windows) == "1号窗口、2号窗口、3号窗口、4号窗口"


def test_the_notice_says_nobody_is_there_paused_or_when_the_hall_opens() -> None:
    hall = parse_config(WEEK)
    places, hours = Wayfinding(hall), Hours(HallCalendar(hall.calendar, hall.timezone))
    windows = places.windows_for("pension", None)  # 2号窗口 and 3号窗口
    morning = datetime(2026, 11, 30, 9, 0, tzinfo=SHANGHAI)
    assert places.notice(windows, {1: "open"}, hours, morning) == (True, NOT_OPEN)
    assert places.notice(windows, {2: "paused"}, hours, morning) == (False, PAUSED)
    assert places.notice(windows, {2: "paused", 3: "open"}, hours, morning) == (False, None)
    noon = datetime(2026, 11, 30, 12, 30, tzinfo=SHANGHAI)
    assert places.notice(windows, {}, hours, noon) == (True, "现在不是办理时间，今天 14:00 开始办理，"
                                                             "届时按取号顺序叫号")
    assert places.open_windows(windows, {3: "paused", 1: "open"}) == [3]
