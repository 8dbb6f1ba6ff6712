"""Domain events: what happened in the hall, published after the transaction that made it true commits.

Adapters (Socket.IO, and later printers and voice) subscribe here; the engine never imports them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
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
    #: residents who will be called before this one (「前面还有 N 人」), by the calling rule and the windows at work
    waiting_ahead: int
    issued_at: datetime
    called_at: datetime | None
    window: int | None
    recalls: int
    channel: str
    #: opens the resident's tracking page: only for the kiosk or desk that issued it, never broadcast
    track_token: str = ""
    #: issued for a checked-in appointment (预约): called before regular tickets of its service
    appointment: bool = False
    #: minutes until the call, from the day's observed pace and the windows at work; None when it cannot be known
    estimated_wait_minutes: int | None = None
    #: 办理窗口 as residents read them: 「1号窗口、6号窗口」, with the zone in a hall of several: 「4号窗口（二楼）」
    windows_text: str = ""
    #: waiting, and none of the windows that may call it has a clerk signed in now
    no_open_window: bool = False
    #: what the resident is told about that (or about its windows all being paused); None: nothing to tell
    window_notice: str | None = None
    #: the window that transferred the resident here (转入); None for a ticket that was not transferred
    transferred_from_window: int | None = None

    def to_json(self) -> dict[str, Any]:
        # every field is a plain value: asdict's deep copy of each cost ~35 µs before a call reached the screens
        data = {name: getattr(self, name) for name in _TICKET_FIELDS}
        del data["track_token"]
        data["issued_at"] = self.issued_at.isoformat()
        data["called_at"] = self.called_at.isoformat() if self.called_at else None
        return data


_TICKET_FIELDS = tuple(field.name for field in fields(TicketView))


@dataclass(frozen=True)
class HallEvent:
    #: issued, called, recalled, no_show, started, finished, transferred, paused, resumed,
    #: signed_in, signed_out, reprint_requested, printed, print_failed, appointment_* (server/appointments.py),
    #: duty_logged, enquiry_registered (server/desk.py), complaint_* (server/complaints.py)
    kind: str
    at: datetime
    ticket: TicketView | None = None
    window_id: int | None = None
    #: the announcement text for called/recalled
    text: str | None = None
    #: who did it (``device:kiosk-1``, ``staff:guide``), for adapters that act for one device or person
    actor: str | None = None
    #: the facts recorded with it (e.g. the printer and its error)
    detail: dict[str, Any] | None = None


def to_wire(event: HallEvent) -> dict[str, Any]:
    """The event as JSON for the hall's other server processes (server/cluster.py), track token included: they
    print the ticket's QR code."""
    data = asdict(event)
    data["at"] = event.at.isoformat()
    if event.ticket is not None:
        data["ticket"] = {**event.ticket.to_json(), "track_token": event.ticket.track_token}
    return data


def from_wire(data: dict[str, Any]) -> HallEvent:
    ticket = data.get("ticket")
    if ticket is not None:
        ticket = TicketView(**{**ticket, "issued_at": datetime.fromisoformat(ticket["issued_at"]),
                               "called_at": datetime.fromisoformat(ticket["called_at"]) if ticket["called_at"] else
                               None})
    return HallEvent(**{**data, "at": datetime.fromisoformat(data["at"]), "ticket": ticket})


Subscriber = Callable[[HallEvent], None]


class EventBus:
    """Events of this process go to every subscriber; events another process of the hall published (relayed by
    server/cluster.py) only to those subscribed for them: the rest already acted where it happened."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._remote: list[Subscriber] = []
        self._batches: list[Callable[[list[HallEvent]], None]] = []

    def subscribe(self, subscriber: Subscriber, remote: bool = False) -> None:
        """``subscriber(event)`` for this process's events, and with ``remote`` for the other processes' too."""
        self._subscribers.append(subscriber)
        if remote:
            self._remote.append(subscriber)

    def subscribe_remote(self, subscriber: Subscriber) -> None:
        """``subscriber(event)`` for the other processes' events only."""
        self._remote.append(subscriber)

    def subscribe_batches(self, subscriber: Callable[[list[HallEvent]], None]) -> None:
        """``subscriber(events)`` with each batch this process publishes (the relay to the other processes)."""
        self._batches.append(subscriber)

    def publish(self, events: list[HallEvent]) -> None:
        self._deliver(events, self._subscribers)
        for batch in self._batches:
            batch(events)

    def receive(self, events: list[HallEvent]) -> None:
        """Events published by another process of the hall."""
        self._deliver(events, self._remote)

    @staticmethod
    def _deliver(events: list[HallEvent], subscribers: list[Subscriber]) -> None:
        for event in events:
            for subscriber in subscribers:
                try:
                    subscriber(event)
                except Exception:  # one broken adapter must not stop the others or the request
                    log.exception("event subscriber failed on %s", event.kind)
