"""Which waiting ticket a window calls next. One function, so later rules (appointments) plug in here."""

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

    @property
    def natural_key(self) -> tuple[int, datetime, int]:
        return (self.rank, self.queue_at, self.ticket_id)


def choose_next(candidates: Sequence[Candidate], passed: Callable[[Candidate], int],
                priority_bound: int) -> Candidate | None:
    """The window's services in their order, earliest first; 绿色通道 tickets go ahead, bounded.

    ``passed(regular)`` says how many priority tickets have already been called ahead of that waiting
    regular ticket; once it reaches ``priority_bound`` the regular ticket is called first.
    """
    regular = min((c for c in candidates if c.priority is None), key=lambda c: c.natural_key, default=None)
    urgent = min((c for c in candidates if c.priority is not None), key=lambda c: c.natural_key, default=None)
    if urgent is None or regular is None:
        return urgent or regular
    if urgent.natural_key < regular.natural_key:
        return urgent
    return urgent if passed(regular) < priority_bound else regular
