"""Many kiosks and clerks at the same instant, in real threads, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

from server.clock import ManualClock
from server.config import parse_config
from server.db import Storage
from server.events import EventBus
from server.queue import QueueEngine
from tests.conftest import SMALL_HALL

# the small hall's services, with four windows that all serve id-card and hukou
FOUR_WINDOWS = SMALL_HALL[:SMALL_HALL.index("[[windows]]")] + "".join(f"""
[[windows]]
id = {n}
name = "{n}号窗口"
services = ["id-card", "hukou", "pension"]
""" for n in (1, 2, 3, 4))

ISSUERS, PER_ISSUER, CLERKS = 8, 40, 4


def run_together(workers: list[Callable[[], None]]) -> None:
    """Start every worker at the same instant; re-raise the first failure."""
    barrier = threading.Barrier(len(workers))
    failures: list[BaseException] = []

    def run(work: Callable[[], None]) -> None:
        try:
            barrier.wait()
            work()
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(work,)) for work in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures[0]


def make_engine(storage: Storage, clock: ManualClock) -> QueueEngine:
    engine = QueueEngine(storage, parse_config(FOUR_WINDOWS), clock, EventBus())
    engine.ensure_windows()
    for window in range(1, CLERKS + 1):
        engine.sign_in(window, f"clerk{window}")
    return engine


def test_kiosks_issuing_at_once_never_share_a_number(storage: Storage, clock: ManualClock) -> None:
    engine = make_engine(storage, clock)
    numbers: list[str] = []

    def kiosk(index: int) -> Callable[[], None]:
        def work() -> None:
            for n in range(PER_ISSUER):
                service = "id-card" if (index + n) % 3 else "hukou"
                numbers.append(engine.issue(service, None, f"k{index}", "kiosk").number)
        return work

    run_together([kiosk(i) for i in range(ISSUERS)])
    assert len(numbers) == ISSUERS * PER_ISSUER
    assert len(set(numbers)) == len(numbers), [n for n, c in Counter(numbers).items() if c > 1]
    by_prefix = Counter(number[0] for number in numbers)
    for prefix, count in by_prefix.items():  # no gaps either: 001..count
        assert {n for n in numbers if n[0] == prefix} == {f"{prefix}{i:03d}" for i in range(1, count + 1)}


def test_clerks_calling_at_once_never_get_the_same_ticket(storage: Storage, clock: ManualClock) -> None:
    engine = make_engine(storage, clock)
    issued = {engine.issue("id-card", None, "k", "kiosk").id for _ in range(120)}
    calls: list[tuple[int, int]] = []

    def clerk(window: int) -> Callable[[], None]:
        def work() -> None:
            for _ in range(30):
                ticket = engine.call_next(window, f"clerk{window}")
                assert ticket is not None
                calls.append((ticket.id, window))
        return work

    run_together([clerk(w) for w in range(1, CLERKS + 1)])
    called_ids = [ticket_id for ticket_id, _ in calls]
    assert len(called_ids) == len(set(called_ids)), "a ticket was called at two windows"
    assert set(called_ids) == issued
    assert engine.call_next(1, "clerk1") is None


def test_kiosks_and_clerks_together(storage: Storage, clock: ManualClock) -> None:
    engine = make_engine(storage, clock)
    numbers: list[str] = []
    calls: list[int] = []
    done = threading.Event()
    issuers_left = [ISSUERS]
    lock = threading.Lock()

    def kiosk(index: int) -> Callable[[], None]:
        def work() -> None:
            for _ in range(PER_ISSUER // 2):
                numbers.append(engine.issue("hukou", None, f"k{index}", "kiosk").number)
            with lock:
                issuers_left[0] -= 1
                if issuers_left[0] == 0:
                    done.set()
        return work

    def clerk(window: int) -> Callable[[], None]:
        def work() -> None:
            while True:
                finished = done.is_set()
                ticket = engine.call_next(window, f"clerk{window}")
                if ticket is not None:
                    calls.append(ticket.id)
                elif finished:
                    return
        return work

    run_together([kiosk(i) for i in range(ISSUERS)] + [clerk(w) for w in range(1, CLERKS + 1)])
    assert len(set(numbers)) == len(numbers) == ISSUERS * (PER_ISSUER // 2)
    assert len(calls) == len(set(calls)) == len(numbers)
