"""Printer agents known to every process of the hall: each process's hub tells the others of the agents it accepts
and loses, over buses linked as server/cluster.py's RedisRelay links them; the process leading the printer sends
the job to the agent's socket wherever it is (python-socketio carries it through the message queue: stood in for
here by a recording server, the only part that cannot exist without sockets)."""

from __future__ import annotations

from typing import Any

import pytest
from socketio.exceptions import TimeoutError as AckTimeout

from server.clock import ManualClock
from server.config import parse_config
from server.events import EventBus, HallEvent
from server.printing.agent import AgentHub
from server.printing.device import PrinterFault, PrinterStatus
from server.printing.settings import PrinterConfig
from tests.api.test_printing import printing_hall

PRINTER: PrinterConfig = parse_config(printing_hall(9100)).printing.printers[0]  # kiosk-1's


class Sockets:
    """python-socketio's server as the hub uses it: ``call`` to one socket id, answered or timing out."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.answer: Any = {"ok": True, "status": "ok", "message": "打印机正常"}

    def call(self, event: str, data: dict[str, Any], to: str, timeout: float) -> Any:
        assert event == "print_job" and data["data"] and timeout == 5
        self.calls.append(to)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


class Process:
    def __init__(self, clock: ManualClock):
        self.bus = EventBus()
        self.sockets = Sockets()
        self.hub = AgentHub(self.sockets, self.bus, clock)
        self.heard: list[str] = []
        self.hub.on_change(self.heard.append)
        #: the processes that hear this one's events (RedisRelay's part)
        self.peers: list[Process] = []
        self.bus.subscribe_batches(self._relay)

    def _relay(self, events: list[HallEvent]) -> None:
        for peer in self.peers:
            peer.bus.receive(events)

    def deliver(self) -> PrinterStatus:
        return self.hub.deliver(PRINTER, b"\x1b@ticket", 5)


@pytest.fixture
def hall(clock: ManualClock) -> list[Process]:
    processes = [Process(clock) for _ in range(3)]
    for one in processes:
        for other in processes:
            if one is not other:
                one.peers.append(other)
    return processes


def test_the_leader_prints_through_an_agent_connected_to_another_process(hall: list[Process]) -> None:
    leader, elsewhere, _ = hall
    assert not leader.hub.connected(PRINTER)
    with pytest.raises(PrinterFault) as offline:
        leader.deliver()
    assert offline.value.code == "agent_offline"

    elsewhere.hub.attach("kiosk-1", "sid-b")
    assert leader.hub.connected(PRINTER) and leader.heard == ["kiosk-1"]
    assert leader.deliver() == PrinterStatus("ok", "打印机正常")
    assert leader.sockets.calls == ["sid-b"] and elsewhere.sockets.calls == []

    assert elsewhere.hub.detach("sid-b") == "kiosk-1"
    assert not leader.hub.connected(PRINTER) and leader.heard == ["kiosk-1", "kiosk-1"]


def test_an_agent_that_reconnected_elsewhere_is_reached_where_it_is_now(hall: list[Process]) -> None:
    leader, first, second = hall
    first.hub.attach("kiosk-1", "old")
    second.hub.attach("kiosk-1", "new")  # the old socket is not closed yet on the first process
    leader.deliver()
    first.hub.detach("old")  # then it is: the agent is still connected, on the second
    assert leader.hub.connected(PRINTER)
    leader.deliver()
    assert leader.sockets.calls == ["new", "new"]
    leader.hub.attach("kiosk-1", "here")  # an agent on the leader itself comes first
    leader.deliver()
    assert leader.sockets.calls[-1] == "here"


def test_a_roll_call_forgets_the_agents_of_a_process_that_died(hall: list[Process]) -> None:
    leader, alive, dying = hall
    alive.hub.attach("kiosk-1", "on-alive")
    dying.hub.attach("kiosk-1", "on-dying")
    leader.peers.remove(dying)  # SIGKILL: it says nothing more, hears nothing more
    alive.peers.remove(dying)
    leader.hub.roll_call()  # the leader took a printer over: who holds which agent, now?
    leader.deliver()
    assert leader.sockets.calls == ["on-alive"]


def test_an_unacknowledged_job_forgets_the_socket_it_went_to(hall: list[Process]) -> None:
    leader, elsewhere, _ = hall
    elsewhere.hub.attach("kiosk-1", "sid-b")
    leader.sockets.answer = AckTimeout()  # its process died unannounced, say
    with pytest.raises(PrinterFault) as unacknowledged:
        leader.deliver()
    assert unacknowledged.value.code == "unacknowledged" and "补打" in unacknowledged.value.message
    assert not leader.hub.connected(PRINTER) and leader.heard[-1] == "kiosk-1"

    leader.sockets.answer = {"ok": False, "error": {"code": "paper_out", "message": "打印机缺纸"}}
    elsewhere.hub.attach("kiosk-1", "sid-b2")
    with pytest.raises(PrinterFault) as paper_out:
        leader.deliver()
    assert paper_out.value.code == "paper_out" and leader.hub.connected(PRINTER)  # an answer: still there
