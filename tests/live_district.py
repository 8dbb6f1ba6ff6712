"""The real district server (district/) for the hall's shipper tests: district.app.create_app over a PostgreSQL
database, the test's own halls registered with their tokens, served on a port in a thread that can be stopped and
started again on the same port (an outage), and a real nginx in front that answers 502 while the district is down.
A tap before the district's app records what reached it (the bearer headers, the event ids of each batch it took)
and changes nothing."""

from __future__ import annotations

import io
import json
import os
import secrets
import socket
import subprocess
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from werkzeug.serving import BaseWSGIServer, make_server

from district.app import create_app
from district.config import parse_district
from district.models import DistrictHall
from district.replica import ReplicaStorage
from server.clock import SystemClock
from server.models import TicketEvent
from server.shipment import TABLES
from server.shipper import EVENTS
from tests.conftest import scratch_postgres
from tests.live import free_port
from tests.printing.test_handover import eventually


@pytest.fixture(scope="module")
def district_database() -> Iterator[str]:
    """One scratch district database for a test module; each test registers halls of its own in it."""
    with scratch_postgres() as url:
        yield url


@dataclass(frozen=True)
class HallAccess:
    """A hall as the district knows it: its code and its token (new for every test)."""

    code: str
    token: str


def new_hall() -> HallAccess:
    return HallAccess(f"zhen-{uuid.uuid4().hex[:10]}", secrets.token_urlsafe(24))


class Tap:
    """WSGI middleware before the district: each request's Authorization header, and the event ids of each batch
    the district took (200) by hall, a replayed batch's ids twice."""

    def __init__(self, app: Any):
        self.app = app
        self.authorizations: list[str] = []
        self.sent: dict[str, list[int]] = defaultdict(list)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        self.authorizations.append(environ.get("HTTP_AUTHORIZATION", ""))
        if environ["PATH_INFO"] != EVENTS or environ["REQUEST_METHOD"] != "POST":
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)

        def started(status: str, headers: Any, *args: Any) -> Any:
            if status.startswith("200"):
                batch = json.loads(body)
                self.sent[batch["hall"]] += [event["id"] for event in batch["events"]]
            return start_response(status, headers, *args)

        return self.app(environ, started)


class LiveDistrict:
    """The district over ``database_url`` with ``halls`` registered (the first one is ``hall``); ``start()`` serves
    it on ``port`` (a free one by default), ``stop()`` closes the port, ``start()`` opens it again."""

    def __init__(self, database_url: str, halls: int = 1, port: int | None = None):
        self.halls = [new_hall() for _ in range(halls)]
        entries = "".join(f'\n[[halls]]\ncode = "{h.code}"\nname = "{h.code}镇便民服务中心"\ntoken = "{h.token}"\n'
                          for h in self.halls)
        config = parse_district(f'[district]\nname = "测试区"\ndatabase_url = "{database_url}"\n{entries}',
                                environ={})
        self.app = create_app(config, SystemClock(), async_mode="threading")
        self.store = self.app.extensions["district"]
        self.store.register()
        self.tap = Tap(self.app.wsgi_app)
        self.app.wsgi_app = self.tap  # type: ignore[method-assign]
        self.port = port or free_port()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def hall(self) -> HallAccess:
        return self.halls[0]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveDistrict:
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._server = self._thread = None

    def close(self) -> None:
        if self._server is not None:
            self.stop()
        self.store.dispose()

    # ------------------------------------------------------------ what the district holds

    def position(self, code: str | None = None) -> tuple[int, int]:
        """The hall's (through, as_of) in the district's own table."""
        with self.store.write() as session:
            hall = session.get(DistrictHall, code or self.hall.code)
            assert hall is not None
            return hall.through, hall.as_of

    def events(self, code: str | None = None) -> list[int]:
        """The ids of the events in the hall's replica, in order."""
        with self._replica(code).read() as session:
            return list(session.scalars(select(TicketEvent.id).order_by(TicketEvent.id)))

    def rows(self, table: str, code: str | None = None) -> list[dict[str, Any]]:
        with self._replica(code).read() as session:
            return [dict(row) for row in session.execute(select(TABLES[table].table)).mappings()]

    def sent(self, code: str | None = None) -> list[int]:
        return self.tap.sent[code or self.hall.code]

    def set_back(self, code: str | None = None) -> None:
        """The hall's copy as a restore from a backup taken before any of its events left it: none held."""
        code = code or self.hall.code
        with self._replica(code).write() as session:
            session.execute(text("DELETE FROM ticket_events"))
        with self.store.write() as session:
            session.execute(text("UPDATE district.halls SET through = 0, as_of = 0 WHERE code = :code"),
                            {"code": code})
        self.tap.sent[code].clear()

    def _replica(self, code: str | None) -> ReplicaStorage:
        return ReplicaStorage(self.store.engine, code or self.hall.code)


def district_at(database_url: str, halls: int = 1) -> Iterator[LiveDistrict]:
    """A started district for a fixture, closed after the test."""
    district = LiveDistrict(database_url, halls).start()
    try:
        yield district
    finally:
        district.close()


class Gateway:
    """A real nginx on a free port proxying to the district: while the district is down it answers 502, as the
    reverse proxy in front of a district being restarted does."""

    def __init__(self, upstream: int, folder: Path):
        self.port = free_port()
        folder.mkdir(parents=True, exist_ok=True)
        temp = "".join(f"  {kind}_temp_path {folder}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi",
                                                                              "uwsgi", "scgi"))
        conf = folder / "nginx.conf"
        user = "user root;\n" if os.geteuid() == 0 else ""  # workers must reach the test's private folder
        conf.write_text(f"{user}pid {folder}/nginx.pid;\nerror_log {folder}/error.log;\nevents {{}}\n"
                        f"http {{\n  access_log off;\n  client_max_body_size 8m;\n{temp}"
                        f"  server {{\n    listen 127.0.0.1:{self.port};\n"
                        f"    location / {{ proxy_pass http://127.0.0.1:{upstream}; }}\n  }}\n}}\n")
        self.conf = conf
        subprocess.run(["nginx", "-p", str(folder), "-c", str(conf)], check=True, capture_output=True, timeout=30)
        eventually(self._answers, "nginx answers")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _answers(self) -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    def close(self) -> None:
        subprocess.run(["nginx", "-p", str(self.conf.parent), "-c", str(self.conf), "-s", "stop"], check=True,
                       capture_output=True, timeout=30)
