"""Issue 18 shown: two and three real `hallq run` processes serve one hall on PostgreSQL and Redis. Kiosks, clerks
and displays are spread over them; one process is killed (SIGKILL) mid-load; nothing a kiosk was answered for is
lost, no number is given twice, no ticket is called twice, every display hears every call, and the background jobs
run on exactly one process at a time and move when their process dies."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio
from sqlalchemy import create_engine, text

from tests.cluster import CLERKS, KIOSKS, REDIS, Cluster, hall_cluster
from tests.e2e.test_guide_browser import PHONE, book, now_in_hall, round_the_clock
from tests.live import LiveHall
from tests.process.test_printing_process import eventually

pytestmark = pytest.mark.slow

SERVICES = ("hukou-id", "dibao", "pension-enrol", "grain-subsidy")  # one for each of windows 1-4
PER_KIOSK = 24  # tickets each kiosk takes; the process dies after a third of them are answered
KILL_AFTER = KIOSKS * PER_KIOSK // 3
#: a request its process died with: before the answer, or in the middle of its body
CUT_OFF = (requests.ConnectionError, requests.exceptions.ChunkedEncodingError)


@dataclass
class Screen:
    """One display's Socket.IO connection and what it heard: every `called` push and its latest snapshot."""

    cluster: Cluster
    index: int
    called: list[int] = field(default_factory=list)
    snapshots: list[dict[str, Any]] = field(default_factory=list)
    gone: threading.Event = field(default_factory=threading.Event)
    client: socketio.Client | None = None

    def connect(self, to: LiveHall) -> Screen:
        self.client = self.cluster.display(self.index, to, called=lambda data: self.called.append(data["ticket"]["id"]),
                                           snapshot=self.snapshots.append, disconnect=lambda *_: self.gone.set())
        eventually(lambda: self.snapshots, f"display-{self.index + 1}'s first snapshot")
        return self

    def waiting(self) -> dict[str, int]:
        return waiting_of(self.snapshots[-1]) if self.snapshots else {}

    def close(self) -> None:
        if self.client is not None and self.client.connected:
            self.client.disconnect()


def waiting_of(snapshot: dict[str, Any]) -> dict[str, int]:
    return {service["code"]: service["waiting"] for service in snapshot["services"] if service["waiting"]}


@pytest.fixture
def screens() -> Iterator[list[Screen]]:
    opened: list[Screen] = []
    yield opened
    for screen in opened:
        screen.close()


class Load:
    """8 kiosks and 4 clerks at work on their processes at once, each in its own thread; one that finds its process
    gone moves to the next one alive (as a proxy would send it), having lost only the request in flight."""

    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        self.issued: dict[int, str] = {}  # ticket id → number, for every 201 a kiosk got
        self.calls: list[tuple[int, int]] = []  # (ticket id, port) for every call-next answered with a ticket
        self.kiosks_done = threading.Event()
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.clerks = [cluster.clerk(i) for i in range(CLERKS)]  # logged in before the load starts

    def underway(self, ports: set[int]) -> bool:
        """Tickets issued and called on each of these processes already."""
        with self.lock:
            return len(self.issued) >= KILL_AFTER and {port for _, port in self.calls} >= ports

    def run(self, meanwhile: Callable[[], None]) -> None:
        kiosks = [threading.Thread(target=self._guarded, args=(self._kiosk, i)) for i in range(KIOSKS)]
        clerks = [threading.Thread(target=self._guarded, args=(self._clerk, i)) for i in range(CLERKS)]
        for thread in kiosks + clerks:
            thread.start()
        try:
            meanwhile()
        finally:
            for thread in kiosks:
                thread.join(120)
            self.kiosks_done.set()
            for thread in clerks:
                thread.join(120)
        assert not self.errors, self.errors

    def _guarded(self, work: Callable[[int], None], i: int) -> None:
        try:
            work(i)
        except Exception as exc:  # a thread's failure fails the test, with what it was
            self.errors.append(f"{work.__name__}({i}): {exc!r}")

    def _alive(self, process: LiveHall) -> LiveHall:
        """``process`` if it still runs, else the next one alive."""
        alive = self.cluster.processes
        return process if process in alive else alive[0]

    def _kiosk(self, i: int) -> None:
        process, kiosk = self.cluster.spread(i), self.cluster.kiosk(i)
        for n in range(PER_KIOSK):
            process = self._alive(process)
            try:
                answer = kiosk.post(f"{process.url}/api/tickets", json={"service": SERVICES[(i + n) % 4]}, timeout=20)
            except CUT_OFF:
                continue  # the process died with this request: not answered, so not owed to anyone
            if answer.status_code != 201:
                self.errors.append(f"kiosk-{i + 1}: {answer.status_code} {answer.text[:200]}")
                return
            with self.lock:
                self.issued[answer.json()["ticket"]["id"]] = answer.json()["ticket"]["number"]

    def _clerk(self, i: int) -> None:
        process, clerk = self.cluster.spread(i), self.clerks[i]
        window = f"/api/windows/{i + 1}"
        while True:
            process = self._alive(process)
            try:
                called = clerk.post(f"{process.url}{window}/call-next", timeout=20)
                if called.status_code != 200:
                    self.errors.append(f"clerk{i + 1}: {called.status_code} {called.text[:200]}")
                    return
                ticket = called.json()["ticket"]
                if ticket is None:
                    if self.kiosks_done.wait(0.05):
                        return
                    continue
                with self.lock:
                    self.calls.append((ticket["id"], process.port))
                clerk.post(f"{process.url}{window}/finish", json={}, timeout=20)
            except CUT_OFF:
                continue  # its process died: the same session goes on at another one


def database_rows(cluster: Cluster, query: str) -> list[Any]:
    engine = create_engine(cluster.first.database_url or "")
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(query)))
    finally:
        engine.dispose()


@pytest.mark.parametrize("size", [2, 3])
def test_one_queue_on_several_processes_survives_the_death_of_one(tmp_path: Path, size: int,
                                                                   screens: list[Screen]) -> None:
    with hall_cluster(tmp_path, processes=size, displays=size + 1) as cluster:
        leaders = cluster.settled()  # each job led by exactly one process
        screens += [Screen(cluster, i).connect(cluster.spread(i)) for i in range(size)]
        ports = {process.port for process in cluster.processes}
        victim = leaders["ticker"]  # the process leading the jobs: the hardest one to lose
        orphan = next(s for s in screens if cluster.spread(s.index) is victim)

        load = Load(cluster)

        def kill_mid_load() -> None:
            eventually(lambda: load.underway(ports), f"{KILL_AFTER} tickets answered, calls on every process",
                       timeout=60)
            cluster.kill(victim)

        load.run(kill_mid_load)

        # every ticket a kiosk was answered for is in the database, under the number it was answered with
        tickets = dict(database_rows(cluster, "SELECT id, number FROM tickets"))
        assert len(load.issued) >= KILL_AFTER
        assert {i: tickets.get(i) for i in load.issued} == load.issued
        assert len(set(tickets.values())) == len(tickets), "a number given twice"
        # no ticket called twice: by the database, and by what the clerks were answered
        twice = database_rows(cluster, "SELECT ticket_id FROM ticket_events WHERE action = 'called' "
                                       "GROUP BY ticket_id HAVING count(*) > 1")
        assert twice == []
        called = [ticket for ticket, _ in load.calls]
        assert len(called) == len(set(called)) and set(called) <= tickets.keys()
        assert {port for _, port in load.calls} == ports, "calls made on every process, the killed one too"

        # every display still connected heard every answered call, each once, from whichever process: the killed
        # one's too (a call is pushed, through Redis, before the clerk is answered)
        for screen in screens:
            if screen is not orphan:
                try:
                    eventually(lambda s=screen: set(called) <= set(s.called), "")
                except AssertionError:
                    missed = [call for call in load.calls if call[0] not in screen.called]
                    pytest.fail(f"display-{screen.index + 1} missed {missed} of {len(called)} answered calls "
                                f"(ticket, port; the killed one: {victim.port})")
                assert not [t for t, n in Counter(screen.called).items() if n > 1], "a call shown twice"

        # the killed process's display lost its socket; it comes back on a survivor and resyncs from a snapshot
        assert orphan.gone.wait(20), "the killed process's display did not notice"
        orphan.snapshots.clear()
        orphan.connect(cluster.processes[0])

        # the jobs moved: each led by exactly one survivor; a new process takes none of them from it
        moved = cluster.settled(timeout=10)
        assert victim not in moved.values()
        newcomer = cluster.add()
        assert cluster.settled() == moved

        # residents waiting, their tickets taken at the process that leads nothing: every display (on any process,
        # the new one too) shows the same counts, broadcast by the snapshot's leader who heard of them over Redis
        screens.append(Screen(cluster, size).connect(newcomer))
        kiosk = cluster.kiosk(0)
        for n in range(5):
            kiosk.post(f"{newcomer.url}/api/tickets", json={"service": SERVICES[n % 2]}, timeout=10).raise_for_status()
        expected = {SERVICES[0]: 3, SERVICES[1]: 2}
        for screen in screens:
            if screen.client is not None and screen.client.connected:
                eventually(lambda s=screen: s.waiting() == expected,
                           f"display-{screen.index + 1}'s snapshot showing {expected}, has {screen.waiting()}")


def test_the_ticker_forfeits_once_and_moves_to_another_process_when_its_own_dies(tmp_path: Path) -> None:
    """An appointment past its grace period is given up by the ticker, once: one record, one hint to the guide
    desk (connected to the other process); the ticker's process killed, the survivor's ticker gives up the next."""
    with hall_cluster(tmp_path, processes=2, config=round_the_clock(tmp_path)) as cluster:
        ticker = cluster.settled()["ticker"]
        other = next(p for p in cluster.processes if p is not ticker)
        guide = other.staff("guide")
        hints: list[str] = []
        desk = socketio.Client(reconnection=False)
        desk.on("guide", lambda data: hints.append(data["date"]) if data["event"] == "appointment_forfeited" else 0)
        desk.connect(other.url, headers={"Cookie": "; ".join(f"{c.name}={c.value}" for c in guide.cookies)},
                     transports=["websocket"], wait_timeout=10)
        try:
            def forfeit(days_ago: int) -> str:
                day = (now_in_hall() - timedelta(days=days_ago)).date()
                book(cluster.first, day, 10, PHONE)
                eventually(lambda: guide.get(f"{other.url}/api/appointments?date={day}").json()["appointments"][0][
                    "status"] == "forfeited", f"the appointment of {day} forfeited by a ticker", timeout=20)
                eventually(lambda: day.isoformat() in hints, f"the guide desk told of {day}'s forfeit")
                return day.isoformat()

            before = forfeit(2)
            cluster.kill(ticker)
            assert cluster.settled(timeout=10)["ticker"] is other
            after = forfeit(3)
            assert hints == [before, after]
            records = database_rows(cluster, "SELECT count(*) FROM ticket_events WHERE action = "
                                             "'appointment_forfeited'")
            assert records == [(2,)]
        finally:
            desk.disconnect()


def test_a_device_revoked_on_one_process_loses_its_socket_on_another(tmp_path: Path, screens: list[Screen]) -> None:
    with hall_cluster(tmp_path, processes=2, displays=2) as cluster:
        first, second = cluster.processes
        screen = Screen(cluster, 1).connect(second)
        screens.append(screen)
        revoked = cluster.admin(first).post(f"{first.url}/api/devices/display-2/revoke", json={}, timeout=10)
        assert revoked.status_code == 200, revoked.text
        assert screen.gone.wait(10), "display-2's socket on the other process stayed open"
        with pytest.raises(socketio.exceptions.ConnectionError):
            Screen(cluster, 1).connect(first)


def test_one_process_without_a_message_queue_says_so(tmp_path: Path) -> None:
    """Without HALLQ_MESSAGE_QUEUE nothing changes (the rest of the suite runs so); the health page says it."""
    live = LiveHall(tmp_path / "instance").prepare()
    live.environ.pop("HALLQ_MESSAGE_QUEUE", None)
    live.start()
    try:
        health = live.staff("admin").get(f"{live.url}/api/health", timeout=10).json()["cluster"]
        assert health["processes"] == "one" and health["leads"] == "all"
    finally:
        live.stop()


def test_a_message_queue_with_sqlite_is_refused_at_start(tmp_path: Path) -> None:
    live = LiveHall(tmp_path / "instance").prepare()
    live.environ["HALLQ_MESSAGE_QUEUE"] = REDIS
    with pytest.raises(RuntimeError, match="hallq run exited") as refused:
        live.start()
    assert "server.message_queue" in str(refused.value) and "PostgreSQL" in str(refused.value)
