"""Issue 14, finding 2: `hallq run`'s HTTP server closes slow and idle requests and caps connections per address.

An in-process GuardedServer with a one-line WSGI app, driven by gevent sockets in this process (no sleeping:
every wait is a deadline on a read).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gevent
import pytest
from gevent import socket

from server import connections
from server.config import ConfigError, parse_config
from server.connections import GuardedServer
from tests.conftest import SMALL_HALL

DEADLINE = 0.3  # seconds, for the header and keep-alive deadlines here
REQUEST = b"GET / HTTP/1.1\r\nHost: hall\r\n\r\n"


def hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Length", "2")])
    return [b"ok"]


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[GuardedServer]:
    monkeypatch.setattr(connections, "HEADER_TIMEOUT", DEADLINE)
    monkeypatch.setattr(connections, "IDLE_TIMEOUT", DEADLINE)
    guarded = GuardedServer(("127.0.0.1", 0), hello, log=None, per_address=3, behind_proxy=False)
    guarded.start()
    yield guarded
    guarded.stop(timeout=1)


def connect(server: GuardedServer, source: str = "127.0.0.1") -> socket.socket:
    connection = socket.create_connection(server.address, timeout=5, source_address=(source, 0))
    connection.settimeout(5)  # no test waits longer for an answer or an end
    return connection


def read_to_end(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (socket timeout: it never did)."""
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received


def closed_after(connection: socket.socket) -> float:
    start = gevent.get_hub().loop.now()
    read_to_end(connection)
    return gevent.get_hub().loop.now() - start


def test_a_partial_request_is_closed_at_the_header_deadline(server: GuardedServer) -> None:
    connection = connect(server)
    connection.sendall(b"GET / HTTP/1.1\r\nHost: hall\r\n")
    assert closed_after(connection) < DEADLINE + 1


def test_a_request_trickling_in_is_closed_though_every_byte_arrives_in_time(server: GuardedServer) -> None:
    connection = connect(server)
    start = gevent.get_hub().loop.now()
    with pytest.raises(OSError):  # the server closes mid-trickle: a later send fails, or the read ends
        for byte in REQUEST[:-2] * 4:
            connection.send(bytes([byte]))
            gevent.sleep(DEADLINE / 10)
        read_to_end(connection)
        raise OSError("the whole trickle was accepted")
    assert gevent.get_hub().loop.now() - start < DEADLINE + 1


def test_an_idle_kept_alive_connection_is_closed_after_its_request(server: GuardedServer) -> None:
    connection = connect(server)
    connection.sendall(REQUEST)
    assert read_to_end(connection).endswith(b"\r\n\r\nok")  # answered, then closed once idle


def test_connections_over_the_cap_of_one_address_are_closed_unread_and_others_are_served(
        server: GuardedServer) -> None:
    held = [connect(server, "127.0.0.2") for _ in range(3)]
    extra = connect(server, "127.0.0.2")
    assert read_to_end(extra) == b""  # closed without an answer
    neighbour = connect(server, "127.0.0.3")
    neighbour.sendall(REQUEST)
    assert read_to_end(neighbour).endswith(b"ok")
    for connection in held:
        connection.close()


def test_behind_a_trusted_proxy_only_its_loopback_address_is_exempt_from_the_cap() -> None:
    proxied = GuardedServer(("127.0.0.1", 0), hello, per_address=3, behind_proxy=True)
    direct = GuardedServer(("127.0.0.1", 0), hello, per_address=3, behind_proxy=False)
    assert not proxied.capped("127.0.0.1") and not proxied.capped("::1")
    assert proxied.capped("192.168.1.20") and direct.capped("127.0.0.1")


@pytest.mark.parametrize(("value", "fragment"), [("4", "must be between 8 and 10000"), ("true", "must be an integer")])
def test_the_connection_cap_is_read_from_config_and_a_bad_one_names_the_key(value: str, fragment: str) -> None:
    assert parse_config(SMALL_HALL).server.connections_per_address == 32
    raised = parse_config(SMALL_HALL + "\n[server]\nconnections_per_address = 200\n")
    assert raised.server.connections_per_address == 200
    with pytest.raises(ConfigError, match=rf"server\.connections_per_address: {fragment}"):
        parse_config(SMALL_HALL + f"\n[server]\nconnections_per_address = {value}\n")
