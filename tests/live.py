"""A real `hallq run` process on a free port, for process, browser and restart tests (and bench/)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import requests

ROOT = Path(__file__).resolve().parent.parent
HALLQ = [sys.executable, "-m", "server.cli"]
#: where LiveHall.ship_to's [district] table starts in its copy of the config
DISTRICT_TABLE = "\n[district]\n"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def hallq(*args: str, instance: Path, config: Path | None = None, env: dict[str, str] | None = None) -> str:
    """Run one `hallq` command and return its stdout (raises with its stderr on failure)."""
    command = [*HALLQ, *args, "--instance", str(instance), "--config", str(config or ROOT / "config.toml")]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env={**os.environ, **(env or {})},
                            timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"hallq {' '.join(args)} failed: {result.stderr}")
    return result.stdout


def launch(name: str, command: list[str], log_path: Path, env: dict[str, str], ready: str, timeout: float
           ) -> subprocess.Popen[str]:
    """Start the server process ``name`` (for errors) writing to ``log_path``; return it once ``ready`` (a URL)
    answers 200."""
    log = open(log_path, "a")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True, env=env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited: {log_path.read_text()}")
        try:
            if requests.get(ready, timeout=1).ok:
                return process
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still busy starting
            time.sleep(0.05)
    process.kill()
    process.wait()
    raise RuntimeError(f"{name} did not answer in time: {log_path.read_text()}")


def halt(process: subprocess.Popen[str] | None, sig: int = signal.SIGTERM) -> None:
    """Stop a server process with ``sig`` (killed if it has not ended after 10 s)."""
    if process and process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class LiveHall:
    """A hall instance folder with accounts and devices, and the server process serving it."""

    instance: Path
    config: Path = ROOT / "config.toml"
    database_url: str | None = None
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[str] | None = None
    kiosk_token: str = ""
    display_token: str = ""
    passwords: dict[str, str] = field(default_factory=dict)
    #: how `hallq` is started, and its environment: this checkout by default, or an installed wheel's hallq
    command: list[str] = field(default_factory=lambda: list(HALLQ))
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    #: lift the kiosk's ticket limit ([server] kiosk_burst): process tests and benchmarks issue hundreds at once
    unthrottled: bool = True
    #: what the process prints, in the instance folder (each sibling process has its own)
    log_name: str = "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.instance / self.log_name

    @property
    def env(self) -> dict[str, str]:
        return {"DATABASE_URL": self.database_url} if self.database_url else {}

    def prepare(self) -> LiveHall:
        """Initialise the instance as `hallq init` would, with staff and devices (in-process: faster)."""
        from server.hall import Hall, Settings

        if self.unthrottled:
            self.config = self._unthrottled(self.config)
        hall = Hall.open(Settings.resolve(self.config, self.instance, self.database_url))
        hall.secret_key()
        for name, role in (("clerk1", "clerk"), ("clerk2", "clerk"), ("guide", "guide"), ("admin", "admin")):
            self.passwords[name] = f"{name}-pass-2026"
            hall.accounts.add_user(name, role, self.passwords[name], display_name=name)
        self.kiosk_token = hall.accounts.add_device("kiosk-1", "kiosk")
        self.display_token = hall.accounts.add_device("display-1", "display")
        hall.storage.dispose()
        return self

    def _unthrottled(self, config: Path) -> Path:
        """A copy of ``config`` in the instance folder whose kiosks may take any number of tickets at once."""
        lifted = "kiosk_burst = 100000\nkiosk_per_minute = 100000\n"
        text = config.read_text(encoding="utf-8")
        text = text.replace("\n[server]\n", f"\n[server]\n{lifted}", 1) if "\n[server]\n" in text else \
            f"{text}\n[server]\n{lifted}"
        self.instance.mkdir(mode=0o700, parents=True, exist_ok=True)
        copy = self.instance / "unthrottled.toml"
        copy.write_text(text, encoding="utf-8")
        return copy

    def sibling(self) -> LiveHall:
        """Another `hallq run` process of the same hall (instance folder, config, database, environment: give
        this one HALLQ_MESSAGE_QUEUE in ``environ`` first) on a port of its own, not started."""
        port = free_port()
        return LiveHall(self.instance, self.config, self.database_url, port, kiosk_token=self.kiosk_token,
                        display_token=self.display_token, passwords=self.passwords, command=list(self.command),
                        environ=dict(self.environ), unthrottled=self.unthrottled, log_name=f"server-{port}.log")

    def start(self, timeout: float = 20.0) -> LiveHall:
        command = [*self.command, "run", "--port", str(self.port), "--instance", str(self.instance), "--config",
                   str(self.config)]
        self.process = launch("hallq run", command, self.log_path, {**self.environ, **self.env},
                              f"{self.url}/api/openapi.json", timeout)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        halt(self.process, sig)
        self.process = None

    def ship_to(self, district: str, code: str, token: str) -> LiveHall:
        """Ship the hall's events to the district at ``district`` as hall ``code`` (a copy of the config with a
        [district] table, shipping at least every second), from the next start on."""
        text = self.config.read_text(encoding="utf-8").partition(DISTRICT_TABLE)[0]
        self.instance.mkdir(mode=0o700, parents=True, exist_ok=True)
        copy = self.instance / "shipping.toml"
        copy.write_text(f'{text}{DISTRICT_TABLE}url = "{district}"\ntoken = "{token}"\ncode = "{code}"\n'
                        "interval_seconds = 1\n", encoding="utf-8")
        self.config = copy
        return self

    def kiosk(self) -> requests.Session:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.kiosk_token}"
        return session

    def staff(self, name: str, window: int | None = None) -> requests.Session:
        """A logged-in staff session, signed in to `window` when given."""
        session = requests.Session()
        session.headers["Content-Type"] = "application/json"  # as the screens' hallq.api() sends every call
        answer = session.post(f"{self.url}/api/auth/login", json={"username": name, "password": self.passwords[name]})
        answer.raise_for_status()
        if window is not None:
            session.post(f"{self.url}/api/windows/{window}/sign-in").raise_for_status()
        return session


class TabletHall:
    """A live demo hall with its rating tablet rate-1 (bound to 1号窗口 in config.toml), for the browser tests of
    the resident's screens."""

    def __init__(self, live: LiveHall):
        self.live = live
        self.tablet_token = hallq("device", "add", "rate-1", "--kind", "evaluator", instance=live.instance).strip()

    def url(self, path: str) -> str:
        return f"{self.live.url}{path}"


Started = TypeVar("Started", bound=TabletHall)


def running(hall: Started) -> Iterator[Started]:
    """A module fixture's body: the hall started for the tests, stopped after them."""
    hall.live.start()
    try:
        yield hall
    finally:
        hall.live.stop()
