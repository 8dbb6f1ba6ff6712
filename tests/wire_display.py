"""A display as the network sees it: a bare Socket.IO-over-websocket client that notes when each `called` event
reached its socket, by the kernel's receive timestamp (SO_TIMESTAMPNS).

Two hundred python-socketio clients in one benchmark process take turns on one core, so the 200th of them
reads its event only after the other 199 have parsed theirs; that queueing belongs to the load generator, not
to the server. In a hall every display is its own machine. The kernel stamps each packet when it arrives, so
the stamp is what a display on its own machine would see, whatever the load generator is busy with.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

_TIMESTAMP = struct.Struct("@qq")  # struct timespec on 64-bit Linux
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux's value; Python does not export the name


def _masked_frame(text: str) -> bytes:
    """A client → server text frame (clients must mask)."""
    payload = text.encode()
    mask = os.urandom(4)
    head = bytes([0x81])
    size = len(payload)
    if size < 126:
        head += bytes([0x80 | size])
    elif size < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", size)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", size)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class WireDisplay:
    """One display connection; call `connect()` (blocking), then feed `on_readable()` from an event loop."""

    def __init__(self, url: str, token: str, on_called: Callable[[dict[str, Any], int], None],
                 receive_buffer: int | None = None, source: str = ""):
        """``receive_buffer``: a small SO_RCVBUF makes a display that stops reading back up the server quickly;
        ``source``: the local address to connect from (each TV of a hall has its own, 127.0.0.x here)."""
        self.url = urlsplit(url)
        self.token = token
        self.on_called = on_called
        self.receive_buffer = receive_buffer
        self.source = source
        self.sock: socket.socket | None = None
        self._buffer = b""
        self._stamp = 0

    def connect(self, timeout: float = 10.0) -> None:
        sock = socket.socket()
        if self.receive_buffer is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.receive_buffer)  # before connect: the window
        sock.settimeout(timeout)
        if self.source:
            sock.bind((self.source, 0))
        sock.connect((self.url.hostname, self.url.port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {self.url.netloc}\r\n"
                      f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        self.sock = sock
        while b"\r\n\r\n" not in self._buffer:
            self._read()
        head, _, self._buffer = self._buffer.partition(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"websocket upgrade refused: {head[:80]!r}")
        self._expect("0")  # engine.io OPEN
        sock.sendall(_masked_frame("40" + json.dumps({"token": self.token})))
        self._expect("40")  # socket.io CONNECT accepted
        sock.setblocking(False)

    def _expect(self, prefix: str) -> None:
        """Read until a message starting with ``prefix`` (the server may send events before its CONNECT reply)."""
        while True:
            while (message := self._next_message()) is None:
                self._read()
            if message.startswith("44"):
                raise ConnectionError(f"connection refused: {message[:80]!r}")
            if message.startswith(prefix):
                return
            self._handle(message)

    def _read(self) -> bool:
        """Read what the socket has; False when the server closed it."""
        assert self.sock is not None
        data, ancillary, _flags, _address = self.sock.recvmsg(65536, socket.CMSG_SPACE(_TIMESTAMP.size))
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                seconds, nanoseconds = _TIMESTAMP.unpack(value[: _TIMESTAMP.size])
                self._stamp = seconds * 1_000_000_000 + nanoseconds
        self._buffer += data
        return bool(data)

    def _next_message(self) -> str | None:
        """The next complete text frame in the buffer (server frames are unmasked and unfragmented here)."""
        buffer = self._buffer
        if len(buffer) < 2:
            return None
        size, start = buffer[1] & 0x7F, 2
        if size == 126:
            if len(buffer) < 4:
                return None
            size, start = struct.unpack("!H", buffer[2:4])[0], 4
        elif size == 127:
            if len(buffer) < 10:
                return None
            size, start = struct.unpack("!Q", buffer[2:10])[0], 10
        if len(buffer) < start + size:
            return None
        opcode = buffer[0] & 0x0F
        self._buffer = buffer[start + size:]
        if opcode == 0x8:
            raise ConnectionError("server closed the websocket")
        return buffer[start:start + size].decode() if opcode == 0x1 else ""

    def _handle(self, message: str) -> None:
        assert self.sock is not None
        if message == "2":  # engine.io PING → PONG
            self.sock.sendall(_masked_frame("3"))
        elif message.startswith('42["called"'):
            self.on_called(json.loads(message[2:])[1], self._stamp or time.time_ns())

    def on_readable(self) -> None:
        """Consume everything readable; call from the event loop's reader callback."""
        try:
            if not self._read():
                raise ConnectionError("server closed the connection")
        except BlockingIOError:
            return
        while (message := self._next_message()) is not None:
            self._handle(message)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
