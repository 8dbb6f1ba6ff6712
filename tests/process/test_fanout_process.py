"""The call fan-out of a real `hallq run` (gevent): calls written straight to the displays' sockets arrive whole and in
order, and a display that stopped reading gets them through its queue, its stream intact, when it reads again."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import socketio
from wsproto.connection import Connection, ConnectionType
from wsproto.events import TextMessage

from tests.live import LiveHall
from tests.wire_display import WireDisplay

pytestmark = pytest.mark.slow

CALLS = 12


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveHall]:
    hall = LiveHall(tmp_path / "instance").prepare().start()
    yield hall
    hall.stop()


def test_calls_reach_every_display_whole_and_in_order(live: LiveHall) -> None:
    numbers = [live.kiosk().post(f"{live.url}/api/tickets", json={"service": "hukou-id"}).json()["ticket"]["number"]
               for _ in range(CALLS)]
    heard: list[str] = []
    all_heard = threading.Event()
    shown: list[str | None] = []  # window 1's number in each snapshot
    snapshot = threading.Condition()

    def on_called(data: dict[str, Any]) -> None:
        heard.append(data["ticket"]["number"])
        if len(heard) == CALLS:
            all_heard.set()

    def on_snapshot(data: dict[str, Any]) -> None:
        with snapshot:
            shown.append(next((w["current"] or {}).get("number") for w in data["windows"] if w["id"] == 1))
            snapshot.notify_all()

    reading = socketio.Client(reconnection=False)
    reading.on("called", on_called)
    reading.on("snapshot", on_snapshot)
    reading.connect(live.url, auth={"token": live.display_token}, transports=["websocket"], wait_timeout=10)
    stalled = WireDisplay(live.url, live.display_token, lambda data, stamp: None, receive_buffer=2048)
    stalled.connect()
    assert stalled.sock is not None
    clerk = live.staff("clerk1", window=1)
    try:
        for number in numbers:  # each call is followed by a snapshot of several KB: the stalled display backs up
            clerk.post(f"{live.url}/api/windows/1/call-next").raise_for_status()
            with snapshot:
                assert snapshot.wait_for(lambda number=number: number in shown, timeout=10)
        assert all_heard.wait(10)
        assert heard == numbers
        counts = live.staff("admin").get(f"{live.url}/api/health").json()["realtime"]
        assert counts["direct"] >= CALLS  # the reading display, straight onto its socket
        assert counts["queued"] >= 1 and counts["dropped"] == 0  # the stalled one, once backed up
        stalled.sock.setblocking(True)
        stalled.sock.settimeout(10)
        assert _called_numbers(stalled.sock, stalled._buffer, CALLS) == numbers
    finally:
        reading.disconnect()
        stalled.close()


def _called_numbers(sock: Any, already: bytes, count: int) -> list[str]:
    """Read the stalled display's stream as a websocket client does (wsproto checks every frame)."""
    client = Connection(ConnectionType.CLIENT)
    client.receive_data(already)
    numbers: list[str] = []
    text = ""
    while len(numbers) < count:
        for event in client.events():
            if isinstance(event, TextMessage):
                text += event.data
                if event.message_finished:
                    if text.startswith('42["called"'):
                        numbers.append(text.split('"number":"', 1)[1].split('"', 1)[0])
                    text = ""
        if len(numbers) < count:
            client.receive_data(sock.recv(65536) or None)
    return numbers
