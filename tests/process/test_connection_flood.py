"""Issue 14, finding 2: connections that never finish must not starve the kiosk and its printer of descriptors.

The real server runs with a file limit of 256 (as the attacker found it) and connection deadlines of 1 s
(HALLQ_CONNECTION_TIMEOUT), while waves of 500 connections that never finish arrive from three addresses on the
hall's Wi-Fi (127.0.0.2-4 here): half upgrade to a websocket and never read, half send a partial request.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.api.test_printing import printing_hall
from tests.live import LiveHall
from tests.printing.fake_printer import FakePrinter
from tests.process.test_printing_process import eventually, printed_numbers
from tests.wire_display import WireDisplay

pytestmark = pytest.mark.slow

FILE_LIMIT = 256
FLOOD = 500
WAVES = 3
ATTACKERS = [f"127.0.0.{n}" for n in range(2, 5)]
UPGRADE = (b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
           b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
PARTIAL = b"POST /api/tickets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"


def open_flood(port: int) -> list[socket.socket]:
    """Up to FLOOD connections, alternately a websocket upgrade and a partial request, none of which will read;
    fewer if the server stops accepting (it is saturated: the flood has done its work)."""
    flood = []
    for i in range(FLOOD):
        try:
            connection = socket.create_connection(("127.0.0.1", port), timeout=2,
                                                  source_address=(ATTACKERS[i % len(ATTACKERS)], 0))
        except TimeoutError:
            break
        flood.append(connection)
        with contextlib.suppress(OSError):  # closed at once when over the cap
            connection.sendall(UPGRADE if i % 2 else PARTIAL)
    return flood


def wait_closed_by_server(flood: list[socket.socket], timeout: float = 15.0) -> None:
    """Read every connection to its end: the server must have closed each one (drained, then end of stream)."""
    with selectors.DefaultSelector() as selector:
        for connection in flood:
            connection.setblocking(False)
            selector.register(connection, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while selector.get_map() and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=0.5):
                try:
                    ended = not key.fileobj.recv(65536)  # type: ignore[union-attr]
                except ConnectionResetError:
                    ended = True
                if ended:
                    selector.unregister(key.fileobj)
        assert not selector.get_map(), f"{len(selector.get_map())} of {len(flood)} never closed by the server"


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[tuple[LiveHall, FakePrinter]]:
    with FakePrinter() as printer:
        config = tmp_path / "hall.toml"
        config.write_text(printing_hall(printer.port, timeout=3.0), encoding="utf-8")
        live = LiveHall(tmp_path / "instance", config=config).prepare()
        live.command = ["prlimit", f"--nofile={FILE_LIMIT}:{FILE_LIMIT}", *live.command]  # exec: same pid
        live.environ["HALLQ_CONNECTION_TIMEOUT"] = "1"
        live.start()
        try:
            yield live, printer
        finally:
            live.stop()


def test_the_kiosk_issues_and_prints_through_waves_of_connections_that_never_finish(
        hall: tuple[LiveHall, FakePrinter]) -> None:
    live, printer = hall
    assert live.process is not None
    issued: list[str] = []
    for _ in range(WAVES):
        flood = open_flood(live.port)
        try:
            with live.kiosk() as kiosk:  # a new connection, as after the kiosk's keep-alive one was closed
                answer = kiosk.post(f"{live.url}/api/tickets", json={"service": "id-card"}, timeout=5)
            assert answer.status_code == 201, answer.text
            issued.append(answer.json()["ticket"]["number"])
            eventually(lambda: printed_numbers(printer) == issued, f"ticket {issued[-1]} printed")
            wait_closed_by_server(flood)
        finally:
            for connection in flood:
                connection.close()
    descriptors = len(os.listdir(f"/proc/{live.process.pid}/fd"))
    assert descriptors < FILE_LIMIT // 2, f"{descriptors} descriptors still open after the waves"
    assert requests.get(f"{live.url}/api/openapi.json", timeout=5).ok


def test_a_signed_in_screen_that_stops_reading_and_answering_pings_is_closed(tmp_path: Path) -> None:
    """Engine.IO pings every 10 s and gives up 10 s later; its close must then free the socket at once (before issue
    14 the session ended but the connection stayed open for ever; then it waited the keep-alive deadline too)."""
    live = LiveHall(tmp_path / "instance").prepare().start()
    try:
        display = WireDisplay(live.url, live.display_token, lambda data, stamp: None, receive_buffer=2048)
        display.connect()  # signed in with its token; from now on it reads nothing and answers no ping
        assert display.sock is not None
        wait_closed_by_server([display.sock], timeout=35)
    finally:
        live.stop()
