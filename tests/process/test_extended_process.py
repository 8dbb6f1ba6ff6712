"""The real server, the real clock: closing time passes while a resident waits, and 延时服务 starts by itself."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import SMALL_HALL
from tests.live import LiveHall
from tests.process.test_printing_process import eventually

pytestmark = pytest.mark.slow


def closing_soon() -> str:
    """A session from midnight to a closing time 10-70 s from now (whole minutes: that is what config takes)."""
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    end = (now + timedelta(seconds=70)).replace(second=0, microsecond=0)
    if end.date() != now.date():  # closing at midnight is also the next business day: a different story
        pytest.skip("run within two minutes of midnight in the hall's time zone")
    closing = f"{end:%H:%M}"
    return SMALL_HALL + f"""
[calendar]
[[calendar.sessions]]
name = "全天"
start = "00:00"
end = "{closing}"
days = [1, 2, 3, 4, 5, 6, 7]
"""


def test_closing_time_passes_while_a_resident_waits(tmp_path: Path) -> None:
    config = tmp_path / "hall.toml"
    config.write_text(closing_soon(), encoding="utf-8")
    hall = LiveHall(tmp_path / "instance", config=config).prepare().start()
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
