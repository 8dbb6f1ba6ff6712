"""A command run beside a hall of several server processes reaches them: `hallq device revoke` closes the revoked
display's open socket at once, wherever it is connected (without a message queue the socket would stay open until
it reconnected)."""

from __future__ import annotations

import threading
from pathlib import Path

import socketio

from server.hall import MESSAGE_QUEUE_VARIABLE
from tests.conftest import scratch_postgres
from tests.live import LiveHall, hallq

REDIS = "redis://127.0.0.1:6379/0"


def test_a_device_revoked_from_the_command_line_is_disconnected_on_every_process(tmp_path: Path) -> None:
    with scratch_postgres() as url:
        first = LiveHall(tmp_path / "instance", database_url=url)
        first.environ[MESSAGE_QUEUE_VARIABLE] = REDIS
        first.prepare()
        second = first.sibling()
        displays = []
        try:
            first.start()
            second.start()
            for live in (first, second):
                client = socketio.Client(reconnection=False)
                gone = threading.Event()
                client.on("disconnect", lambda *_args, gone=gone: gone.set())
                client.connect(live.url, auth={"token": live.display_token}, transports=["websocket"])
                displays.append((client, gone))
            hallq("device", "revoke", "display-1", instance=first.instance, config=first.config,
                  env={"DATABASE_URL": url, MESSAGE_QUEUE_VARIABLE: REDIS})
            for client, gone in displays:
                assert gone.wait(10), "the revoked display's socket is still open"
                assert not client.connected
        finally:
            for client, _gone in displays:
                client.disconnect()
            first.stop()
            second.stop()
