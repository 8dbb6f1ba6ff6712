"""Printing under the real server (gevent), and the printer agent as a separate process on "the kiosk PC"."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from tests.api.test_printing import printing_hall
from tests.live import HALLQ, ROOT, LiveHall, hallq
from tests.printing.escpos_decode import decode
from tests.printing.fake_printer import FakePrinter

pytestmark = pytest.mark.slow

WAIT = 15.0
NUMBER = re.compile(r"^[A-Z]{1,2}\d{3}$")


def eventually(check: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    """Poll another process's state until ``check`` returns something truthy (the only way to see into it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s: {what}")


def start_hall(tmp_path: Path, config: str) -> LiveHall:
    path = tmp_path / "hall.toml"
    path.write_text(config, encoding="utf-8")
    return LiveHall(tmp_path / "instance", config=path).prepare().start()


def printer_state(hall: LiveHall, name: str = "kiosk-printer") -> dict[str, Any]:
    printers = hall.staff("guide").get(f"{hall.url}/api/printers").json()["printers"]
    return next(p for p in printers if p["name"] == name)


def failed_prints(hall: LiveHall) -> int:
    """The ``print_failed`` events the server has recorded (read from its SQLite database)."""
    with closing(sqlite3.connect(hall.instance / "hallq.db")) as db:
        return db.execute("SELECT count(*) FROM ticket_events WHERE action = 'print_failed'").fetchone()[0]


def printed_numbers(printer: FakePrinter) -> list[str]:
    """Numbers printed, in order (status checks open connections of their own; a reprint also has 补打 large)."""
    return [next(t for t in d.double_size_texts if NUMBER.match(t)) for job in printer.jobs if (d := decode(job)).cuts]


@pytest.fixture
def printer() -> Iterator[FakePrinter]:
    with FakePrinter() as fake:
        yield fake


def test_the_gevent_server_prints_and_a_silent_printer_does_not_hold_the_kiosk(
        tmp_path: Path, printer: FakePrinter) -> None:
    hall = start_hall(tmp_path, printing_hall(printer.port, timeout=3.0))
    try:
        kiosk = hall.kiosk()
        first = kiosk.post(f"{hall.url}/api/tickets", json={"service": "id-card"}, timeout=10).json()
        eventually(lambda: printed_numbers(printer) == ["A001"], "the first ticket printed")
        printer.silent = True  # now every status query hangs until the 3 s timeout
        answers = [kiosk.post(f"{hall.url}/api/tickets", json={"service": "id-card"}, timeout=2.5) for _ in range(3)]
        assert [a.status_code for a in answers] == [201, 201, 201]  # each answered well inside one printer timeout
        assert first["print"]["status"] == "queued"
        state = eventually(lambda: (s := printer_state(hall))["last_error"] and s, "the timeout reported")
        assert state["last_error"]["code"] == "timeout" and state["ok"] is False
    finally:
        hall.stop()


def agent_hall(port: int, agent_timeout: float = 15.0) -> str:
    """One printer on the kiosk PC: the server renders, the agent prints (over the network to the fake here,
    since no USB printer can exist in a test)."""
    kiosks = 'kiosks = ["kiosk-1"]\n'
    config = printing_hall(port, timeout=3.0).replace(kiosks, kiosks + "via_agent = true\n")
    return config.replace("status_interval = 3600", f"status_interval = 3600\nagent_timeout = {agent_timeout}")


class Agent:
    """`hallq printer-agent` in its own process."""

    def __init__(self, hall: LiveHall, log: Path):
        self.hall, self.log = hall, log
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> Agent:
        with self.log.open("a") as out:
            self.process = subprocess.Popen([*HALLQ, "printer-agent", "--server", self.hall.url], cwd=ROOT,
                                            stdout=out, stderr=subprocess.STDOUT, text=True,
                                            env={**os.environ, "HALLQ_KIOSK_TOKEN": self.hall.kiosk_token})
        eventually(lambda: printer_state(self.hall)["message"] == "打印代理已连接", "the agent connected")
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def test_the_printer_agent_prints_acknowledges_and_reconnects_by_itself(tmp_path: Path,
                                                                          printer: FakePrinter) -> None:
    hall = start_hall(tmp_path, agent_hall(printer.port))
    agent = Agent(hall, tmp_path / "agent.log")
    try:
        assert printer_state(hall)["status"] == "agent_offline"
        agent.start()
        kiosk = hall.kiosk()
        kiosk.post(f"{hall.url}/api/tickets", json={"service": "id-card"}, timeout=10).raise_for_status()
        eventually(lambda: printed_numbers(printer) == ["A001"], "the agent printed A001")
        eventually(lambda: printer_state(hall)["status"] == "ok", "the agent's acknowledgement")

        hall.stop()  # the server goes away and comes back on the same address
        hall.start()
        eventually(lambda: printer_state(hall)["message"] == "打印代理已连接", "the agent reconnected")
        kiosk.post(f"{hall.url}/api/tickets", json={"service": "id-card"}, timeout=10).raise_for_status()
        eventually(lambda: printed_numbers(printer) == ["A001", "A002"], "A002 printed after the restart")

        agent.stop()
        eventually(lambda: printer_state(hall)["status"] == "agent_offline", "the agent's absence noticed")
        ticket = kiosk.post(f"{hall.url}/api/tickets", json={"service": "id-card"}, timeout=10).json()["ticket"]
        state = eventually(lambda: (s := printer_state(hall))["last_error"] and s, "A003 reported unprinted")
        assert state["last_error"]["code"] == "agent_offline"
        agent.start()
        hall.staff("guide").post(f"{hall.url}/api/tickets/{ticket['id']}/reprint",
                                 json={"printer": "kiosk-printer"}).raise_for_status()
        eventually(lambda: printed_numbers(printer)[-1:] == ["A003"], "A003 reprinted through the agent")
    finally:
        agent.stop()
        hall.stop()


def test_a_job_the_agent_does_not_acknowledge_in_time_is_reported(tmp_path: Path, printer: FakePrinter) -> None:
    hall = start_hall(tmp_path, agent_hall(printer.port, agent_timeout=1))
    agent = Agent(hall, tmp_path / "agent.log")
    try:
        agent.start()
        printer.silent = True  # the agent's printer hangs for its 3 s timeout: longer than the 1 s allowed
        hall.kiosk().post(f"{hall.url}/api/tickets", json={"service": "id-card"}, timeout=10).raise_for_status()
        state = eventually(lambda: (s := printer_state(hall))["last_error"] and s, "the missing acknowledgement")
        assert state["last_error"]["code"] == "unacknowledged" and "补打" in state["last_error"]["message"]
    finally:
        agent.stop()
        hall.stop()


def test_the_printers_and_print_test_commands_talk_to_the_printer(tmp_path: Path, printer: FakePrinter) -> None:
    config = tmp_path / "hall.toml"
    config.write_text(printing_hall(printer.port), encoding="utf-8")
    listing = hallq("printers", instance=tmp_path / "instance", config=config)
    assert "kiosk-printer" in listing and "打印机正常" in listing and f"127.0.0.1:{printer.port}" in listing

    assert "test page sent to kiosk-printer" in hallq("print-test", "--printer", "kiosk-printer",
                                                      instance=tmp_path / "instance", config=config)
    page = next(d for job in printer.jobs if (d := decode(job)).cuts)
    assert "测试便民服务中心" in "\n".join(page.texts) and page.qr_payloads

    printer.paper = "out"
    assert "FAULT paper_out: 打印机缺纸" in hallq("printers", instance=tmp_path / "instance", config=config)
    with pytest.raises(RuntimeError, match="打印机缺纸"):
        hallq("print-test", "--printer", "kiosk-printer", instance=tmp_path / "instance", config=config)
    with pytest.raises(RuntimeError, match="no printer named 'nope'"):
        hallq("print-test", "--printer", "nope", instance=tmp_path / "instance", config=config)


def test_a_printer_left_off_logs_one_line_when_it_fails_and_one_when_it_is_back(
        tmp_path: Path, printer: FakePrinter) -> None:
    """Issue 14 (11): a handled fault is not a traceback per job (a printer off overnight would fill the disk)."""
    hall = start_hall(tmp_path, printing_hall(printer.port, timeout=3.0))
    log = hall.instance / "server.log"
    try:
        kiosk = hall.kiosk()
        kiosk.post(f"{hall.url}/api/tickets", json={"service": "id-card"}, timeout=10).raise_for_status()
        eventually(lambda: printed_numbers(printer) == ["A001"], "the first ticket printed")
        printer.close()  # switched off: every connection is refused
        for _ in range(12):
            kiosk.post(f"{hall.url}/api/tickets", json={"service": "id-card"}, timeout=10).raise_for_status()
        eventually(lambda: failed_prints(hall) == 12, "twelve tickets not printed")
        printer.restart()
        kiosk.post(f"{hall.url}/api/tickets", json={"service": "id-card"}, timeout=10).raise_for_status()
        eventually(lambda: printer_state(hall)["ok"] and len(printed_numbers(printer)) == 2, "printing again")
    finally:
        hall.stop()
    lines = [line for line in log.read_text().splitlines() if "kiosk-printer" in line or "Traceback" in line]
    assert "Traceback" not in log.read_text()
    assert len(lines) == 2, lines
    assert "kiosk-printer: refused" in lines[0] and "kiosk-printer: ok again" in lines[1]
