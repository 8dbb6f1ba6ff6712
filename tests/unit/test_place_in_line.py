"""「前面还有 N 人」 is a true place in line, and the estimated wait follows the day's pace.

The simulated day: windows that share items (two windows for items a and b, two for c and d, each pair listing them
in another order), residents arriving at random with some 绿色通道, clerks serving for random times. Every ticket's
promise at issue must equal the number of residents actually called before it at the windows that may call it,
unless someone with precedence arrived after it (the one thing the promise cannot know).
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from server.clock import ManualClock
from server.config import parse_config
from server.db import Storage
from server.events import EventBus
from server.line import Desk, place_in_line
from server.policy import Candidate, Rule
from server.queue import QueueEngine
from tests.conftest import opening_time
from tests.unit.test_fair_calling import hall_toml

SHARING = [(["a", "b"], []), (["b", "a"], []), (["c", "d"], []), (["d", "c"], [])]


@dataclass
class Resident:
    number: str
    window_ids: frozenset[int]
    issued: datetime
    promised: int
    precedence: bool
    called: datetime | None = None
    calls_before: int = 0


def test_every_promise_on_a_simulated_day_is_the_true_place(storage: Storage, clock: ManualClock) -> None:
    config = parse_config(hall_toml(SHARING, priority_bound=2))
    engine = QueueEngine(storage, config, clock, EventBus())
    engine.ensure_windows()
    rng = random.Random(12)
    start = opening_time()
    happenings: list[tuple[datetime, int, str, int]] = []  # (when, order, what, window or 0)
    order = 0
    for window in config.windows:
        engine.sign_in(window.id, f"clerk{window.id}")
        happenings.append((start, order := order + 1, "free", window.id))
    when = start
    for _ in range(160):
        when += timedelta(seconds=rng.expovariate(1 / 45))
        happenings.append((when, order := order + 1, "arrive", 0))
    heapq.heapify(happenings)
    residents: dict[str, Resident] = {}
    idle: set[int] = set()
    while happenings:
        when, _, what, window_id = heapq.heappop(happenings)
        clock.set(when)
        if what == "arrive":
            item = rng.choice("abcd")
            green = rng.random() < 0.06
            view = engine.issue(item, "elderly" if green else None, "device:kiosk-1", "kiosk")
            residents[view.number] = Resident(view.number, frozenset(w.id for w in config.windows_serving(item)),
                                              when, view.waiting_ahead, green)
            woken, idle = idle, set()
        else:
            woken = {window_id}
        for window in sorted(woken):
            called = engine.call_next(window, f"clerk{window}")
            if called is None:
                idle.add(window)
                continue
            for other in residents.values():
                if other.called is None and window in other.window_ids and other.number != called.number:
                    other.calls_before += 1
            residents[called.number].called = when
            service = timedelta(seconds=rng.lognormvariate(5.3, 0.5))
            heapq.heappush(happenings, (when + service, order := order + 1, "free", window))
    assert all(r.called is not None for r in residents.values()), "everyone is called by the end of the day"
    checked = [r for r in residents.values()
               if not any(o.precedence and o.window_ids & r.window_ids and r.issued < o.issued <= r.called
                          for o in residents.values())]
    assert len(checked) > 80 and max(r.promised for r in checked) >= 5  # a busy day, not an empty hall
    wrong = {r.number: (r.promised, r.calls_before) for r in checked if r.promised != r.calls_before}
    assert not wrong, f"promised vs true place: {wrong}"


def test_the_wait_is_estimated_from_the_pace_seen_today(storage: Storage, clock: ManualClock) -> None:
    config = parse_config(hall_toml([(["a"], [])]))
    engine = QueueEngine(storage, config, clock, EventBus())
    engine.ensure_windows()
    first = engine.issue("a", None, "device:kiosk-1", "kiosk")
    assert (first.waiting_ahead, first.estimated_wait_minutes) == (0, None)  # no window open: nobody can tell
    engine.sign_in(1, "clerk1")
    assert engine.ticket(first.id).estimated_wait_minutes is None  # open, but no pace seen yet today
    for _ in range(3):  # three residents served in 4 minutes each
        engine.issue("a", None, "device:kiosk-1", "kiosk")
    engine.call_next(1, "clerk1")
    for _ in range(3):
        clock.advance(minutes=4)
        engine.call_next(1, "clerk1")
    clock.advance(minutes=1)  # the resident at the window since a minute: 3 more minutes
    waiting = [engine.issue("a", None, "device:kiosk-1", "kiosk") for _ in range(3)]
    assert [(t.waiting_ahead, t.estimated_wait_minutes) for t in waiting] == [(0, 3), (1, 7), (2, 11)]


def test_where_windows_share_some_items_the_pace_decides_who_takes_whom() -> None:
    """Window 1 serves a and b, window 2 only b. B waits behind A at window 1, but window 2 is free sooner."""
    now = opening_time()
    rule = Rule(priority_bound=2, max_passed=2, max_extra_wait=timedelta(minutes=20))
    a = Candidate(1, "a", now, now)
    b = Candidate(2, "b", now + timedelta(minutes=1), now + timedelta(minutes=1))
    slow_1 = Desk(1, frozenset({"a", "b"}), rule, now + timedelta(minutes=6), timedelta(minutes=6))
    quick_2 = Desk(2, frozenset({"b"}), rule, now + timedelta(minutes=2), timedelta(minutes=3))
    place = place_in_line(b, [a, b], lambda c: 0, [slow_1, quick_2], now)
    assert (place.ahead, place.wait_minutes) == (0, 2)
    slow_2 = Desk(2, frozenset({"b"}), rule, now + timedelta(minutes=9), timedelta(minutes=3))
    place = place_in_line(b, [a, b], lambda c: 0, [slow_1, slow_2], now)
    assert (place.ahead, place.wait_minutes) == (1, 9)  # window 1 takes A at 6, window 2 is free at 9: B at 9
