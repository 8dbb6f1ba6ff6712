"""The real `hallq` process: CLI, a display over Socket.IO, and a SIGKILL in the middle of a rush."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio

from tests.live import LiveHall, hallq

pytestmark = pytest.mark.slow


def test_cli_init_is_idempotent_and_device_add_prints_only_the_token(tmp_path: Path) -> None:
    first = hallq("init", instance=tmp_path)
    assert "城关镇便民服务中心" in first and hallq("init", instance=tmp_path) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    token = hallq("device", "add", "tv-1", "--kind", "display", instance=tmp_path)
    assert token.count("\n") == 1 and len(token.strip()) >= 40 and " " not in token.strip()
    with pytest.raises(RuntimeError, match="至少需要 8 个字符"):
        hallq("user", "add", "x", "--role", "clerk", "--password", "short", instance=tmp_path)


def test_a_display_receives_the_call(live: LiveHall) -> None:
    events: dict[str, list[Any]] = {"snapshot": [], "called": []}
    arrived = {name: threading.Event() for name in events}
    display = socketio.Client(reconnection=False)
    for name in events:
        display.on(name, lambda data, name=name: (events[name].append(data), arrived[name].set()))
    display.connect(live.url, auth={"token": live.display_token}, transports=["websocket"], wait_timeout=10)
    try:
        assert arrived["snapshot"].wait(10)
        ticket = live.kiosk().post(f"{live.url}/api/tickets", json={"service": "hukou-id"}).json()["ticket"]
        live.staff("clerk1", window=1).post(f"{live.url}/api/windows/1/call-next").raise_for_status()
        assert arrived["called"].wait(10)
        called = events["called"][0]
        assert (called["ticket"]["id"], called["window_name"], called["text"]) == (
            ticket["id"], "1号窗口", f"请{ticket['number']}号到1号窗口办理")
    finally:
        display.disconnect()


def test_a_display_without_a_token_is_refused(live: LiveHall) -> None:
    stranger = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        stranger.connect(live.url, auth={"token": "forged"}, transports=["websocket"], wait_timeout=10)


def test_logout_elsewhere_closes_the_staff_socket_on_the_real_server(live: LiveHall) -> None:
    """Issue 13: under gevent, a logout in one browser closes the Socket.IO connection of the account's other one."""
    desk = live.staff("clerk1")
    closed = threading.Event()
    socket = socketio.Client(reconnection=False)
    socket.on("disconnect", lambda *reason: closed.set())
    socket.connect(live.url, headers={"Cookie": f"session={desk.cookies['session']}"}, transports=["websocket"],
                   wait_timeout=10)
    live.staff("clerk1").post(f"{live.url}/api/auth/logout").raise_for_status()
    assert closed.wait(10)
    assert desk.get(f"{live.url}/api/auth/me").status_code == 401


def test_sigkill_mid_rush_loses_no_answered_ticket_and_reuses_no_number(live: LiveHall) -> None:
    services = ["hukou-id", "dibao", "pension-pay", "business"]
    answered: list[dict[str, Any]] = []
    enough = threading.Event()

    def kiosk(index: int) -> None:
        session = live.kiosk()
        n = 0
        while True:
            try:
                reply = session.post(f"{live.url}/api/tickets", json={"service": services[(index + n) % 4]}, timeout=5)
            except requests.RequestException:
                return  # the server is gone
            if reply.status_code == 201:
                answered.append(reply.json()["ticket"])
                if len(answered) >= 150:
                    enough.set()
            n += 1

    workers = [threading.Thread(target=kiosk, args=(i,)) for i in range(8)]
    for worker in workers:
        worker.start()
    assert enough.wait(60)
    live.stop(signal.SIGKILL)  # mid-load: the kiosks are still sending
    for worker in workers:
        worker.join(timeout=30)

    numbers = [t["number"] for t in answered]
    assert len(numbers) == len(set(numbers))
    live.start()
    reader = live.kiosk()
    for ticket in answered:
        stored = reader.get(f"{live.url}/api/tickets/{ticket['id']}").json()["ticket"]
        assert stored["number"] == ticket["number"]
    for service in services:
        taken = [int(t["number"][1:]) for t in answered if t["service"] == service]
        fresh = reader.post(f"{live.url}/api/tickets", json={"service": service}).json()["ticket"]
        assert int(fresh["number"][1:]) > max(taken, default=0)



def test_a_client_sending_events_named_connect_or_disconnect_changes_nothing_and_logs_no_token(
        tmp_path: Path) -> None:
    """Issue 14 (11): such an event reached the connect handler, whose refusal gevent printed with the event's
    arguments (a token); `disconnect` dropped the socket from those closed when its token is revoked."""
    hall = LiveHall(tmp_path / "instance").prepare().start()
    token = hall.kiosk_token
    kiosk = socketio.Client(reconnection=False)
    closed = threading.Event()
    kiosk.on("disconnect", lambda *_: closed.set())
    try:
        kiosk.connect(hall.url, auth={"token": token}, transports=["websocket"], wait_timeout=10)
        kiosk.emit("connect", {"token": token})
        kiosk.emit("connect", (token, {"token": token}))  # two arguments: the second taken as `auth`
        kiosk.emit("disconnect", token)
        log = hall.instance / "server.log"
        deadline = time.monotonic() + 10
        while log.read_text().count("sent an event named") < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        hall.staff("admin").post(f"{hall.url}/api/devices/kiosk-1/revoke").raise_for_status()
        assert closed.wait(10), "the revoked kiosk's socket was left open"
    finally:
        kiosk.disconnect()
        hall.stop()
    text = log.read_text()
    assert "Traceback" not in text and "failed with" not in text
    assert [line.endswith(": ignored") for line in text.splitlines() if "sent an event named" in line] == [True] * 3
    assert not [token[i:i + 6] for i in range(len(token) - 5) if token[i:i + 6] in text]
