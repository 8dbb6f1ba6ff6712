"""Property: any interleaving of issue, call, transfer, no-show... keeps the hall consistent.

Every ticket is in exactly one state, that state is what its own event log says, no ticket is the
current one at two windows, and no ticket is called while it is already called or being served.
"""

from __future__ import annotations

import contextlib
from collections import Counter, defaultdict

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, rule
from sqlalchemy import select

from server.config import parse_config
from server.events import EventBus
from server.models import Ticket, TicketEvent, TicketStatus, WindowState
from server.queue import DomainError, QueueEngine
from tests.conftest import SMALL_HALL, FreshHallMachine

WINDOWS = (1, 2, 3, 4)
SERVICES = st.sampled_from(["id-card", "hukou", "pension"])
PRIORITY = st.sampled_from([None, None, "elderly", "military"])
# what each logged action does to a ticket: {state before: state after}
TRANSITIONS = {
    "issued": {None: "waiting"},
    "transferred_in": {None: "waiting"},
    "called": {"waiting": "called", "no_show": "called"},
    "recalled": {"called": "called"},
    "started": {"called": "serving"},
    "finished": {"called": "done", "serving": "done"},
    "no_show": {"called": "no_show"},
    "transferred": {"called": "transferred", "serving": "transferred"},
}


class HallMachine(FreshHallMachine):
    def __init__(self) -> None:
        super().__init__()
        self.engine = QueueEngine(self.storage, parse_config(SMALL_HALL), self.clock, EventBus())
        self.engine.ensure_windows()
        for window in WINDOWS:
            self.engine.sign_in(window, f"clerk{window}")

    def attempt(self, action, *args) -> None:  # type: ignore[no-untyped-def]
        with contextlib.suppress(DomainError):  # refusals are part of the game; they must leave the hall consistent
            action(*args)

    @initialize(arrivals=st.lists(st.tuples(SERVICES, PRIORITY), min_size=3, max_size=12))
    def morning_queue(self, arrivals: list[tuple[str, str | None]]) -> None:
        for service, priority in arrivals:
            self.issue(service, priority)

    @rule(service=SERVICES, priority=PRIORITY)
    def issue(self, service: str, priority: str | None) -> None:
        self.engine.issue(service, priority, "device:kiosk", "desk")

    @rule(window=st.sampled_from(WINDOWS),
          action=st.sampled_from(["call_next", "call_next", "call_next", "recall", "no_show", "start", "start",
                                  "finish", "pause", "resume"]))
    def operate(self, window: int, action: str) -> None:
        self.attempt(getattr(self.engine, action), window, f"clerk{window}")

    @rule(window=st.sampled_from(WINDOWS), service=st.sampled_from([None, "id-card", "hukou", "pension"]),
          to_window=st.sampled_from([None, 1, 2, 3, 4]))
    def transfer(self, window: int, service: str | None, to_window: int | None) -> None:
        self.attempt(self.engine.transfer, window, f"clerk{window}", service, to_window)

    @rule(window=st.sampled_from(WINDOWS), prefix=st.sampled_from("ABL"), seq=st.integers(1, 6))
    def special_call(self, window: int, prefix: str, seq: int) -> None:
        self.attempt(self.engine.call_number, window, f"clerk{window}", f"{prefix}{seq:03d}")

    @rule(seconds=st.integers(1, 600))
    def time_passes(self, seconds: int) -> None:
        self.clock.advance(seconds=seconds)

    @invariant()
    def hall_is_consistent(self) -> None:
        with self.storage.read() as session:
            tickets = {t.id: t for t in session.scalars(select(Ticket))}
            states = list(session.scalars(select(WindowState)))
            events = session.scalars(select(TicketEvent).where(TicketEvent.ticket_id.is_not(None))
                                     .order_by(TicketEvent.id)).all()
        replayed: dict[int, str | None] = defaultdict(lambda: None)
        for event in events:
            before = replayed[event.ticket_id]
            assert before in TRANSITIONS[event.action], f"{event.action} on a {before} ticket {event.ticket_id}"
            replayed[event.ticket_id] = TRANSITIONS[event.action][before]
        current = [s.current_ticket_id for s in states if s.current_ticket_id is not None]
        assert len(current) == len(set(current)), "one ticket is current at two windows"
        at_window = {s.current_ticket_id: s.window_id for s in states if s.current_ticket_id}
        successors = Counter(t.transferred_from for t in tickets.values() if t.transferred_from)
        for ticket in tickets.values():
            assert ticket.status in TicketStatus.ALL
            assert replayed[ticket.id] == ticket.status, f"{ticket.number}: {ticket.status} != {replayed[ticket.id]}"
            open_at_window = ticket.status in (TicketStatus.CALLED, TicketStatus.SERVING)
            assert open_at_window == (ticket.id in at_window)
            if open_at_window:
                assert at_window[ticket.id] == ticket.window_id
            assert successors[ticket.id] == (1 if ticket.status == TicketStatus.TRANSFERRED else 0)
        originals = [(t.business_date, t.number) for t in tickets.values() if t.transferred_from is None]
        assert len(originals) == len(set(originals)), "a number was given twice"


HallMachine.TestCase.settings = settings(max_examples=80, stateful_step_count=50, deadline=None,
                                         suppress_health_check=[HealthCheck.too_slow])
TestHallProperties = HallMachine.TestCase
