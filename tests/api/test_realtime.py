"""Socket.IO: who may connect, the snapshot on (re)connect, and the `called` push."""

from __future__ import annotations

from typing import Any

import pytest
from flask_socketio import SocketIO, SocketIOTestClient
from socketio import packet

from tests.api.conftest import HallApp


def socketio_of(hall_app: HallApp) -> SocketIO:
    return hall_app.app.extensions["socketio"]


def received(client: SocketIOTestClient, name: str) -> list[Any]:
    return [message["args"][0] for message in client.get_received() if message["name"] == name]


def test_display_gets_a_snapshot_on_connect(hall_app: HallApp) -> None:
    hall_app.kiosk().post("/api/tickets", json={"service": "id-card"})
    display = socketio_of(hall_app).test_client(hall_app.app, auth={"token": hall_app.display_token})
    assert display.is_connected()
    snapshot = received(display, "snapshot")[-1]
    assert snapshot["hall"]["name"] == "测试便民服务中心"
    assert {s["code"]: s["waiting"] for s in snapshot["services"]}["id-card"] == 1
    display.disconnect()


def test_reconnecting_gets_the_current_state(hall_app: HallApp) -> None:
    sio = socketio_of(hall_app)
    display = sio.test_client(hall_app.app, auth={"token": hall_app.display_token})
    display.get_received()
    display.disconnect()
    hall_app.kiosk().post("/api/tickets", json={"service": "pension"})  # happens while the display is away
    display.connect(auth={"token": hall_app.display_token})
    snapshot = received(display, "snapshot")[-1]
    assert {s["code"]: s["waiting"] for s in snapshot["services"]}["pension"] == 1
    display.disconnect()


def test_connections_without_a_valid_identity_are_refused(hall_app: HallApp) -> None:
    sio = socketio_of(hall_app)
    assert not sio.test_client(hall_app.app).is_connected()
    assert not sio.test_client(hall_app.app, auth={"token": "forged"}).is_connected()
    assert not sio.test_client(hall_app.app, auth="just a string").is_connected()


def test_a_refused_connection_is_told_why_as_the_api_would_say_it(hall_app: HallApp,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The one error map (server.web.STATUS) answers the sockets too: the API's error body and its status."""
    sio = socketio_of(hall_app)
    client = sio.test_client(hall_app.app)
    sent: list[Any] = []
    forward = sio.server._send_packet
    monkeypatch.setattr(sio.server, "_send_packet", lambda sid, pkt: (sent.append(pkt), forward(sid, pkt)))
    client.connect(auth={"token": "forged"})
    assert not client.is_connected()
    assert [pkt.data for pkt in sent if pkt.packet_type == packet.CONNECT_ERROR] == [{
        "message": "unauthorized", "data": {"status": 401, "error": {
            "code": "unauthorized", "message": "请先登录或提供设备令牌"}}}]


def test_a_logged_in_clerk_and_a_kiosk_connect(hall_app: HallApp) -> None:
    sio = socketio_of(hall_app)
    clerk = sio.test_client(hall_app.app, flask_test_client=hall_app.staff("clerk1"))
    kiosk = sio.test_client(hall_app.app, auth={"token": hall_app.kiosk_token})
    assert clerk.is_connected() and kiosk.is_connected()
    clerk.disconnect()
    kiosk.disconnect()


def test_every_call_and_recall_is_pushed_with_its_announcement(hall_app: HallApp) -> None:
    display = socketio_of(hall_app).test_client(hall_app.app, auth={"token": hall_app.display_token})
    display.get_received()
    hall_app.kiosk().post("/api/tickets", json={"service": "id-card"})
    clerk = hall_app.staff("clerk1", window=1)
    clerk.post("/api/windows/1/call-next")
    clerk.post("/api/windows/1/recall")
    called = received(display, "called")
    assert [c["recall"] for c in called] == [False, True]
    first = called[0]
    assert (first["ticket"]["number"], first["window"], first["window_name"], first["text"]) == (
        "A001", 1, "1号窗口", "请A001号到1号窗口办理")
    display.disconnect()
