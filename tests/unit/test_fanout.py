"""The direct fan-out's pieces on real sockets: its frames as a websocket client parses them, and what it does when
a display's socket cannot take a whole frame."""

from __future__ import annotations

import queue
import socket
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from wsproto.connection import Connection, ConnectionType
from wsproto.events import TextMessage

from server.fanout import Fanout, text_frame


@pytest.mark.parametrize("size", [0, 1, 125, 126, 4000, 65535, 65536, 200_000])
def test_frames_are_what_a_websocket_client_reads(size: int) -> None:
    text = ("号" * size)[:size] if size % 2 else "a" * size
    client = Connection(ConnectionType.CLIENT)
    client.receive_data(text_frame(text.encode()))
    events = list(client.events())
    assert [type(e) for e in events] == [TextMessage] and events[0].data == text and events[0].message_finished


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A TCP connection on loopback: (the server's end, non-blocking, small buffers; the display's end)."""
    listener = socket.create_server(("127.0.0.1", 0))
    display = socket.socket()
    display.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    display.connect(listener.getsockname())
    server, _ = listener.accept()
    listener.close()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
    server.setblocking(False)
    yield server, display
    server.close()
    display.close()


def engineio_client(raw: socket.socket, **state: Any) -> SimpleNamespace:
    """The attributes of a python-engineio socket that the fan-out reads, over a real OS socket."""
    websocket = SimpleNamespace(ws=SimpleNamespace(sock=SimpleNamespace(_sock=raw), connected=True))
    return SimpleNamespace(**{"sid": "display", "hallq_websocket": websocket, "hallq_sending": False,
                              "upgraded": True, "upgrading": False, "closed": False, "queue": queue.Queue(), **state})


def fanout() -> Fanout:
    return Fanout(server=None, direct=False)  # _write needs no server; direct=False leaves engineio untouched


def test_a_frame_goes_straight_out_onto_an_idle_socket(pair: tuple[socket.socket, socket.socket]) -> None:
    server, display = pair
    sender = fanout()
    frame = text_frame(b'42["called",{"number":"A012"}]')
    assert sender._write(engineio_client(server), frame) is True
    assert display.recv(1000) == frame and sender.counts.direct == 1


@pytest.mark.parametrize("state", [{"hallq_sending": True}, {"upgraded": False}, {"upgrading": True},
                                   {"closed": True}, {"hallq_websocket": None}])
def test_a_busy_or_unready_client_gets_it_through_its_queue(pair: tuple[socket.socket, socket.socket],
                                                            state: dict[str, Any]) -> None:
    server, display = pair
    sender = fanout()
    assert sender._write(engineio_client(server, **state), text_frame(b"42[]")) is False
    display.setblocking(False)
    with pytest.raises(BlockingIOError):
        display.recv(10)  # nothing was written


def test_nothing_is_written_behind_something_queued(pair: tuple[socket.socket, socket.socket]) -> None:
    server, _ = pair
    waiting: queue.Queue[str] = queue.Queue()
    waiting.put("an earlier packet")
    assert fanout()._write(engineio_client(server, queue=waiting), text_frame(b"42[]")) is False


def test_a_backed_up_display_gets_it_through_its_queue(pair: tuple[socket.socket, socket.socket]) -> None:
    server, _ = pair
    with pytest.raises(BlockingIOError):
        while True:  # the display stopped reading: fill its window and the server's buffer
            server.send(b"x" * 4096)
    sender = fanout()
    assert sender._write(engineio_client(server), text_frame(b"42[]")) is False
    assert sender.counts.direct == 0 and sender.counts.dropped == 0


def test_a_frame_taken_in_part_disconnects_the_display(pair: tuple[socket.socket, socket.socket]) -> None:
    server, display = pair
    sender = fanout()
    frame = text_frame(b"x" * 2_000_000)  # more than the buffers hold: the kernel takes a part
    assert sender._write(engineio_client(server), frame) is True
    assert sender.counts.dropped == 1 and sender.counts.direct == 0
    received = b""
    while chunk := display.recv(65536):  # what arrived, then the end of the connection
        received += chunk
    assert 0 < len(received) < len(frame) and frame.startswith(received)


def test_a_client_not_shaped_as_expected_turns_the_direct_path_off() -> None:
    """Should python-engineio's sockets change, calls still go out, through the queues."""
    sender = fanout()
    sender.direct = True
    assert sender._direct(SimpleNamespace(hallq_websocket=SimpleNamespace()), text_frame(b"42[]")) is False
    assert sender.direct is False
