"""`hallq backup` against a real `hallq run` in the middle of a burst of issuing and calling, then `hallq restore`
into a new instance: every ticket a kiosk was answered for before the backup started is there, and every call
the clerk was answered for too. SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import closing, nullcontext
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select

from server.db import Storage
from server.models import Ticket
from tests.conftest import scratch_postgres
from tests.live import LiveHall, hallq

pytestmark = pytest.mark.slow

SERVICES = ["hukou-id", "hukou-book", "hukou-birth", "hukou-move"]  # all called at 1号窗口


class Burst:
    """Kiosks issuing and a clerk calling as fast as the server answers; each answer kept with when it came."""

    def __init__(self, live: LiveHall):
        self.live = live
        self.issued: list[tuple[float, dict[str, Any]]] = []
        self.called: list[tuple[float, dict[str, Any]]] = []
        self.refused = 0
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._kiosk, args=(i,)) for i in range(3)]
        self.threads.append(threading.Thread(target=self._clerk))

    def __enter__(self) -> Burst:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def _kiosk(self, index: int) -> None:
        session, n = self.live.kiosk(), index
        while not self.stop.is_set():
            reply = session.post(f"{self.live.url}/api/tickets", json={"service": SERVICES[n % 4]}, timeout=10)
            n += 1
            if reply.status_code == 201:
                self.issued.append((time.monotonic(), reply.json()["ticket"]))
            else:
                self.refused += 1

    def _clerk(self) -> None:
        session = self.live.staff("clerk1", window=1)
        while not self.stop.is_set():
            reply = session.post(f"{self.live.url}/api/windows/1/call-next", timeout=10)
            if reply.ok and reply.json()["ticket"]:
                self.called.append((time.monotonic(), reply.json()["ticket"]))
            elif not reply.ok:
                self.refused += 1

    def wait_for(self, tickets: int, timeout: float = 60, calls: int = 0) -> None:
        """Until so many tickets were issued and calls made (a loaded machine may sign the clerk in late)."""
        deadline = time.monotonic() + timeout
        while len(self.issued) < tickets or len(self.called) < calls:
            assert time.monotonic() < deadline, f"only {len(self.issued)} tickets, {len(self.called)} calls in " \
                                                f"{timeout} s"
            time.sleep(0.02)


def test_a_backup_taken_mid_burst_restores_every_answered_ticket(live: LiveHall, tmp_path: Path) -> None:
    with Burst(live) as burst:
        burst.wait_for(100, calls=1)
        started = time.monotonic()
        output = hallq("backup", "--keep", "3", instance=live.instance, env=live.env)
        took = time.monotonic() - started
        during = sum(1 for at, _ in burst.issued if at > started)
        burst.wait_for(len(burst.issued) + 30)  # the hall serves on after the backup
    answered = {ticket["id"]: ticket for at, ticket in burst.issued if at < started}
    called = {ticket["id"] for at, ticket in burst.called if at < started}
    assert burst.refused == 0 and len(answered) >= 100 and called
    backups = list((live.instance / "backups").iterdir())
    assert len(backups) == 1 and f"backup written: {backups[0]}" in output
    print(f"backup took {took:.2f} s with {during} tickets issued meanwhile; {len(answered)} tickets and "
          f"{len(called)} calls answered before it; {len(burst.issued)} tickets in all")

    restored = tmp_path / "restored"
    new_database = nullcontext(None) if live.database_url is None else scratch_postgres()
    with new_database as url:
        env = {"DATABASE_URL": url} if url else {}
        print(hallq("restore", str(backups[0]), instance=restored, env=env))
        storage = Storage(url or f"sqlite:///{restored / 'hallq.db'}")
        try:
            with storage.read() as session:
                stored = {row.id: row for row in session.execute(select(Ticket.id, Ticket.number, Ticket.status))}
        finally:
            storage.dispose()
    missing = [ticket["number"] for number, ticket in answered.items() if number not in stored]
    assert missing == []
    assert all(stored[id_].number == ticket["number"] for id_, ticket in answered.items())
    assert all(stored[id_].status != "waiting" for id_ in called)
    if live.database_url is None:
        with closing(sqlite3.connect(restored / "hallq.db")) as check:
            assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_restore_refuses_while_the_hall_serves(live: LiveHall) -> None:
    backup = hallq("backup", instance=live.instance, env=live.env).split()[2]
    with pytest.raises(RuntimeError, match="正在使用"):
        hallq("restore", backup, "--force", instance=live.instance, env=live.env)
    assert requests.get(f"{live.url}/api/openapi.json", timeout=5).ok
