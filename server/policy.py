"""Which waiting ticket a window calls next. One pure function, so the hall's rules of order live in one place; the
same function plays the line forward to tell a resident their true place (server/line.py).

The rule (服务行为标准 一视同仁; 延时服务规范 7.2.3 严格按照先后顺序): a window calls the earliest arrival among every
ticket it may call, whatever the item. Three kinds of ticket may go ahead of earlier arrivals, in this order:
绿色通道, then checked-in appointments (a time agreed with the hall), then, where the hall configures it, the window's
own main items (``favour``). Each may do so only while nobody it would pass has been passed too often
(``priority_bound`` for the first two, ``max_passed`` for favoured items), and a favoured item never passes anyone
who came more than ``max_extra_wait`` before it. A ticket is *passed* each time a window that could call it calls
someone who came after it; so no waiting resident is passed more than the larger bound.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple


class Candidate(NamedTuple):
    """A waiting ticket as the calling rule sees it. A named tuple: every call and every ticket issued reads the
    whole line (hundreds of rows), and a frozen dataclass took ~3 µs each to build, most of a call's time in the
    engine."""

    ticket_id: int
    service: str
    #: the resident's place in line: the first issue time, kept across transfers
    queue_at: datetime
    #: when this row started waiting (a transfer starts a new row): only calls after it can pass it
    issued_at: datetime
    priority: str | None = None
    #: a checked-in appointment (预约)
    appointment: bool = False
    #: set when a clerk transferred the resident to one particular window
    target_window: int | None = None

    @property
    def arrival(self) -> tuple[datetime, int]:
        return (self.queue_at, self.ticket_id)

    @property
    def precedence(self) -> bool:
        return self.priority is not None or self.appointment


@dataclass(frozen=True)
class Rule:
    """How one window chooses: the hall's bounds and the window's own favoured items."""

    priority_bound: int
    max_passed: int
    max_extra_wait: timedelta
    favour: frozenset[str] = frozenset()
    #: 延时服务: first come, first served, whatever the item or the tag
    strict: bool = False


def may_call(window_id: int, services: frozenset[str] | tuple[str, ...], ticket: Candidate) -> bool:
    """A transferred ticket waits for its one window; any other for every window serving its item."""
    if ticket.target_window is not None:
        return ticket.target_window == window_id
    return ticket.service in services


def choose_next(waiting: Sequence[Candidate], passes: Callable[[Candidate], int], rule: Rule) -> Candidate | None:
    """``waiting``: the tickets the window may call, in order of arrival. ``passes(ticket)``: how often that ticket
    has been passed so far."""
    if not waiting:
        return None
    if not rule.strict:
        for position, bound, extra_wait in _proposals(waiting, rule):
            proposal = waiting[position]
            if all(passes(earlier) < bound
                   and (extra_wait is None or proposal.queue_at - earlier.queue_at <= extra_wait)
                   for earlier in waiting[:position]):
                return proposal
    return waiting[0]


def _proposals(waiting: Sequence[Candidate], rule: Rule) -> Iterator[tuple[int, int, timedelta | None]]:
    """Who may go ahead of earlier arrivals: the position in ``waiting``, the pass bound, the longest extra wait."""
    kinds: list[tuple[Callable[[Candidate], bool], int, timedelta | None]] = [
        (lambda c: c.priority is not None, rule.priority_bound, None),
        (lambda c: c.appointment and c.priority is None, rule.priority_bound, None),
    ]
    if rule.favour:
        kinds.append((lambda c: not c.precedence and c.service in rule.favour, rule.max_passed, rule.max_extra_wait))
    for matches, bound, extra_wait in kinds:
        position = next((i for i, c in enumerate(waiting) if matches(c)), None)
        if position is not None:
            yield position, bound, extra_wait


def passed_by(calls: Sequence[tuple[int, datetime, int, datetime]],
              windows_for: Callable[[Candidate], frozenset[int]]) -> Callable[[Candidate], int]:
    """How often each ticket has been passed, from the calls made so far: ``calls`` are (window, queue_at, ticket id,
    called_at) of the called tickets that came after the earliest one still waiting."""
    counts: dict[int, int] = {}

    def passes(ticket: Candidate) -> int:
        if ticket.ticket_id not in counts:
            windows = windows_for(ticket)
            counts[ticket.ticket_id] = sum(
                1 for window, queue_at, ticket_id, called_at in calls
                if window in windows and (queue_at, ticket_id) > ticket.arrival and called_at >= ticket.issued_at)
        return counts[ticket.ticket_id]

    return passes
