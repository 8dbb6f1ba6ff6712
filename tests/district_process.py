"""A real `hallq district run` process on a free port over a scratch PostgreSQL database, with its halls' tokens
and a district admin, for the process tests and bench/ of issue 19; and a TCP relay whose cut is a hall's link to
the district going down (the district and the other halls carry on)."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.live import HALLQ, LiveHall, free_port, hallq, halt, launch
from tests.process.test_printing_process import eventually


@dataclass
class DistrictProcess:
    """A district folder (district.toml, log) and the server process serving it."""

    folder: Path
    database_url: str
    #: code → name of each hall that ships here
    halls: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[str] | None = None
    #: code → the hall's token (what its config.toml has as [district] token)
    tokens: dict[str, str] = field(default_factory=dict)
    admin: str = "quzhang"
    password: str = "district-pass-2026"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config(self) -> Path:
        return self.folder / "district.toml"

    @property
    def log_path(self) -> Path:
        return self.folder / "district.log"

    def prepare(self) -> DistrictProcess:
        """district.toml with a fresh token per hall, `hallq district init`, and the district admin."""
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.tokens = {code: secrets.token_urlsafe(32) for code in self.halls}
        halls = "".join(f'\n[[halls]]\ncode = "{code}"\nname = "{name}"\ntoken = "{self.tokens[code]}"\n'
                        for code, name in self.halls.items())
        self.config.write_text(f'[district]\nname = "测试区政务服务中心"\ndatabase_url = "{self.database_url}"\n'
                               f"{halls}", encoding="utf-8")
        self.command("init")
        self.command("user", "add", self.admin, "--password", self.password, "--display-name", "区级管理员")
        return self

    def command(self, *args: str) -> str:
        """One `hallq district …` command on this district's config; its stdout."""
        return hallq("district", *args, instance=self.folder, config=self.config)

    def start(self, timeout: float = 30.0) -> DistrictProcess:
        command = [*HALLQ, "district", "run", "--port", str(self.port), "--config", str(self.config)]
        self.process = launch("hallq district run", command, self.log_path, dict(os.environ),
                              f"{self.url}/district/login",
                              timeout)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        halt(self.process, sig)
        self.process = None

    def session(self) -> requests.Session:
        """A logged-in district admin's session (its cookie also opens the live board's Socket.IO)."""
        session = requests.Session()
        session.headers["Content-Type"] = "application/json"
        answer = session.post(f"{self.url}/district/api/v1/login",
                              json={"username": self.admin, "password": self.password})
        answer.raise_for_status()
        return session

    def cookie(self, session: requests.Session) -> str:
        return f"district_session={session.cookies['district_session']}"


class Relay:
    """A TCP relay on a port of its own to ``target`` (a hall's way to the district): ``cut()`` closes it, connections
    and listener, as a broken line would; ``mend()`` listens again on the same port."""

    def __init__(self, target: int):
        self.target = target
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def mend(self) -> Relay:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def cut(self) -> None:
        with self._lock:
            if self._listener is not None:
                _close(self._listener)  # shut down first: that is what ends an accept() waiting on it (Linux)
                self._listener = None
            for sock in self._open:
                _close(sock)
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                near, _ = listener.accept()
            except OSError:  # cut: the listener is closed
                return
            try:
                far = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            except OSError:  # the district itself is down: the hall sees its connection closed
                _close(near)
                continue
            far.settimeout(None)
            with self._lock:
                self._open.update((near, far))
            for source, sink in ((near, far), (far, near)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            with self._lock:
                for sock in (source, sink):
                    self._open.discard(sock)
                    _close(sock)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # not connected (any more)
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def health(hall: LiveHall, staff: requests.Session) -> dict[str, Any]:
    """The hall's `district` part of /api/health."""
    answer = staff.get(f"{hall.url}/api/health", timeout=10)
    answer.raise_for_status()
    return answer.json()["district"]


def caught_up(hall: LiveHall, staff: requests.Session, timeout: float = 60.0) -> int:
    """Wait until the district holds every event of the hall; the last one's id."""
    def shipped() -> int | None:
        state = health(hall, staff)
        return state["through"] if state["behind_events"] == 0 else None

    return eventually(shipped, f"{hall.url} to catch up with its district", timeout)
