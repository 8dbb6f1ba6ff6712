"""Socket.IO: who may connect, and pushing the hall's state to every screen.

Calls go out at once (they are what residents wait for); the full snapshot that keeps counts and window
numbers right is coalesced and sent at most a few times a second, so a rush at the kiosks does not
flood two hundred displays.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import request, session
from flask_socketio import SocketIO, emit, join_room

from server.auth import Principal
from server.events import HallEvent
from server.hall import Hall

log = logging.getLogger(__name__)

HALL_ROOM = "hall"
SNAPSHOT_INTERVAL = 0.2  # seconds between two coalesced snapshots


class Realtime:
    def __init__(self, socketio: SocketIO, hall: Hall):
        self.socketio = socketio
        self.hall = hall
        self._dirty = socketio.server.eio.create_event()
        self._loop_started = False
        hall.bus.subscribe(self.on_event)
        socketio.on_event("connect", self.on_connect)

    def identify(self, auth: Any) -> Principal | None:
        token = auth.get("token") if isinstance(auth, dict) else None
        return self.hall.accounts.identify(token if isinstance(token, str) else None, session.get("staff"))

    def on_connect(self, auth: Any = None) -> None:
        who = self.identify(auth)
        if who is None:
            raise ConnectionRefusedError("unauthorized")
        log.info("socket %s connected as %s", request.sid, who.actor)  # type: ignore[attr-defined]
        join_room(HALL_ROOM)
        emit("snapshot", self.hall.engine.snapshot())
        if not self._loop_started:
            self._loop_started = True
            self.socketio.start_background_task(self._snapshot_loop)

    def on_event(self, event: HallEvent) -> None:
        if event.kind in ("called", "recalled") and event.ticket is not None:
            window = self.hall.config.window(event.window_id or 0)
            self.socketio.emit("called", {
                "ticket": event.ticket.to_json(), "window": event.window_id,
                "window_name": window.name if window else "", "text": event.text,
                "recall": event.kind == "recalled", "at": event.at.isoformat(),
            }, to=HALL_ROOM)
        self._dirty.set()

    def _snapshot_loop(self) -> None:
        while True:
            self._dirty.wait()
            # wait first: the `called` push of the same change goes out alone, and a burst becomes one snapshot
            self.socketio.sleep(SNAPSHOT_INTERVAL)
            self._dirty.clear()
            try:
                self.socketio.emit("snapshot", self.hall.engine.snapshot(), to=HALL_ROOM)
            except Exception:  # the loop must outlive a database hiccup
                log.exception("snapshot broadcast failed")
