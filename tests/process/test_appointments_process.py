"""The real server, the real clock: an appointment more than its grace period late is given up by the server by
itself — nobody presses anything — and the guide desk hears of it over Socket.IO, without the resident's name."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
import socketio

from tests.e2e.test_guide_browser import NAME, PHONE, book, now_in_hall, round_the_clock
from tests.live import LiveHall
from tests.process.test_printing_process import eventually

pytestmark = pytest.mark.slow


def test_the_server_forfeits_a_late_appointment_by_itself_and_tells_the_desk(tmp_path: Path) -> None:
    live = LiveHall(tmp_path / "instance", config=round_the_clock(tmp_path)).prepare().start()
    desk = socketio.Client(reconnection=False)
    try:
        guide = live.staff("guide")
        hints: list[dict[str, object]] = []
        heard = threading.Event()
        desk.on("guide", lambda data: (hints.append(data), heard.set()))
        desk.connect(live.url, headers={"Cookie": "; ".join(f"{c.name}={c.value}" for c in guide.cookies)},
                     transports=["websocket"], wait_timeout=10)
        day = (now_in_hall() - timedelta(days=2)).date()
        book(live, day, 10, PHONE)  # booked in the past, its grace period long over: due at the next tick
        listed = eventually(lambda: (rows := guide.get(f"{live.url}/api/appointments?date={day}").json()[
            "appointments"]) and rows[0]["status"] == "forfeited" and rows, "the forfeit by the server's tick",
            timeout=20)
        assert listed[0]["name"] == NAME  # the desk still sees whose it was
        assert heard.wait(10), "the guide desk was not told"
        assert hints[0]["event"] == "appointment_forfeited" and hints[0]["date"] == day.isoformat()
        assert NAME not in str(hints) and PHONE not in str(hints)
        log = (live.instance / "server.log").read_text(encoding="utf-8")
        assert NAME not in log and PHONE not in log
    finally:
        if desk.connected:
            desk.disconnect()
        live.stop()
