"""Several real `hallq run` processes of one hall on a scratch PostgreSQL database and the machine's Redis (issue
18), for the process tests and bench/.

    with hall_cluster(tmp_path, processes=3) as cluster:
        kiosk = cluster.kiosk(5)         # kiosk-6's session: post to cluster.spread(5).url (or any process)
        clerk = cluster.clerk(2)         # clerk3, logged in on cluster.spread(2), signed in to 3号窗口
        display = cluster.display(0, called=print)  # display-1's Socket.IO client on cluster.spread(0)
        leaders = cluster.settled()      # {"ticker": LiveHall, "snapshot": LiveHall, …} from each /api/health
        cluster.kill(leaders["ticker"])  # SIGKILL, and out of cluster.processes
        cluster.add()                    # one more process of the same hall, started

Kiosk ``i``, clerk ``i`` and display ``i`` go to process ``i % N`` (``cluster.spread(i)``), so every process serves
some of each.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import socketio

from tests.conftest import scratch_postgres
from tests.live import ROOT, LiveHall

REDIS = "redis://127.0.0.1:6379/0"
KIOSKS = 8
CLERKS = 4  # clerk1…clerk4, each signed in to the window of its number
JOBS = ("snapshot", "ticker")


@dataclass
class Cluster:
    """The processes of one hall (killed ones removed), and the devices and clerks every test needs."""

    processes: list[LiveHall]
    kiosk_tokens: list[str]
    display_tokens: list[str]
    _admins: dict[int, requests.Session] = field(default_factory=dict)

    @property
    def first(self) -> LiveHall:
        return self.processes[0]

    def spread(self, i: int) -> LiveHall:
        """The process kiosk, clerk or display ``i`` talks to."""
        return self.processes[i % len(self.processes)]

    def kiosk(self, i: int) -> requests.Session:
        """kiosk-``i+1``'s session (a token: it may post to any process)."""
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.kiosk_tokens[i]}"
        return session

    def clerk(self, i: int, to: LiveHall | None = None) -> requests.Session:
        """clerk ``i+1`` logged in on ``to`` (default ``spread(i)``) and signed in to window ``i+1``; the session
        is the hall's, so it works on every process."""
        return (to or self.spread(i)).staff(f"clerk{i + 1}", window=i + 1)

    def display(self, i: int, to: LiveHall | None = None, **handlers: Callable[..., object]) -> socketio.Client:
        """display-``i+1`` connected over a websocket to ``to`` (default ``spread(i)``), with ``handlers`` (event
        name → function) registered before it connects, so its first snapshot is not missed."""
        client = socketio.Client(reconnection=False)
        for event, handler in handlers.items():
            client.on(event, handler)
        client.connect((to or self.spread(i)).url, auth={"token": self.display_tokens[i]}, transports=["websocket"],
                       wait_timeout=10)
        return client

    def admin(self, process: LiveHall) -> requests.Session:
        if process.port not in self._admins:
            self._admins[process.port] = process.staff("admin")
        return self._admins[process.port]

    def health(self, process: LiveHall) -> dict[str, object]:
        """The process's ``cluster`` part of /api/health: process, processes, leads."""
        answer = self.admin(process).get(f"{process.url}/api/health", timeout=10)
        answer.raise_for_status()
        return answer.json()["cluster"]

    def leaders(self) -> dict[str, LiveHall]:
        """Which process leads each job, by asking every process; raises when a job is led twice (never allowed)
        and leaves out a job nobody leads (allowed for at most ``TRY_EVERY`` after its leader died)."""
        leaders: dict[str, LiveHall] = {}
        for process in self.processes:
            for job in self.health(process)["leads"]:
                if job in leaders:
                    raise AssertionError(f"{job} led by two processes: ports {leaders[job].port} and {process.port}")
                leaders[job] = process
        return leaders

    def settled(self, timeout: float = 15.0) -> dict[str, LiveHall]:
        """``leaders()`` once every job of ``JOBS`` has its leader (polling, for at most ``timeout`` s)."""
        deadline = time.monotonic() + timeout
        while True:
            leaders = self.leaders()
            if set(JOBS) <= leaders.keys():
                return leaders
            if time.monotonic() > deadline:
                raise AssertionError(f"not within {timeout} s: a leader for each of {JOBS}, have {sorted(leaders)}")
            time.sleep(0.1)

    def kill(self, process: LiveHall) -> None:
        """SIGKILL: no clean shutdown, its sockets closed by the kernel, as when the process crashes."""
        assert process.process is not None
        process.process.send_signal(signal.SIGKILL)
        process.process.wait(timeout=10)
        process.process = None
        self.processes.remove(process)
        self._admins.pop(process.port, None)

    def add(self) -> LiveHall:
        """Start one more process of the hall."""
        process = self.first.sibling().start()
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in self.processes:
            process.stop()


@contextmanager
def hall_cluster(folder: Path, processes: int = 2, displays: int = 4, config: Path = ROOT / "config.toml",
                 database_url: str | None = None) -> Iterator[Cluster]:
    """``processes`` running processes of one hall (``config``, on a scratch PostgreSQL database unless
    ``database_url`` is given) with kiosk-1…8, display-1…``displays`` and clerk1…4; all stopped after."""
    _redis_answers()
    with _database(database_url) as url:
        first = LiveHall(folder / "instance", config=config, database_url=url)
        first.environ["HALLQ_MESSAGE_QUEUE"] = REDIS
        first.prepare()
        kiosks, screens = _devices(first, displays)
        cluster = Cluster([first], kiosks, screens)
        try:
            first.start()
            for _ in range(processes - 1):
                cluster.add()
            yield cluster
        finally:
            cluster.stop()


def _redis_answers() -> None:
    """Skip, as scratch_postgres does without PostgreSQL, when no Redis answers here."""
    import redis

    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.skip(f"several processes need Redis: none answers at {REDIS} ({exc})")


@contextmanager
def _database(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    with scratch_postgres() as scratch:
        yield scratch


def _devices(first: LiveHall, displays: int) -> tuple[list[str], list[str]]:
    """kiosk-1 and display-1 of ``prepare()``, the others added; clerk3 and clerk4 added (in-process: faster)."""
    from server.hall import Hall, Settings

    hall = Hall.open(Settings.resolve(first.config, first.instance, first.database_url))
    try:
        kiosks = [first.kiosk_token, *(hall.accounts.add_device(f"kiosk-{i}", "kiosk") for i in range(2, KIOSKS + 1))]
        screens = [first.display_token,
                   *(hall.accounts.add_device(f"display-{i}", "display") for i in range(2, displays + 1))]
        for i in range(3, CLERKS + 1):
            first.passwords[f"clerk{i}"] = f"clerk{i}-pass-2026"
            hall.accounts.add_user(f"clerk{i}", "clerk", first.passwords[f"clerk{i}"], display_name=f"clerk{i}")
    finally:
        hall.storage.dispose()
    return kiosks, screens
