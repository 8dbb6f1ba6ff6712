"""Connections that never finish must not hold file descriptors: `hallq run` defends itself without nginx.

Issue 14: at a file limit of 256, 150 websocket upgrades that never spoke Socket.IO and never read starved the
kiosk and the printer of descriptors. Four guards, all here:

- a request's line and headers must arrive within HEADER_TIMEOUT of its first byte being awaited (slowloris
  and idle half-requests), and a kept-alive connection may wait at most IDLE_TIMEOUT for its next request;
- at most `[server] connections_per_address` connections from one client address; more are closed unread (the
  trusted proxy's loopback address is exempt: behind nginx every screen comes from there and nginx keeps its own
  per-client limit);
- an Engine.IO session that has not completed the Socket.IO connect (or was refused) within CONNECT_TIMEOUT
  is closed;
- a websocket gets the read/write timeout engineio means to set (ping interval + ping timeout) but cannot find
  on simple-websocket's wrapper, and closing it shuts the socket down, so neither a peer that never answers nor
  one that never reads keeps its reader blocked for ever.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections import Counter
from ipaddress import ip_address
from typing import Any

import gevent
from engineio.async_drivers.gevent import WebSocketWSGI
from gevent import pywsgi
from socketio import Server as SocketIOServer

#: seconds; tests set HALLQ_CONNECTION_TIMEOUT (read only here) so that a flood is reaped in a second
TIMEOUT_VARIABLE = "HALLQ_CONNECTION_TIMEOUT"


def _seconds(default: float) -> float:
    text = os.environ.get(TIMEOUT_VARIABLE)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise ValueError(f"{TIMEOUT_VARIABLE} must be a positive number of seconds, not {text!r}")
    return value


HEADER_TIMEOUT = _seconds(10.0)  # request line and headers, from the moment the request starts to arrive
IDLE_TIMEOUT = _seconds(30.0)  # a kept-alive connection waiting for its next request
CONNECT_TIMEOUT = _seconds(5.0)  # Engine.IO handshake to Socket.IO connect (a screen takes milliseconds)


class GuardedHandler(pywsgi.WSGIHandler):
    """gevent's handler with deadlines on reading a request (it has none: a silent client is kept for ever)."""

    _deadline: gevent.Timeout | None = None
    _served = 0

    def read_requestline(self) -> str:
        if self._served:  # keep-alive: wait for the next request's first byte, then its headers are timed
            with gevent.Timeout(IDLE_TIMEOUT, TimeoutError("idle keep-alive connection")):
                self.rfile.peek(1)
        self._served += 1
        # a socket error ends the connection quietly in handle_one_request, or as a 400 in read_request
        self._deadline = gevent.Timeout.start_new(HEADER_TIMEOUT, TimeoutError("request headers too slow"))
        return super().read_requestline()

    def read_request(self, raw_requestline: str) -> bool:
        try:
            return super().read_request(raw_requestline)
        finally:
            self._cancel_deadline()

    def handle_one_request(self) -> Any:
        try:
            return super().handle_one_request()
        finally:
            self._cancel_deadline()  # also when the request line was empty or too long

    def handle_one_response(self) -> None:
        super().handle_one_response()
        if self._connection_upgrade_requested():  # a websocket ended: nothing more comes on this connection (else
            self.close_connection = True  # it was held IDLE_TIMEOUT more, waiting for a "next request")

    def _handle_client_error(self, ex: BaseException) -> Any:
        if isinstance(ex, TimeoutError):
            self.close_connection = True
            return None  # nothing to answer a client that sends nothing: just close
        return super()._handle_client_error(ex)

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.close()
            self._deadline = None


class GuardedServer(pywsgi.WSGIServer):
    """The WSGI server of `hallq run`: TCP_NODELAY, request deadlines, a connection cap per client address."""

    handler_class = GuardedHandler

    def __init__(self, listener: Any, application: Any, *, per_address: int, behind_proxy: bool, **kwargs: Any):
        super().__init__(listener, application, **kwargs)
        self.per_address = per_address
        self.behind_proxy = behind_proxy
        self.connections: Counter[str] = Counter()

    def capped(self, host: str) -> bool:
        """Whether connections from ``host`` count against the cap: not the proxy on this machine."""
        return not (self.behind_proxy and ip_address(host).is_loopback)

    def do_handle(self, sock: Any, address: Any) -> None:
        """Called in the accept loop itself: a connection over the cap is closed before another is accepted."""
        host = address[0]
        if self.connections[host] >= self.per_address and self.capped(host):
            sock.close()  # unread: whoever holds this many connections is not a screen
            return
        self.connections[host] += 1
        try:
            super().do_handle(sock, address)
        except BaseException:
            self._release(host)
            raise

    def handle(self, sock: Any, address: Any) -> None:
        try:
            # small pushes must not wait for delayed ACKs (they added ~40 ms to every call on this stack)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            super().handle(sock, address)
        finally:
            self._release(address[0])

    def _release(self, host: str) -> None:
        self.connections[host] -= 1
        if not self.connections[host]:
            del self.connections[host]


class ReapedWebSocket(WebSocketWSGI):
    """engineio's gevent websocket (simple-websocket), closable even when the peer never sends nor reads.

    engineio sets ping interval + ping timeout as the timeout of ``ws.socket`` or ``ws._sock``; simple-websocket's
    wrapper has neither, so its reader waited in recv() for ever and a blocked send never gave up.
    """

    @property
    def socket(self) -> socket.socket:
        return self.ws.sock  # type: ignore[no-any-return]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            super().close()
        with contextlib.suppress(OSError):
            self.ws.sock.shutdown(socket.SHUT_RDWR)  # the reader's recv() returns: its loop closes the socket


def guard_sessions(server: SocketIOServer) -> None:
    """Reap Engine.IO sessions that never become Socket.IO connections, and make websockets closable."""
    eio = server.eio
    eio._async = {**eio._async, "websocket": ReapedWebSocket}  # this server's copy, not engineio's module dict
    handshake = eio.handlers["connect"]

    def reap_if_unconnected(eio_sid: str) -> None:
        gevent.sleep(CONNECT_TIMEOUT)
        session = eio.sockets.get(eio_sid)
        if session is not None and not session.closed and server.manager.sid_from_eio_sid(eio_sid, "/") is None:
            session.close(wait=False, reason=eio.reason.SERVER_DISCONNECT)

    def on_handshake(eio_sid: str, environ: dict[str, Any]) -> Any:
        gevent.spawn(reap_if_unconnected, eio_sid)
        return handshake(eio_sid, environ)

    eio.on("connect", on_handshake)
