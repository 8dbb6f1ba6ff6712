"""Domain events: what happened in the hall, published after the transaction that made it true commits.

Adapters (Socket.IO, and later printers and voice) subscribe here; the engine never imports them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TicketView:
    """A ticket as the outside world may see it: no ORM object escapes the engine."""

    id: int
    number: str
    service: str
    service_name: str
    status: str
    priority: str | None
    waiting_ahead: int
    issued_at: datetime
    called_at: datetime | None
    window: int | None
    recalls: int
    channel: str

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["issued_at"] = self.issued_at.isoformat()
        data["called_at"] = self.called_at.isoformat() if self.called_at else None
        return data


@dataclass(frozen=True)
class HallEvent:
    #: issued, called, recalled, no_show, started, finished, transferred, paused, resumed,
    #: signed_in, signed_out
    kind: str
    at: datetime
    ticket: TicketView | None = None
    window_id: int | None = None
    #: the announcement text for called/recalled
    text: str | None = None


Subscriber = Callable[[HallEvent], None]


class EventBus:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def publish(self, events: list[HallEvent]) -> None:
        for event in events:
            for subscriber in self._subscribers:
                try:
                    subscriber(event)
                except Exception:  # one broken adapter must not stop the others or the request
                    log.exception("event subscriber failed on %s", event.kind)
