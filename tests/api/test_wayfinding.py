"""Issue 12, points 3 and 6: closed windows are not hidden, and every answer says where to go (with the zone in a
hall of several zones). SMALL_HALL: windows 1 and 2 in 一楼, 3 and 4 in 二楼."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from server.clock import ManualClock
from tests.api.conftest import HallApp, open_hall_app
from tests.api.test_api import err, take
from tests.conftest import SHANGHAI, SMALL_HALL

NOT_OPEN = "目前没有窗口办理该事项，窗口开放后按取号顺序叫号"
PAUSED = "办理该事项的窗口暂停服务，恢复后按取号顺序叫号"
#: SMALL_HALL in one room: no zone is named anywhere
ONE_ZONE = SMALL_HALL.replace('zone = "二楼"', 'zone = "一楼"')
MORNING = SMALL_HALL + """
[calendar]
[[calendar.sessions]]
name = "上午"
start = "08:30"
end = "12:00"
"""


def open_windows(hall_app: HallApp) -> dict[str, list[int]]:
    return {s["code"]: s["open_windows"] for s in hall_app.kiosk().get("/api/services").json["services"]}


def ticket(hall_app: HallApp, ticket_id: int) -> dict[str, Any]:
    return hall_app.kiosk().get(f"/api/tickets/{ticket_id}").json["ticket"]


def test_each_item_lists_its_signed_in_windows_paused_ones_included(hall_app: HallApp) -> None:
    assert open_windows(hall_app) == {"id-card": [], "hukou": [], "pension": []}
    clerk = hall_app.staff("clerk1", window=3)
    assert open_windows(hall_app) == {"id-card": [3], "hukou": [3], "pension": [3]}
    assert clerk.post("/api/windows/3/pause").status_code == 200  # a clerk on a short break is still there
    hall_app.staff("clerk2", window=1)
    assert open_windows(hall_app) == {"id-card": [1, 3], "hukou": [1, 3], "pension": [3]}
    snapshot = hall_app.hall.engine.snapshot()
    assert {s["code"]: s["open_windows"] for s in snapshot["services"]} == open_windows(hall_app)
    assert clerk.post("/api/windows/3/sign-out").status_code == 200
    assert open_windows(hall_app)["pension"] == []


def test_a_number_with_no_open_window_is_issued_and_says_so_until_a_clerk_signs_in(hall_app: HallApp) -> None:
    issued = take(hall_app.kiosk(), "pension")
    assert issued["no_open_window"] is True and issued["window_notice"] == NOT_OPEN
    assert ticket(hall_app, issued["id"])["window_notice"] == NOT_OPEN
    clerk = hall_app.staff("clerk1", window=2)
    assert ticket(hall_app, issued["id"])["no_open_window"] is False
    assert ticket(hall_app, issued["id"])["window_notice"] is None
    clerk.post("/api/windows/2/pause")
    paused = ticket(hall_app, issued["id"])
    assert paused["no_open_window"] is False and paused["window_notice"] == PAUSED
    called = clerk.post("/api/windows/2/resume") and clerk.post("/api/windows/2/call-next").json["ticket"]
    assert called["number"] == issued["number"] and called["window_notice"] is None  # only a waiting one is told


@pytest.fixture
def morning(tmp_path: Path, database_url: str) -> Iterator[HallApp]:
    yield from open_hall_app(tmp_path, database_url, ManualClock(datetime(2026, 11, 30, 8, 5, tzinfo=SHANGHAI)),
                             MORNING)


def test_before_opening_time_the_desk_ticket_says_when_calling_starts(morning: HallApp) -> None:
    err(morning.kiosk().post("/api/tickets", json={"service": "id-card"}), 409, "hall_closed")
    early = take(morning.staff("guide"), "id-card")
    assert early["no_open_window"] is True
    assert early["window_notice"] == "现在不是办理时间，今天 08:30 开始办理，届时按取号顺序叫号"
    morning.clock.set(datetime(2026, 11, 30, 8, 31, tzinfo=SHANGHAI))
    assert ticket(morning, early["id"])["window_notice"] == NOT_OPEN  # open, but nobody signed in yet


def test_a_transfer_to_a_window_nobody_signed_in_to_is_refused(hall_app: HallApp) -> None:
    clerk = hall_app.staff("clerk1", window=1)
    take(hall_app.kiosk())
    clerk.post("/api/windows/1/call-next")
    refused = clerk.post("/api/windows/1/transfer", json={"window": 4})
    err(refused, 409, "window_closed")
    assert refused.json["error"]["message"] == "4号窗口未开放（无人签到），不能转入"
    assert hall_app.kiosk().get("/api/windows").json["windows"][0]["current"]["status"] == "called"  # still here


def test_a_transfer_to_an_item_whose_windows_are_all_closed_is_taken_and_says_so(hall_app: HallApp) -> None:
    clerk = hall_app.staff("clerk1", window=1)
    take(hall_app.kiosk())
    clerk.post("/api/windows/1/call-next")
    moved = clerk.post("/api/windows/1/transfer", json={"service": "pension"})
    assert moved.status_code == 200, moved.json
    assert moved.json["ticket"]["status"] == "waiting" and moved.json["ticket"]["window_notice"] == NOT_OPEN


def test_a_transferred_number_arrives_marked_with_the_window_it_came_from(hall_app: HallApp) -> None:
    first, second = hall_app.staff("clerk1", window=1), hall_app.staff("clerk2", window=4)
    take(hall_app.kiosk())
    called = first.post("/api/windows/1/call-next").json["ticket"]
    assert called["transferred_from_window"] is None
    assert hall_app.kiosk().get("/api/windows").json["windows"][0]["current"]["transferred_from"] is None
    moved = first.post("/api/windows/1/transfer", json={"window": 4}).json["ticket"]
    assert moved["transferred_from_window"] == 1 and moved["windows_text"] == "4号窗口（二楼）"
    arrived = second.post("/api/windows/4/call-next").json["ticket"]
    assert arrived["number"] == called["number"] and arrived["transferred_from_window"] == 1
    windows = {w["id"]: w for w in hall_app.kiosk().get("/api/windows").json["windows"]}
    assert windows[4]["current"]["transferred_from"] == 1


def test_the_answer_names_the_windows_by_zone(hall_app: HallApp) -> None:
    assert take(hall_app.kiosk())["windows_text"] == "1号窗口（一楼）；3号窗口、4号窗口（二楼）"
    assert take(hall_app.kiosk(), "pension")["windows_text"] == "2号窗口（一楼）；3号窗口（二楼）"
    assert hall_app.hall.engine.snapshot()["hall"]["zoned"] is True


def test_a_hall_of_one_zone_names_none(tmp_path: Path, database_url: str, clock: ManualClock) -> None:
    for hall_app in open_hall_app(tmp_path, database_url, clock, ONE_ZONE):
        assert take(hall_app.kiosk())["windows_text"] == "1号窗口、3号窗口、4号窗口"
        assert hall_app.hall.engine.snapshot()["hall"]["zoned"] is False


def test_the_tracking_page_says_where_to_go_and_that_no_window_is_open(hall_app: HallApp) -> None:
    issued = hall_app.kiosk().post("/api/tickets", json={"service": "pension"}).json["ticket"]
    page = urlsplit(issued["track_url"]).path
    waiting = hall_app.app.test_client().get(f"{page}/state").json
    assert waiting["windows_text"] == "2号窗口（一楼）；3号窗口（二楼）" and waiting["notice"] == NOT_OPEN
    first_paint = hall_app.app.test_client().get(page).text
    assert "2号窗口（一楼）；3号窗口（二楼）</span>" in first_paint and NOT_OPEN in first_paint
    hall_app.staff("clerk1", window=3).post("/api/windows/3/call-next")
    called = hall_app.app.test_client().get(f"{page}/state").json
    assert called["hint"] == "请到 3号窗口（二楼） 办理" and called["notice"] is None
