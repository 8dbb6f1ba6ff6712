"""The busy-day simulation (bench/bench_busy_day.py) kept working: its record of a small, crowded day agrees with
itself and with the engine's tables, and true places are counted as defined."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select

from bench.bench_busy_day import BusyDay, Call, Ticket, residents, summary, true_places
from bench.common import ROOT
from server.clock import ManualClock
from server.config import load_config
from server.db import Storage
from server.events import EventBus
from server.models import Ticket as TicketRow
from server.queue import QueueEngine
from tests.conftest import opening_time

DEMO = load_config(ROOT / "config.toml")


def _ticket(ticket_id: int, item: str, issue_step: int, call_step: int | None) -> Ticket:
    return Ticket(ticket_id, f"A{ticket_id:03d}", item, None, opening_time(), issue_step, promised=0,
                  call_step=call_step)


def test_the_true_place_counts_calls_after_the_issue_and_before_the_call_at_windows_serving_the_item() -> None:
    id_card = _ticket(1, "hukou-id", issue_step=2, call_step=7)  # served at windows 1 and 6
    never_called = _ticket(2, "hukou-id", issue_step=6, call_step=None)
    calls = [Call(1, 1, 90),   # before the issue
             Call(3, 1, 91),   # ahead of it, at window 1
             Call(4, 2, 92),   # window 2 does not serve 身份证
             Call(5, 6, 93),   # ahead of it, at window 6
             Call(7, 6, 1),    # its own call
             Call(8, 1, 94)]   # after it
    assert true_places([id_card, never_called], calls, DEMO) == {1: 2}


def test_the_same_seed_brings_the_same_residents() -> None:
    assert residents(DEMO, 30, seed=3) == residents(DEMO, 30, seed=3)
    assert residents(DEMO, 30, seed=3) != residents(DEMO, 30, seed=4)


def test_a_crowded_small_day_calls_every_resident_once_and_records_what_the_engine_did(storage: Storage) -> None:
    people = residents(DEMO, 40, seed=7)
    first = people[0].arrives
    people = [dataclasses.replace(p, arrives=first + (p.arrives - first) / 10) for p in people]  # 40 in ~45 min
    clock = ManualClock(first)
    engine = QueueEngine(storage, DEMO, clock, EventBus())
    engine.ensure_windows()

    day = BusyDay(engine, clock).run(people)

    assert len(day.tickets) == 40
    assert sorted(call.ticket for call in day.calls) == sorted(day.tickets)
    assert [call.step for call in day.calls] == sorted({call.step for call in day.calls})
    for call in day.calls:
        ticket = day.tickets[call.ticket]
        assert call.window in {w.id for w in DEMO.windows_serving(ticket.item)}
        assert ticket.issue_step < ticket.call_step == call.step
        assert ticket.window == call.window and ticket.true_place is not None
        called_between = sum(1 for c in day.calls if ticket.issue_step < c.step < call.step)
        assert 0 <= ticket.true_place <= called_between
    assert max(t.true_place or 0 for t in day.tickets.values()) > 0, "the day was not crowded"
    with storage.read() as session:
        rows = {row.id: row for row in session.execute(
            select(TicketRow.id, TicketRow.status, TicketRow.window_id, TicketRow.called_at))}
    assert rows.keys() == day.tickets.keys()
    for ticket_id, ticket in day.tickets.items():
        row = rows[ticket_id]
        assert row.status == ("no_show" if ticket.no_show else "done")
        assert row.window_id == ticket.window
        assert row.called_at == ticket.called
    figures = summary(day, DEMO, people)
    assert figures["never_called"] == [] and figures["residents"] == 40
    assert sum(item["residents"] for item in figures["per_item"]) == 40

