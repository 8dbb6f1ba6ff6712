"""Which waiting ticket a window calls next. One function, so the hall's rules of order live in one place."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Candidate:
    ticket_id: int
    service: str
    #: position of the ticket's service in the window's priority order (0 = served first)
    rank: int
    queue_at: datetime
    priority: str | None
    #: a checked-in appointment (预约)
    appointment: bool = False

    @property
    def natural_key(self) -> tuple[int, datetime, int]:
        """The order of arrival within the window's service order: how 绿色通道 is weighed against the rest."""
        return (self.rank, self.queue_at, self.ticket_id)

    @property
    def line_key(self) -> tuple[int, bool, datetime, int]:
        """The order of the tickets that are not 绿色通道: within each service, checked-in appointments first
        (they have a time agreed with the hall), then everyone else by arrival. Never across services: the
        window's service order comes first."""
        return (self.rank, not self.appointment, self.queue_at, self.ticket_id)


def choose_next(candidates: Sequence[Candidate], passed: Callable[[Candidate], int],
                priority_bound: int) -> Candidate | None:
    """The window's services in their order; within a service checked-in appointments, then the others by
    arrival; 绿色通道 tickets go ahead of them, bounded.

    ``passed(regular)`` says how many priority tickets have already been called ahead of that waiting
    regular ticket; once it reaches ``priority_bound`` the regular ticket is called first. An appointment
    is weighed against 绿色通道 like any regular ticket: the priority rule does not change for it.
    """
    regular = min((c for c in candidates if c.priority is None), key=lambda c: c.line_key, default=None)
    urgent = min((c for c in candidates if c.priority is not None), key=lambda c: c.natural_key, default=None)
    if urgent is None or regular is None:
        return urgent or regular
    if urgent.natural_key < regular.natural_key:
        return urgent
    return urgent if passed(regular) < priority_bound else regular
