"""A printer led by another process: its recent jobs kept until their outcome is heard, printed on taking the printer
over; its state adopted from the leader. One spooler stands for each process, printing to a real TCP printer; the
clock is injected."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator

import pytest

from server.clock import ManualClock
from server.config import parse_config
from server.events import HallEvent, TicketView
from server.printing.spooler import PRINTER_STATE, PRINTER_STATES_ASKED, Spooler, ThreadRuntime
from tests.api.test_printing import printing_hall
from tests.printing.escpos_decode import decode
from tests.printing.fake_printer import FakePrinter

PRINTER = "kiosk-printer"
NUMBER = re.compile(r"^[A-Z]{1,2}\d{3}$")


def printed(printer: FakePrinter, count: int) -> list[str]:
    """The numbers on the tickets printed, once there are ``count`` (status reads are connections without paper)."""
    def numbers(jobs: list[bytes]) -> list[str]:
        return [next(t for t in d.double_size_texts if NUMBER.match(t)) for job in jobs if (d := decode(job)).cuts]

    return numbers(printer.wait_until(lambda jobs: len(numbers(jobs)) >= count, f"{count} tickets printed"))


def eventually(check: Callable[[], object], what: str, timeout: float = 5.0) -> None:
    """Wait for a spooler's worker thread to have done something."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.01)


class Process:
    """The spooler of one server process, leading the printer or not, and what it publishes."""

    def __init__(self, printer: FakePrinter, clock: ManualClock):
        self.leading: set[str] = set()
        self.published: list[HallEvent] = []
        self.changes: list[list[dict[str, object]]] = []
        self.recorded: list[int] = []
        self.spooler = Spooler(parse_config(printing_hall(printer.port)), self._record, clock, "http://hall.test",
                               ThreadRuntime(), leads=lambda name: name in self.leading,
                               publish=self.published.extend)
        self.spooler.on_change(self.changes.append)

    def _record(self, ticket_id: int, _number: str, _for: str, _printer: str, _error: object) -> None:
        self.recorded.append(ticket_id)


@pytest.fixture
def printer() -> Iterator[FakePrinter]:
    with FakePrinter() as fake:
        yield fake


@pytest.fixture
def processes(printer: FakePrinter, clock: ManualClock) -> Iterator[tuple[Process, Process]]:
    pair = (Process(printer, clock), Process(printer, clock))
    yield pair
    for process in pair:
        process.spooler.stop()


def issued(clock: ManualClock, ticket_id: int) -> HallEvent:
    ticket = TicketView(id=ticket_id, number=f"A{ticket_id:03d}", service="id-card", service_name="身份证办理",
                        status="waiting", priority=None, waiting_ahead=0, issued_at=clock.now(), called_at=None,
                        window=None, recalls=0, channel="kiosk", track_token=f"token-{ticket_id}")
    return HallEvent("issued", clock.now(), ticket, actor="device:kiosk-1")


def outcome(clock: ManualClock, ticket_id: int, kind: str = "printed") -> HallEvent:
    return HallEvent(kind, clock.now(), actor=f"printer:{PRINTER}",
                     detail={"printer": PRINTER, "for": "device:kiosk-1", "ticket": ticket_id,
                             "number": f"A{ticket_id:03d}"})


def test_taking_a_printer_over_prints_the_jobs_whose_outcome_was_never_heard_and_that_are_still_young(
        processes: tuple[Process, Process], printer: FakePrinter, clock: ManualClock) -> None:
    _, follower = processes
    spooler = follower.spooler
    for ticket_id in (1, 2, 3):  # the leader (another process) had these to print
        spooler.on_event(issued(clock, ticket_id))
    spooler.on_event(outcome(clock, 2))  # printed: told
    clock.advance(seconds=30)
    spooler.on_event(issued(clock, 4))
    spooler.on_event(outcome(clock, 4, "print_failed"))  # failed, told: staff reprint it, not the next leader
    spooler.on_event(issued(clock, 5))
    assert spooler.unsettled(PRINTER) == [1, 3, 5]
    clock.advance(seconds=35)  # 1 and 3 were heard of 65 s ago: past the 60 s job_expiry, the resident has gone
    assert spooler.unsettled(PRINTER) == [5]
    spooler.start()
    assert printer.jobs == []  # not its printer: no status read, no paper

    follower.leading.add(PRINTER)  # the leader died; this process took the lock
    assert spooler.take_over(PRINTER) == 1
    assert printed(printer, 1) == ["A005"]
    assert spooler.unsettled(PRINTER) == []
    spooler.on_event(issued(clock, 6))  # now it leads: printed at once, kept nowhere
    assert printed(printer, 2) == ["A005", "A006"]
    assert spooler.unsettled(PRINTER) == []


def test_the_leader_keeps_nothing_back_and_prints_each_ticket_once(
        processes: tuple[Process, Process], printer: FakePrinter, clock: ManualClock) -> None:
    leader, _ = processes
    leader.leading.add(PRINTER)
    leader.spooler.start()
    for ticket_id in (1, 2):
        leader.spooler.on_event(issued(clock, ticket_id))
    assert printed(printer, 2) == ["A001", "A002"]
    assert leader.spooler.unsettled(PRINTER) == []
    assert leader.spooler.take_over(PRINTER) == 0  # the lock regained: nothing kept, nothing printed again


def test_a_process_that_lost_the_printer_with_jobs_queued_keeps_them_for_whoever_leads_it_next(
        processes: tuple[Process, Process], printer: FakePrinter, clock: ManualClock) -> None:
    former, _ = processes
    former.leading.add(PRINTER)
    for ticket_id in (1, 2):
        former.spooler.on_event(issued(clock, ticket_id))  # queued: its worker has not got to them yet
    former.leading.clear()  # its connection to the database broke: the lock is gone
    former.spooler.start()
    eventually(lambda: former.spooler.unsettled(PRINTER) == [1, 2], "the queued jobs kept back")
    assert printer.jobs == [] and former.recorded == []  # not printed beside the new leader
    former.leading.add(PRINTER)  # the lock regained (no other process took it meanwhile)
    assert former.spooler.take_over(PRINTER) == 2
    assert printed(printer, 2) == ["A001", "A002"]


def test_the_printer_state_its_leader_reads_is_adopted_elsewhere_silently_and_kept_on_taking_over(
        processes: tuple[Process, Process], printer: FakePrinter, clock: ManualClock) -> None:
    leader, follower = processes
    printer.paper = "out"
    leader.leading.add(PRINTER)
    leader.spooler.start()
    follower.spooler.start()
    asked = leader.published[0]
    assert asked.kind == PRINTER_STATES_ASKED  # a process starting asks the leaders for their printers' states
    eventually(lambda: len(leader.published) == 2, "the first status read published")
    read_at = clock.now()
    clock.advance(seconds=5)
    leader.spooler.check(PRINTER)
    eventually(lambda: len(leader.published) == 3, "the second status read published")
    states = leader.published[1:]
    assert [(e.kind, (e.detail or {})["status"], (e.detail or {})["checked_at"]) for e in states] == [
        (PRINTER_STATE, "paper_out", read_at.isoformat()), (PRINTER_STATE, "paper_out", clock.now().isoformat())]
    assert len(leader.changes) == 1  # its screens hear of the change only; every read goes to the other processes

    assert follower.spooler.states[PRINTER].status.code == "unknown"
    follower.spooler.on_event(states[0])  # relayed by Redis in the server
    state = follower.spooler.printers()[0]
    assert (state["status"], state["ok"], state["checked_at"]) == ("paper_out", False, read_at.isoformat())
    assert follower.changes == [] and follower.published == [asked]  # the leader told the screens itself

    leader.spooler.on_event(asked)  # another process started: the leader tells it at once
    assert leader.published[-1].kind == PRINTER_STATE and len(leader.published) == 4
    follower.spooler.on_event(asked)  # it leads nothing: nothing to tell
    assert follower.published == [asked]

    follower.leading.add(PRINTER)
    follower.spooler.on_event(HallEvent(PRINTER_STATE, clock.now(), detail={**(states[0].detail or {}),
                                                                            "status": "ok"}))
    assert follower.spooler.states[PRINTER].status.code == "paper_out"  # it leads now: only its own reads count
