"""Where a waiting resident stands: the true place in line (「前面还有 N 人」) and an estimated wait, found by playing
the calling rule (server/policy.py) forward over the windows at work now.

Counting the tickets of the same item would be wrong at a hall whose windows share items: a 综合受理 window calls
everyone in order of arrival, so the residents of other items who came earlier stand ahead too. When every window
that may call the ticket serves the same items, the order does not depend on which window is free first, and the
place is exact unless someone with precedence arrives later. Where windows share only some items, which window frees
first decides who takes whom: the play assumes each window keeps the pace observed today.

Pure: plain values in, plain values out.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from server.policy import Candidate, Rule, choose_next, may_call

#: the pace assumed for a window nobody has finished a ticket at yet, only to order the windows' turns
DEFAULT_PACE = timedelta(minutes=5)
#: no window is taken to serve faster than this: quicker figures come from clerks clicking through no-shows
MIN_PACE = timedelta(minutes=1)


@dataclass(frozen=True)
class Desk:
    """A window in the play: what it may call, how it chooses, when it calls next and its pace today."""

    window_id: int
    services: frozenset[str]
    rule: Rule
    free_at: datetime
    #: the mean time per resident observed today; None: not known
    pace: timedelta | None


@dataclass(frozen=True)
class Place:
    #: residents who will be called before this ticket at the windows that may call it
    ahead: int
    #: minutes until it is called, by the observed pace; None when it cannot be known
    wait_minutes: int | None


def place_in_line(ticket: Candidate, waiting: Sequence[Candidate], passes: Callable[[Candidate], int],
                  desks: Sequence[Desk], now: datetime) -> Place:
    """``waiting``: every waiting ticket of the day in order of arrival, ``ticket`` among them; ``passes``: how often
    each has been passed so far. The windows take turns as they become free and call by the rule until ``ticket``
    is called."""
    lines = [_Line(desk, [c for c in waiting if may_call(desk.window_id, desk.services, c)]) for desk in desks]
    taken: set[int] = set()
    passed_here: dict[int, int] = defaultdict(int)

    def passes_now(candidate: Candidate) -> int:
        return passes(candidate) + passed_here[candidate.ticket_id]

    paced = all(desk.pace is not None for desk in desks)
    turns = [(desk.free_at, i) for i, desk in enumerate(desks)]
    heapq.heapify(turns)
    ahead = 0
    while turns:
        at, i = heapq.heappop(turns)
        line = lines[i]
        chosen = line.next_call(taken, passes_now, passed_here)
        if chosen is None:
            continue  # nothing more this window may call: it leaves the play
        if chosen.ticket_id == ticket.ticket_id:
            wait = math.ceil(max((at - now).total_seconds(), 0) / 60) if paced else None
            return Place(ahead, wait)
        taken.add(chosen.ticket_id)
        if may_call(line.desk.window_id, line.desk.services, ticket):
            ahead += 1
        heapq.heappush(turns, (at + (line.desk.pace or DEFAULT_PACE), i))
    return Place(ahead, None)


class _Line:
    """The tickets one window may call, in order of arrival, as the play takes them away. Most calls are the first
    one left (no precedence, no favoured item waiting): those cost nothing; otherwise the rule itself decides."""

    def __init__(self, desk: Desk, mine: list[Candidate]):
        self.desk = desk
        self.mine = mine
        self.first = 0
        self.special = {c.ticket_id for c in mine if c.precedence or c.service in desk.rule.favour}

    def next_call(self, taken: set[int], passes: Callable[[Candidate], int],
                  passed_here: dict[int, int]) -> Candidate | None:
        while self.first < len(self.mine) and self.mine[self.first].ticket_id in taken:
            self.first += 1
        if self.first == len(self.mine):
            return None
        self.special -= taken
        if not self.special or self.desk.rule.strict:
            return self.mine[self.first]
        left = [c for c in self.mine[self.first:] if c.ticket_id not in taken]
        chosen = choose_next(left, passes, self.desk.rule)
        assert chosen is not None
        for earlier in left:
            if earlier.arrival >= chosen.arrival:
                break
            passed_here[earlier.ticket_id] += 1
        return chosen
