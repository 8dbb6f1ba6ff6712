"""Fair calling (服务行为标准 一视同仁; 7.2.3 严格按照先后顺序): a window calls by arrival across all its items;
绿色通道, checked-in appointments and a window's favoured items may go ahead only within their bounds; nobody starves.

The state machine plays random halls (windows sharing items in any pattern, favoured items, bounds) with random
arrivals, priorities, appointments, transfers and no-shows. It keeps its own count of how often each waiting ticket
was passed (a window that may call it called someone who came later) and checks every call against the bounds; at
the end every window keeps calling until nobody waits.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, rule
from sqlalchemy import select

from server import queue_sql as sql
from server.clock import ManualClock, business_date
from server.config import ConfigError, HallConfig, Window, parse_config
from server.db import Storage
from server.events import EventBus
from server.models import Ticket, TicketStatus
from server.policy import Candidate, Rule, choose_next
from server.queue import AppointmentClaim, DomainError, QueueEngine, _candidates
from tests.conftest import FreshHallMachine, opening_time

ITEMS = ("a", "b", "c", "d")
PREFIXES = {"a": "A", "b": "B", "c": "C", "d": "D"}


def hall_toml(windows: list[tuple[list[str], list[str]]], priority_bound: int = 2, max_passed: int = 2,
              max_extra_wait_minutes: int = 20) -> str:
    """A hall of the items its windows serve: each window is (services, favoured services)."""
    served = [item for item in ITEMS if any(item in services for services, _ in windows)]
    parts = ['[hall]\nname = "公平叫号测试中心"\n',
             f"[queue]\npriority_bound = {priority_bound}\nmax_passed = {max_passed}\n"
             f"max_extra_wait_minutes = {max_extra_wait_minutes}\n"]
    parts += [f'[[services]]\ncode = "{item}"\nname = "事项{item}"\ncategory = "户籍管理"\n'
              f'prefix = "{PREFIXES[item]}"\n' for item in served]
    for i, (services, favour) in enumerate(windows, start=1):
        listed = ", ".join(f'"{s}"' for s in services)
        favoured = ", ".join(f'"{s}"' for s in favour)
        parts.append(f'[[windows]]\nid = {i}\nname = "{i}号窗口"\nservices = [{listed}]\nfavour = [{favoured}]\n')
    return "\n".join(parts)


def at(minutes: float, ticket_id: int = 0, **kind: object) -> Candidate:
    start = opening_time()
    return Candidate(ticket_id=ticket_id or int(minutes * 10), service=str(kind.get("service", "a")),
                     queue_at=start + timedelta(minutes=minutes), issued_at=start + timedelta(minutes=minutes),
                     priority=kind.get("priority"), appointment=bool(kind.get("appointment")))  # type: ignore[arg-type]


RULE = Rule(priority_bound=2, max_passed=2, max_extra_wait=timedelta(minutes=20))


# ---------------------------------------------------------------- the rule, pure

def test_the_earliest_arrival_is_called_whatever_its_item() -> None:
    line = [at(1, service="z"), at(2, service="a"), at(3, service="b")]
    assert choose_next(line, lambda c: 0, RULE) == line[0]


def test_green_channel_then_appointments_go_first_until_someone_earlier_was_passed_the_bound() -> None:
    walk_in, booked, urgent = at(1), at(2, appointment=True), at(3, priority="elderly")
    line = [walk_in, booked, urgent]
    assert choose_next(line, lambda c: 0, RULE) == urgent
    assert choose_next(line[:2], lambda c: 1, RULE) == booked
    assert choose_next(line, lambda c: 2 if c == walk_in else 0, RULE) == walk_in


def test_a_favoured_item_goes_first_within_both_bounds() -> None:
    favouring = Rule(priority_bound=2, max_passed=2, max_extra_wait=timedelta(minutes=20), favour=frozenset({"a"}))
    other, own = at(1, service="b"), at(15, service="a")
    assert choose_next([other, own], lambda c: 0, favouring) == own
    assert choose_next([other, own], lambda c: 2, favouring) == other  # passed twice already
    late = at(22, service="a")  # came 21 minutes after the one it would pass
    assert choose_next([other, late], lambda c: 0, favouring) == other


def test_extended_service_is_strict_arrival() -> None:
    strict = Rule(priority_bound=5, max_passed=5, max_extra_wait=timedelta(hours=1), strict=True)
    assert choose_next([at(1), at(2, priority="military")], lambda c: 0, strict).queue_at == at(1).queue_at


# ---------------------------------------------------------------- configuration

def test_favour_names_services_of_its_window_and_queue_keys_are_checked() -> None:
    good = hall_toml([(["a", "b"], ["a"]), (["b"], [])])
    assert parse_config(good).windows[0].favour == ("a",)
    with pytest.raises(ConfigError, match=r"windows\[1\]\.favour.*'a' is not one of this window's services"):
        parse_config(hall_toml([(["a", "b"], []), (["b"], ["a"])]))
    with pytest.raises(ConfigError, match=r"queue\.max_pased.*unknown key"):
        parse_config(good.replace("max_passed = 2", "max_pased = 2"))
    with pytest.raises(ConfigError, match=r"queue\.max_extra_wait_minutes.*0 or more"):
        parse_config(good.replace("max_extra_wait_minutes = 20", "max_extra_wait_minutes = -1"))


# ---------------------------------------------------------------- the engine

def engine_for(storage: Storage, config: HallConfig, clock: ManualClock) -> QueueEngine:
    engine = QueueEngine(storage, config, clock, EventBus())
    engine.ensure_windows()
    for window in config.windows:
        engine.sign_in(window.id, f"clerk{window.id}")
    return engine


def test_a_shared_window_calls_by_arrival_and_tells_each_resident_their_true_place(
        storage: Storage, clock: ManualClock) -> None:
    """The issue's own example: only the 综合受理 window open; Z001 came first, then A001, then Z002."""
    config = parse_config(hall_toml([(["a", "b", "c", "d"], [])]).replace('prefix = "D"', 'prefix = "Z"'))
    engine = engine_for(storage, config, clock)
    tickets = []
    for item in ("d", "a", "d"):
        clock.advance(seconds=30)
        tickets.append(engine.issue(item, None, "device:kiosk-1", "kiosk"))
    assert [t.waiting_ahead for t in tickets] == [0, 1, 2]
    assert [engine.call_next(1, "clerk1").number for _ in range(3)] == ["Z001", "A001", "Z002"]


def test_a_favouring_window_never_starves_the_items_it_only_helps_with(storage: Storage, clock: ManualClock) -> None:
    config = parse_config(hall_toml([(["a", "b"], ["a"])], max_passed=2, max_extra_wait_minutes=60))
    engine = engine_for(storage, config, clock)
    helped = engine.issue("b", None, "device:kiosk-1", "kiosk").number
    own = []
    for _ in range(4):
        clock.advance(minutes=1)
        own.append(engine.issue("a", None, "device:kiosk-1", "kiosk").number)
    called = [engine.call_next(1, "clerk1").number for _ in range(5)]
    assert called == [own[0], own[1], helped, own[2], own[3]]  # passed twice (max_passed), then its turn


class FairHall(FreshHallMachine):
    """Random halls, random days: every call keeps the bounds; in the end everyone is called."""

    def __init__(self) -> None:
        super().__init__()
        self.passes: dict[int, int] = {}
        self.appointments = itertools.count(1)

    def teardown(self) -> None:
        try:
            if hasattr(self, "engine"):
                self.everyone_is_called()
        finally:
            super().teardown()

    @initialize(windows=st.lists(st.tuples(st.sets(st.sampled_from(ITEMS), min_size=1),
                                           st.sets(st.sampled_from(ITEMS), min_size=1)), min_size=1, max_size=4),
                bounds=st.tuples(st.integers(0, 3), st.integers(1, 3), st.sampled_from([0, 2, 5, 10])))
    def open_the_hall(self, windows: list[tuple[set[str], set[str]]], bounds: tuple[int, int, int]) -> None:
        layout = [(sorted(services), sorted(favour & services)) for services, favour in windows]
        self.config = parse_config(hall_toml(layout, *bounds))
        self.engine = engine_for(self.storage, self.config, self.clock)

    @rule(item=st.sampled_from(ITEMS), kind=st.sampled_from(["walk-in", "walk-in", "walk-in", "green", "booked"]))
    def arrive(self, item: str, kind: str) -> None:
        if self.config.service(item) is None:
            return
        claim = AppointmentClaim(next(self.appointments), lambda *_: None) if kind == "booked" else None
        self.engine.issue(item, "elderly" if kind == "green" else None, "staff:guide", "desk", appointment=claim)

    @rule(items=st.lists(st.sampled_from(ITEMS), min_size=2, max_size=6), gap=st.sampled_from([0, 60, 200, 420]))
    def rush(self, items: list[str], gap: int) -> None:
        for item in items:
            self.arrive(item, "walk-in")
            self.clock.advance(seconds=gap)

    @rule(seconds=st.sampled_from([0, 30, 90, 200, 420]))
    def time_passes(self, seconds: int) -> None:
        self.clock.advance(seconds=seconds)

    @rule(window=st.integers(1, 4))
    def call(self, window: int) -> None:
        if self.config.window(window) is None:
            return
        self.call_and_check(window)

    @rule(window=st.integers(1, 4), item=st.sampled_from((None, *ITEMS)), to_window=st.sampled_from((None, 1, 2, 3, 4)),
          no_show=st.booleans())
    def send_on(self, window: int, item: str | None, to_window: int | None, no_show: bool) -> None:
        try:
            if no_show:
                self.engine.no_show(window, f"clerk{window}")
            else:
                self.engine.transfer(window, f"clerk{window}", item, to_window)
        except DomainError:
            pass  # nobody at that window, an unknown item or window: refused, nothing changed

    def call_and_check(self, window_id: int) -> bool:
        window = self.config.window(window_id)
        assert window is not None
        waiting = [t for t in self.waiting() if (t.target_window == window_id if t.target_window is not None
                                                 else t.service in window.services)]
        expected = self.choice_over_the_whole_line(window)
        called = self.engine.call_next(window_id, f"clerk{window_id}")
        if called is None:
            assert not waiting, "a window said nobody waits while someone it may call does"
            return False
        assert called.id == expected, "the front of the line read for a call chose otherwise than the whole line"
        chosen = next(t for t in waiting if t.id == called.id)
        precedence = chosen.priority is not None or chosen.appointment_id is not None
        favoured = not precedence and chosen.service in window.favour
        rules = self.config.rules
        for earlier in waiting:
            if (earlier.queue_at, earlier.id) >= (chosen.queue_at, chosen.id):
                continue
            assert precedence or favoured, f"{chosen.number} passed {earlier.number} without precedence"
            self.passes[earlier.id] = self.passes.get(earlier.id, 0) + 1
            bound = rules.priority_bound if precedence else rules.max_passed
            assert self.passes[earlier.id] <= bound, f"{earlier.number} passed {self.passes[earlier.id]} times"
            if favoured:
                extra = chosen.queue_at - earlier.queue_at
                assert extra <= timedelta(minutes=rules.max_extra_wait_minutes), \
                    f"{chosen.number} went ahead of {earlier.number}, who came {extra} earlier"
        return True

    def choice_over_the_whole_line(self, window: Window) -> int | None:
        """Whom the rule picks reading every waiting ticket the window may call (a call reads only the front of the
        line, sql.CallingLine: it must pick the same)."""
        day = business_date(self.clock.now(), self.config.timezone)
        with self.storage.read() as session:
            connection = session.connection()
            line = _candidates(connection.execute(sql.window_waiting(window), {"day": day}))
            rule = self.engine._rule_now(connection, window.id, day)
            choice = choose_next(line, self.engine._passes(connection, day, line), rule)
        return choice.ticket_id if choice else None

    def waiting(self) -> list[Ticket]:
        with self.storage.read() as session:
            return list(session.scalars(select(Ticket).where(Ticket.status == TicketStatus.WAITING)))

    def everyone_is_called(self) -> None:
        for _ in range(500):
            if not any([self.call_and_check(window.id) for window in self.config.windows]):
                break
        assert not self.waiting(), "somebody still waits after every window called until nobody was left"


FairHall.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None,
                                      suppress_health_check=[HealthCheck.too_slow])
TestFairHall = FairHall.TestCase
