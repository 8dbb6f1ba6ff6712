"""The real server, the real clock: a session's end passes while residents wait, and 延时服务 starts by itself, at
closing time and at the midday break alike."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import SMALL_HALL
from tests.live import LiveHall
from tests.process.test_printing_process import eventually

pytestmark = pytest.mark.slow


def ending_soon(gap: timedelta = timedelta(0)) -> datetime:
    """A session end 10-70 s from now (whole minutes: that is what config takes), with ``gap`` after it still
    within today: a session ending at midnight ends on the next business day, a different story."""
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    end = (now + timedelta(seconds=70)).replace(second=0, microsecond=0)
    if (end + gap).date() != now.date() or end.date() != now.date():
        pytest.skip("run at least two minutes (plus the break) before midnight in the hall's time zone")
    return end


def hall_with(tmp_path: Path, *sessions: tuple[str, str, str]) -> LiveHall:
    """The small hall, open every day in these sessions (name, start, end), served by a real `hallq run`."""
    config = tmp_path / "hall.toml"
    config.write_text(SMALL_HALL + "\n[calendar]\n" + "".join(
        f'\n[[calendar.sessions]]\nname = "{name}"\nstart = "{start}"\nend = "{end}"\ndays = [1, 2, 3, 4, 5, 6, 7]\n'
        for name, start, end in sessions), encoding="utf-8")
    return LiveHall(tmp_path / "instance", config=config).prepare().start()


def test_closing_time_passes_while_a_resident_waits(tmp_path: Path) -> None:
    hall = hall_with(tmp_path, ("全天", "00:00", f"{ending_soon():%H:%M}"))
    try:
        guide = hall.staff("guide")
        assert guide.get(f"{hall.url}/api/hall/status").json()["state"] == "open"
        ticket = hall.kiosk().post(f"{hall.url}/api/tickets", json={"service": "id-card"}, timeout=10).json()
        assert ticket["ticket"]["number"] == "A001"

        extended = eventually(lambda: (s := guide.get(f"{hall.url}/api/hall/status").json())["state"] == "extended"
                              and s, "延时服务 after closing time", timeout=90)
        assert extended["extended"]["waiting"] == 1 and extended["accepting"] is False
        refused = hall.kiosk().post(f"{hall.url}/api/tickets", json={"service": "id-card"}, timeout=10)
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "hall_closed"

        clerk = hall.staff("clerk1", window=1)
        assert clerk.post(f"{hall.url}/api/windows/1/sign-out").status_code == 409  # A001 still waits for 1号
        clerk.post(f"{hall.url}/api/windows/1/call-next").raise_for_status()
        clerk.post(f"{hall.url}/api/windows/1/finish").raise_for_status()
        eventually(lambda: guide.get(f"{hall.url}/api/hall/status").json()["state"] == "closed",
                   "the end of 延时服务 once A001 is served", timeout=30)
        day = extended["business_date"]
        figures = hall.staff("admin").get(f"{hall.url}/api/extended-service?from={day}&to={day}").json()
        assert figures["days"] == 1 and figures["served"] == 1 and figures["records"][0]["clerks"] == ["clerk1"]
    finally:
        hall.stop()


def test_the_midday_break_passes_while_two_residents_wait(tmp_path: Path) -> None:
    """Seed 7.2.1: nobody is told 「下午再来」. 上午 ends within the minute, 下午 opens half an hour later."""
    noon = ending_soon(timedelta(minutes=31))
    afternoon = noon + timedelta(minutes=30)
    hall = hall_with(tmp_path, ("上午", "00:00", f"{noon:%H:%M}"), ("下午", f"{afternoon:%H:%M}", "24:00"))
    try:
        guide, kiosk = hall.staff("guide"), hall.kiosk()
        status = f"{hall.url}/api/hall/status"
        for service, number in (("hukou", "B001"), ("id-card", "A001")):  # B001 first, though 1号 prefers id-card
            answer = kiosk.post(f"{hall.url}/api/tickets", json={"service": service}, timeout=10).json()
            assert answer["ticket"]["number"] == number
        clerk = hall.staff("clerk1", window=1)

        extended = eventually(lambda: (s := guide.get(status).json())["state"] == "extended" and s,
                              "延时服务 at the end of 上午", timeout=90)
        assert extended["extended"]["session"] == "上午" and extended["extended"]["waiting"] == 2
        assert extended["extended"]["started_at"] == noon.isoformat()
        refused = kiosk.post(f"{hall.url}/api/tickets", json={"service": "id-card"}, timeout=10)
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "hall_closed"  # the break's rule
        for leave in ("sign-out", "pause"):
            answer = clerk.post(f"{hall.url}/api/windows/1/{leave}")
            assert answer.status_code == 409 and answer.json()["error"]["code"] == "extended_service"
            assert "还有 2 人等候" in answer.json()["error"]["message"]
        served = []
        for _ in range(2):
            served.append(clerk.post(f"{hall.url}/api/windows/1/call-next").json()["ticket"]["number"])
            clerk.post(f"{hall.url}/api/windows/1/finish").raise_for_status()
        assert served == ["B001", "A001"]  # strictly by arrival

        closed = eventually(lambda: (s := guide.get(status).json())["state"] == "closed" and s,
                            "the hall closed for the break once both are served", timeout=30)
        assert closed["next_open"] == afternoon.isoformat() and closed["next_open_text"] == f"今天 {afternoon:%H:%M}"
        assert clerk.post(f"{hall.url}/api/windows/1/sign-out").status_code == 200  # nobody left waiting
        day = closed["business_date"]
        figures = hall.staff("admin").get(f"{hall.url}/api/extended-service?from={day}&to={day}").json()
        [record] = figures["records"]
        assert (record["session"], record["started_at"], record["served"], record["clerks"]) == (
            "上午", noon.isoformat(), 2, ["clerk1"])
        assert figures["text"] == "延时服务 1 天 1 次，服务群众 2 件"
    finally:
        hall.stop()
