"""Socket.IO for the rating tablets: one room per window, told the window's prompt on connect, on every
reconnect and whenever a 办结, a rating or a 未评价 at that window changes it. A tablet joins only the room of
the window config.toml binds it to, and gets nothing else (no snapshot, no calls)."""

from __future__ import annotations

import logging

from flask_socketio import SocketIO, emit, join_room

from server.auth import Principal
from server.events import HallEvent
from server.hall import Hall

log = logging.getLogger(__name__)

#: the events after which the window's tablet may have to show another prompt, or none
PROMPT_EVENTS = frozenset({"finished", "rated", "unrated"})


def evaluator_room(window_id: int) -> str:
    return f"evaluator:{window_id}"


class EvaluatorFeed:
    def __init__(self, socketio: SocketIO, hall: Hall):
        self.socketio = socketio
        self.hall = hall
        hall.bus.subscribe(self.on_event)

    def on_connect(self, who: Principal) -> None:
        window = self.hall.config.evaluation.window_of(who.name)
        if window is None:
            raise ConnectionRefusedError("evaluator_not_bound")
        join_room(evaluator_room(window))
        emit("rating_prompt", self.state(window))

    def state(self, window_id: int) -> dict[str, object]:
        return {"window": window_id, "prompt": self.hall.evaluation.prompt(window_id),
                "server_time": self.hall.settings.clock.now().isoformat()}

    def on_event(self, event: HallEvent) -> None:
        if event.kind in PROMPT_EVENTS and event.window_id is not None:
            # off the request: the `called` that follows call-next's own 办结 must not wait for this read
            self.socketio.start_background_task(self._push, event.window_id)

    def _push(self, window_id: int) -> None:
        try:
            self.socketio.emit("rating_prompt", self.state(window_id), to=evaluator_room(window_id))
        except Exception:  # a database hiccup: the tablet's next reconnect or event redraws it
            log.exception("rating prompt push failed")
