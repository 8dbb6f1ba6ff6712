"""One call to every display in one pass.

python-engineio gives each client a queue and a writer greenlet, so a call sent to 200 displays is 200 queue
hand-offs, 200 greenlet switches, 200 websocket framings and 200 sends spaced out by all that: ~40 µs a display, and
the last of 200 displays heard of the call 8 ms after the first (docs/performance.md). A call is the same bytes for
every display, so here it is framed once and written straight to each display's socket, back to back.

Only where that cannot disturb the client's own stream: under gevent (one thread: nothing runs between our check and
our write), the websocket open, nothing queued before it, its writer not in the middle of a frame, and the socket's
send buffer nearly empty, so the whole frame is taken at once. Any other client gets the call through its queue as
before. A write the kernel takes only in part would leave a broken stream, so that client is disconnected: its
screen reconnects by itself and replays the recent calls from the snapshot.

With several server processes (server/cluster.py) a call is framed and written by each process to its own displays:
the process that made the call publishes it once on Redis, and every other process's ``SharedRooms`` hands it to
its own ``Fanout`` instead of python-socketio's queue-per-client path.
"""

from __future__ import annotations

import array
import fcntl
import logging
import socket
import struct
import termios
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import engineio.socket
import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet

from server.cluster import REDIS_OPTIONS

log = logging.getLogger(__name__)

#: a frame goes straight out only onto a socket with less than this many bytes still unsent
_QUIET_OUTQ = 16 * 1024


@dataclass
class FanoutCounts:
    """How the calls reached the displays: for /api/health and the tests."""

    direct: int = 0
    queued: int = 0
    dropped: int = 0

    def to_json(self) -> dict[str, int]:
        return {"direct": self.direct, "queued": self.queued, "dropped": self.dropped}


def remember_websockets() -> None:
    """Let each Engine.IO socket keep its websocket (python-engineio holds it only inside its handler), and know
    when its writer is in the middle of a send (waiting for the socket to take the rest of a frame)."""
    handler = engineio.socket.Socket._websocket_handler
    if getattr(handler, "hallq_remembers", False):
        return

    def _websocket_handler(self: Any, ws: Any) -> Any:
        send = ws.send

        def tracked_send(message: Any) -> Any:
            self.hallq_sending = True
            try:
                return send(message)
            finally:
                self.hallq_sending = False

        ws.send = tracked_send
        self.hallq_sending = False
        self.hallq_websocket = ws
        try:
            return handler(self, ws)
        finally:
            self.hallq_websocket = None

    _websocket_handler.hallq_remembers = True  # type: ignore[attr-defined]
    engineio.socket.Socket._websocket_handler = _websocket_handler


def text_frame(payload: bytes) -> bytes:
    """A final, unmasked websocket text frame (RFC 6455 5.2), as a server sends it."""
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size < 1 << 16:
        return struct.pack("!BBH", 0x81, 126, size) + payload
    return struct.pack("!BBQ", 0x81, 127, size) + payload


class Fanout:
    def __init__(self, server: Any, direct: bool):
        """``server``: the python-socketio server; ``direct``: write frames straight out (gevent only)."""
        self.server = server
        self.direct = direct
        self.counts = FanoutCounts()
        if direct:
            remember_websockets()

    def emit(self, event: str, data: Any, rooms: str | list[str]) -> None:
        """``socketio.emit(event, data, to=rooms)`` on the default namespace, one frame for every client, on this
        process and (through Redis) on the hall's others."""
        self.deliver(event, data, rooms)
        manager = self.server.manager
        if isinstance(manager, SharedRooms):
            manager.publish_elsewhere(event, data, rooms)

    def deliver(self, event: str, data: Any, rooms: str | list[str]) -> None:
        """To this process's clients in ``rooms``."""
        message = self.server.packet_class(sio_packet.EVENT, namespace="/", data=[event, data]).encode()
        fallback = eio_packet.Packet(eio_packet.MESSAGE, message)
        frame = text_frame(fallback.encode().encode()) if self.direct else b""
        sockets = self.server.eio.sockets
        for _sid, eio_sid in self.server.manager.get_participants("/", rooms):
            if self.direct and (client := sockets.get(eio_sid)) is not None and self._direct(client, frame):
                continue
            self.counts.queued += 1
            self.server._send_eio_packet(eio_sid, fallback)

    def _direct(self, client: Any, frame: bytes) -> bool:
        """`_write`, or — should a newer python-engineio no longer look as expected — every call through the
        clients' queues from now on: slower, never lost."""
        try:
            return self._write(client, frame)
        except Exception:
            log.exception("direct fan-out unavailable; calls go through each display's queue")
            self.direct = False
            return False

    def _write(self, client: Any, frame: bytes) -> bool:
        """Write the frame straight to the client's socket if that is safe; False: send it the usual way."""
        ws = getattr(client, "hallq_websocket", None)
        if (ws is None or client.hallq_sending or not client.upgraded or client.upgrading or client.closed
                or client.queue.qsize() or not ws.ws.connected):
            return False
        raw = ws.ws.sock._sock  # the OS socket under gevent's: a non-blocking send that never yields
        try:
            if _unsent(raw) > _QUIET_OUTQ:
                return False
            sent = raw.send(frame)
        except BlockingIOError:
            return False
        except OSError:  # the connection is going away; engineio notices and closes it
            return False
        if sent == len(frame):
            self.counts.direct += 1
            return True
        log.warning("display connection %s took %d of %d bytes of a call: reconnecting it", client.sid, sent,
                    len(frame))
        self.counts.dropped += 1
        raw.shutdown(socket.SHUT_RDWR)  # its screen reconnects and replays the call from the snapshot
        return True


#: TIOCOUTQ's answer, read in place: 0.4 µs a display instead of 1.6 with a new bytes object each time (one
#: thread under gevent: nothing runs between the ioctl and the read)
_OUTQ = array.array("i", [0])


def _unsent(raw: socket.socket) -> int:
    fcntl.ioctl(raw.fileno(), termios.TIOCOUTQ, _OUTQ, True)
    return _OUTQ[0]


class SharedRooms(socketio.RedisManager):
    """Flask-SocketIO's Redis client manager, with the events in ``fanned_out`` that other processes publish
    delivered by this process's ``Fanout`` (and told to ``heard``: the announcer learns the call's audio)."""

    def __init__(self, url: str, channel: str, fanned_out: frozenset[str]):
        # a Redis that does not answer costs a push at most the connect timeout, not the OS's minutes
        super().__init__(url, channel=channel, redis_options=dict(REDIS_OPTIONS))
        self.fanned_out = fanned_out
        self.fanout: Fanout | None = None
        self.heard: list[Callable[[str, Any], None]] = []

    def publish_elsewhere(self, event: str, data: Any, rooms: str | list[str]) -> None:
        """Hand the event to the hall's other processes only (this one delivered it already)."""
        self._publish({"method": "emit", "event": event, "data": [data], "binary": False, "namespace": "/",
                       "room": rooms, "skip_sid": None, "callback": None, "host_id": self.host_id})

    def _handle_emit(self, message: dict[str, Any]) -> None:
        event, data = message.get("event"), message.get("data")
        if (self.fanout is None or event not in self.fanned_out or message.get("host_id") == self.host_id
                or message.get("callback") or message.get("binary") or not isinstance(data, list) or len(data) != 1):
            super()._handle_emit(message)
            return
        for listener in self.heard:
            try:
                listener(event, data[0])
            except Exception:
                log.exception("listener of %s from another process failed", event)
        self.fanout.deliver(event, data[0], message.get("room") or [])
