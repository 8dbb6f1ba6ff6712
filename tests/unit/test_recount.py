"""The figures the screens read without counting the day (issue 20) are the day's real figures: after a random day of
every window action, over midnight into the next day, each one equals a recount from the tickets and their events.

今日已办 comes from window_days (counted in each 办结's transaction), the latest calls from a bounded read of the event
log; the recount here counts over the day's tickets and reads the event log in the order it was written.
"""

from __future__ import annotations

import contextlib
import random
from collections import Counter
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from server.clock import ManualClock
from server.db import Storage
from server.models import DailyCounter, Ticket, TicketEvent, WindowDay
from server.models import TicketStatus as S
from server.queue import RECENT_CALLS, DomainError, QueueEngine

WINDOWS = (1, 2, 3, 4)
SERVICES = ("id-card", "hukou", "pension")
OPERATIONS_A_DAY = 220
#: how often each window action is drawn: calling and finishing dominate a day, as at a hall
ACTIONS = ("call_next",) * 6 + ("finish",) * 4 + ("start", "start", "recall", "recall", "no_show", "transfer",
                                                  "call_number", "pause_resume")


def _random_day(engine: QueueEngine, clock: ManualClock, luck: random.Random, operations: int) -> None:
    """Residents arriving and every window action, in a random order; refusals are part of the day."""
    for _ in range(operations):
        clock.advance(seconds=luck.randint(0, 90))
        with contextlib.suppress(DomainError):
            _one_action(engine, luck)


def _one_action(engine: QueueEngine, luck: random.Random) -> None:
    window = luck.choice(WINDOWS)
    clerk = f"clerk{window}"
    if luck.random() < 0.35:
        engine.issue(luck.choice(SERVICES), luck.choice((None, None, None, "elderly")), "device:kiosk-1", "desk")
        return
    action = luck.choice(ACTIONS)
    if action == "transfer":
        engine.transfer(window, clerk, luck.choice((None, *SERVICES)), luck.choice((None, *WINDOWS)))
    elif action == "call_number":
        engine.call_number(window, clerk, f"{luck.choice('ABL')}{luck.randint(1, 30):03d}")
    elif action == "pause_resume":
        engine.pause(window, clerk)
        engine.resume(window, clerk)
    else:
        getattr(engine, action)(window, clerk)


def _recounted_served(storage: Storage) -> Counter[tuple[int, date]]:
    with storage.read() as session:
        return Counter((window, day) for window, day in session.execute(
            select(Ticket.window_id, Ticket.business_date).where(Ticket.status == S.DONE)))


def _recounted_recent(storage: Storage, since: datetime) -> list[tuple[str, int, bool]]:
    """The latest calls made since the day began, as the event log has them, in the order they were written."""
    with storage.read() as session:
        rows = session.execute(select(Ticket.number, TicketEvent.window_id, TicketEvent.action)
                               .join(Ticket, Ticket.id == TicketEvent.ticket_id)
                               .where(TicketEvent.action.in_(("called", "recalled")), TicketEvent.at >= since)
                               .order_by(TicketEvent.id.desc()).limit(RECENT_CALLS)).all()
    return [(number, window, action == "recalled") for number, window, action in rows]


def _assert_every_figure_is_the_recount(engine: QueueEngine, storage: Storage) -> None:
    today = engine.today()
    served = _recounted_served(storage)
    with storage.read() as session:
        kept = {(w, d): n for w, d, n in session.execute(select(WindowDay.window_id, WindowDay.business_date,
                                                                WindowDay.served))}
        waiting = Counter(session.scalars(select(Ticket.service).where(Ticket.business_date == today,
                                                                        Ticket.status == S.WAITING)))
        numbers = Counter((t.service, t.business_date) for t in session.scalars(
            select(Ticket).where(Ticket.transferred_from.is_(None))))
        counters = {(c.service, c.business_date): c.last for c in session.scalars(select(DailyCounter))}
    assert kept == dict(served), "window_days drifted from the tickets finished"
    snapshot = engine.snapshot()
    assert {w["id"]: w["served_today"] for w in snapshot["windows"]} == {w: served[(w, today)] for w in WINDOWS}
    assert {s["code"]: s["waiting"] for s in snapshot["services"]} == {s: waiting[s] for s in SERVICES}
    assert [(c["number"], c["window"], c["recall"]) for c in snapshot["recent_calls"]] == \
        _recounted_recent(storage, datetime.combine(today, time.min, engine.config.timezone))
    assert counters == dict(numbers), "a number counter drifted from the numbers given"


def test_every_counted_figure_equals_a_recount_after_a_random_day_and_the_next_morning(
        engine: QueueEngine, storage: Storage, clock: ManualClock) -> None:
    for window in WINDOWS:
        engine.sign_in(window, f"clerk{window}")
    luck = random.Random(20)
    _random_day(engine, clock, luck, OPERATIONS_A_DAY)
    _assert_every_figure_is_the_recount(engine, storage)
    first_day = engine.today()
    engine.issue("id-card", None, "device:kiosk-1", "desk")
    late = engine.call_next(1, "clerk1")  # still at 1号窗口 at midnight
    assert late is not None
    clock.advance(hours=17)
    assert engine.today() == first_day + timedelta(days=1)
    engine.call_next(1, "clerk1")  # its 办结, the next morning, is of the day it was issued
    assert engine.ticket(late.id).status == S.DONE
    _random_day(engine, clock, luck, OPERATIONS_A_DAY // 2)
    _assert_every_figure_is_the_recount(engine, storage)
    served = _recounted_served(storage)
    assert sum(n for (_, day), n in served.items() if day == first_day) > 40, \
        "the random day finished too few residents to prove anything"
    assert engine.snapshot()["recent_calls"], "the morning called nobody"
