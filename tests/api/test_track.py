"""The resident's phone page behind the ticket's QR code: live state, 即将到号, nothing personal, no guessing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from server.clock import ManualClock
from tests.api.conftest import HallApp, open_hall_app
from tests.conftest import SMALL_HALL


def take(hall_app: HallApp, service: str = "id-card") -> str:
    """Issue a ticket at the kiosk; the path of its tracking page."""
    answer = hall_app.kiosk().post("/api/tickets", json={"service": service})
    assert answer.status_code == 201
    return urlsplit(answer.json["ticket"]["track_url"]).path


def test_the_page_follows_the_ticket_and_says_when_it_is_nearly_its_turn(hall_app: HallApp) -> None:
    paths = [take(hall_app) for _ in range(6)]
    phone = hall_app.app.test_client()  # no token, no login
    state = phone.get(f"{paths[5]}/state").json
    assert state["number"] == "A006" and state["waiting_ahead"] == 5 and state["soon"] is False
    assert state["status_text"] == "等候中" and "即将到号" not in state["hint"]
    page = phone.get(paths[5])
    assert page.status_code == 200 and "A006" in page.text and "居民身份证核发" in page.text

    clerk = hall_app.staff("clerk1", window=1)
    clerk.post("/api/windows/1/call-next")
    clerk.post("/api/windows/1/call-next")
    state = phone.get(f"{paths[5]}/state").json
    assert state["waiting_ahead"] == 3 and state["soon"] is True and state["hint"] == "即将到号，请留意叫号"
    assert "即将到号" in phone.get(paths[5]).text

    called = phone.get(f"{paths[1]}/state").json
    assert called["status"] == "called" and called["waiting_ahead"] is None
    assert called["hint"] == "请到 1号窗口（一楼） 办理"
    answer = phone.get(f"{paths[5]}/state")
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.json["updated_at"].startswith("2026-11-30T09:00:00+08:00")  # the hall's local time


def test_the_ticket_answer_and_the_page_estimate_the_wait_from_the_day_pace(hall_app: HallApp) -> None:
    clerk = hall_app.staff("clerk1", window=4)  # id-card only
    kiosk = hall_app.kiosk()
    first = kiosk.post("/api/tickets", json={"service": "id-card"}).json["ticket"]
    assert first["estimated_wait_minutes"] is None  # nobody served yet today: not known
    for _ in range(2):
        kiosk.post("/api/tickets", json={"service": "id-card"})
    clerk.post("/api/windows/4/call-next")
    for _ in range(2):
        hall_app.clock.advance(minutes=6)
        clerk.post("/api/windows/4/call-next")  # 6 minutes a resident
    ticket = kiosk.post("/api/tickets", json={"service": "id-card"}).json["ticket"]
    assert (ticket["waiting_ahead"], ticket["estimated_wait_minutes"]) == (0, 6)
    state = hall_app.app.test_client().get(f"{urlsplit(ticket['track_url']).path}/state").json
    assert state["estimated_wait_minutes"] == 6


def test_a_transferred_ticket_keeps_its_page(hall_app: HallApp) -> None:
    path = take(hall_app)
    clerk = hall_app.staff("clerk1", window=1)
    clerk.post("/api/windows/1/call-next")
    assert clerk.post("/api/windows/1/transfer", json={"service": "pension"}).status_code == 200
    state = hall_app.app.test_client().get(f"{path}/state").json
    assert state["number"] == "A001" and state["status"] == "waiting" and state["service_name"] == "养老保险参保登记"


def test_yesterdays_ticket_says_it_has_expired(hall_app: HallApp) -> None:
    path = take(hall_app)
    hall_app.clock.advance(days=1)
    state = hall_app.app.test_client().get(f"{path}/state").json
    assert state["status_text"] == "已过期" and state["soon"] is False and "重新取号" in state["hint"]


def test_an_unknown_token_is_a_readable_404(hall_app: HallApp) -> None:
    take(hall_app)
    phone = hall_app.app.test_client()
    page = phone.get("/t/not-a-real-token")
    assert page.status_code == 404 and "没有找到这张号票" in page.text
    answer = phone.get("/t/not-a-real-token/state")
    assert answer.status_code == 404 and answer.json["error"]["code"] == "ticket_not_found"


def test_tokens_are_unguessable_and_the_page_carries_nothing_personal(hall_app: HallApp) -> None:
    paths = set()
    for _ in range(50):
        paths.add(take(hall_app))
        hall_app.clock.advance(seconds=10)  # a kiosk's pace: it may take 20 at once, then 6 a minute
    tokens = {path.removeprefix("/t/") for path in paths}
    assert len(tokens) == 50 and all(len(token) >= 16 for token in tokens)  # 96 random bits each
    state = hall_app.app.test_client().get(f"{next(iter(paths))}/state").json
    assert set(state) == {"hall", "number", "service_name", "status", "status_text", "waiting_ahead",
                          "estimated_wait_minutes", "soon", "window_name", "hint", "windows_text", "notice",
                          "issued_at", "updated_at", "refresh", "rating"}
    assert set(state["rating"]) == {"open", "level", "levels", "reasons", "poor"}  # nothing about the resident


def test_the_page_shows_the_halls_complaint_phone(tmp_path: Path, database_url: str, clock: ManualClock) -> None:
    """[hall] complaint_phone (投诉电话): on the page of a ticket and on the page of an unknown one, a tap calls it."""
    config = SMALL_HALL.replace('name = "测试便民服务中心"\n',
                                'name = "测试便民服务中心"\ncomplaint_phone = "0571-8888 1234"\n')
    halls: Iterator[HallApp] = open_hall_app(tmp_path, database_url, clock, config)
    for phone_hall in halls:
        phone = phone_hall.app.test_client()
        for page in (phone.get(take(phone_hall)), phone.get("/t/not-a-real-token")):
            assert '投诉电话：<a href="tel:0571-88881234">0571-8888 1234</a>' in page.text


def test_no_complaint_phone_when_the_hall_has_none(hall_app: HallApp) -> None:
    assert "投诉电话" not in hall_app.app.test_client().get(take(hall_app)).text
