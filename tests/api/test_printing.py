"""Paper tickets end to end: kiosk → engine → spooler → a real TCP printer on 127.0.0.1, and every fault."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from server.clock import ManualClock
from server.events import HallEvent
from server.printing.spooler import PRINTER_STATE, PRINTER_STATES_ASKED
from tests.api.conftest import HallApp, open_hall_app
from tests.api.test_realtime import received, socketio_of
from tests.conftest import SMALL_HALL
from tests.printing.escpos_decode import Decoded, decode
from tests.printing.fake_printer import FakePrinter

WAIT = 10.0  # seconds a test may wait for a print outcome before failing


def network_printer(name: str, port: int, timeout: float, extra: str = "") -> str:
    return f"""
[[printers]]
name = "{name}"
connection = "network"
host = "127.0.0.1"
port = {port}
timeout = {timeout}
{extra}"""


def printing_hall(port: int, mode: str = "text", desk: bool = False, timeout: float = 0.5) -> str:
    """SMALL_HALL with a network printer on ``port`` for kiosk-1 (and, with ``desk``, a second for the desk)."""
    config = SMALL_HALL.replace('prefix = "A"\n', 'prefix = "A"\nmaterials = "户口簿、原身份证（换领时）"\n', 1)
    config += f"""
[printing]
status_interval = 3600   # the tests ask for status checks themselves
{'desk_printer = "desk"' if desk else ''}
"""
    kiosk = f'mode = "{mode}"\npaper_width = 80\nkiosks = ["kiosk-1"]\n'
    config += network_printer("kiosk-printer", port, timeout, kiosk)
    return config + (network_printer("desk", port, timeout) if desk else "")


class Outcomes:
    """The `printed` / `print_failed` events, waited for without sleeping."""

    def __init__(self) -> None:
        self.events: list[HallEvent] = []
        self._changed = threading.Condition()

    def __call__(self, event: HallEvent) -> None:
        if event.kind in ("printed", "print_failed"):
            with self._changed:
                self.events.append(event)
                self._changed.notify_all()

    def wait(self, count: int) -> HallEvent:
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.events) >= count, WAIT), \
                f"{len(self.events)} of {count} print outcomes within {WAIT} s"
            return self.events[count - 1]


@pytest.fixture
def printer() -> Iterator[FakePrinter]:
    with FakePrinter() as fake:
        yield fake


def _app(tmp_path: Path, database_url: str, clock: ManualClock, config: str) -> Iterator[tuple[HallApp, Outcomes]]:
    for hall_app in open_hall_app(tmp_path, database_url, clock, config):
        outcomes = Outcomes()
        hall_app.hall.bus.subscribe(outcomes)
        yield hall_app, outcomes


@pytest.fixture
def printing(tmp_path: Path, database_url: str, clock: ManualClock,
             printer: FakePrinter) -> Iterator[tuple[HallApp, Outcomes]]:
    yield from _app(tmp_path, database_url, clock, printing_hall(printer.port))


def ticket_jobs(printer: FakePrinter, at_least: int = 0) -> list[Decoded]:
    """The jobs that carried a ticket (status checks are connections of their own), once there are ``at_least``."""
    def papers(jobs: list[bytes]) -> list[Decoded]:
        return [decoded for job in jobs if (decoded := decode(job)).cuts]

    return papers(printer.wait_until(lambda jobs: len(papers(jobs)) >= at_least, f"{at_least} tickets printed"))


def issue(hall_app: HallApp, service: str = "id-card") -> dict[str, Any]:
    answer = hall_app.kiosk().post("/api/tickets", json={"service": service})
    assert answer.status_code == 201, answer.json
    return answer.json


def printers(hall_app: HallApp) -> dict[str, dict[str, Any]]:
    answer = hall_app.staff("guide").get("/api/printers")
    assert answer.status_code == 200, answer.json
    return {p["name"]: p for p in answer.json["printers"]}


def test_a_kiosk_ticket_prints_in_chinese_with_a_qr_code_to_its_tracking_page(
        printing: tuple[HallApp, Outcomes], printer: FakePrinter) -> None:
    hall_app, outcomes = printing
    issue(hall_app)
    answer = issue(hall_app)
    ticket = answer["ticket"]
    assert answer["print"]["status"] == "queued" and answer["print"]["printer"] == "kiosk-printer"
    assert outcomes.wait(2).kind == "printed"

    paper = ticket_jobs(printer, 2)[-1]
    text = "\n".join(paper.texts)
    assert "A002" in paper.double_size_texts
    assert "测试便民服务中心" in text and "居民身份证核发" in text
    assert "前面还有 1 人等候" in text
    assert "请携带：户口簿、原身份证（换领时）" in text  # full-width brackets survive GB18030
    assert "办理窗口：1号窗口（一楼）；3号窗口、4号窗口（二楼）" in "".join(paper.texts)  # two zones: named
    assert len(printer.jobs[-1]) <= 1024
    assert paper.qr_payloads == [ticket["track_url"]]

    page = hall_app.app.test_client().get(urlsplit(ticket["track_url"]).path)
    assert page.status_code == 200 and "A002" in page.text and "前面还有" in page.text


def test_the_kiosk_and_the_record_learn_the_outcome(printing: tuple[HallApp, Outcomes]) -> None:
    hall_app, outcomes = printing
    kiosk = socketio_of(hall_app).test_client(hall_app.app, auth={"token": hall_app.kiosk_token})
    ticket = issue(hall_app)["ticket"]
    event = outcomes.wait(1)
    assert event.detail == {"printer": "kiosk-printer", "for": "device:kiosk-1", "ticket": ticket["id"],
                            "number": "A001"}
    assert received(kiosk, "printed") == [{"ticket": ticket["id"], "number": "A001", "printer": "kiosk-printer",
                                           "ok": True, "error": None}]


def test_image_mode_sends_a_raster_of_the_paper_width(tmp_path: Path, database_url: str, clock: ManualClock,
                                                      printer: FakePrinter) -> None:
    for hall_app, outcomes in _app(tmp_path, database_url, clock, printing_hall(printer.port, mode="image")):
        issue(hall_app)
        assert outcomes.wait(1).kind == "printed"
        paper = ticket_jobs(printer, 1)[-1]
        assert paper.images and all(width == 576 for width, _ in paper.images)
        assert not paper.texts  # everything, the Chinese included, is in the picture


def _set(name: str, value: Any) -> Callable[[FakePrinter], None]:
    return lambda printer: setattr(printer, name, value)


#: how each fault is caused, and how it is repaired
FAULTS: dict[str, tuple[Callable[[FakePrinter], Any], Callable[[FakePrinter], Any]]] = {
    "refused": (FakePrinter.close, FakePrinter.restart),  # switched off, then on again
    "timeout": (_set("silent", True), _set("silent", False)),
    "paper_out": (_set("paper", "out"), _set("paper", "ok")),
    "disconnected": (_set("drop_after", 40), _set("drop_after", None)),  # the cable pulled inside the ticket's bytes
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_printer_fault_costs_no_ticket_shows_everywhere_and_reprint_works_once_repaired(
        printing: tuple[HallApp, Outcomes], printer: FakePrinter, fault: str) -> None:
    hall_app, outcomes = printing
    kiosk = socketio_of(hall_app).test_client(hall_app.app, auth={"token": hall_app.kiosk_token})
    guide = socketio_of(hall_app).test_client(hall_app.app, flask_test_client=hall_app.staff("guide"))
    cause, repair = FAULTS[fault]
    cause(printer)

    answer = issue(hall_app)  # answered before the printer is even tried
    ticket = answer["ticket"]
    assert answer["print"]["status"] == "queued"
    failed = outcomes.wait(1)
    expected = fault
    assert failed.kind == "print_failed" and failed.detail is not None
    assert failed.detail["error"]["code"] == expected, failed.detail

    assert hall_app.kiosk().get(f"/api/tickets/{ticket['id']}").json["ticket"]["status"] == "waiting"
    to_kiosk = kiosk.get_received()  # read once: reading empties the test client's inbox
    outcome = [m["args"][0] for m in to_kiosk if m["name"] == "printed"][-1]
    assert outcome["ok"] is False and outcome["error"]["code"] == expected and outcome["number"] == "A001"
    state = printers(hall_app)["kiosk-printer"]
    assert state["ok"] is False and state["last_error"]["code"] == expected and state["message"]
    alerts = received(guide, "printers")
    assert alerts and not {p["name"]: p for p in alerts[-1]["printers"]}["kiosk-printer"]["ok"]
    own = [m["args"][0] for m in to_kiosk if m["name"] == "printer"]  # its own printer: it warns residents
    assert own[0]["printer"]["name"] == "kiosk-printer" and own[-1]["printer"]["ok"] is False

    repair(printer)
    again = hall_app.staff("guide").post(f"/api/tickets/{ticket['id']}/reprint", json={"printer": "kiosk-printer"})
    assert again.status_code == 202, again.json
    assert outcomes.wait(2).kind == "printed"
    paper = ticket_jobs(printer, 1)[-1]
    assert "A001" in paper.double_size_texts and "补打" in "".join(paper.texts + paper.inverted_texts)
    assert printers(hall_app)["kiosk-printer"]["ok"] is True


def test_paper_near_end_warns_staff_and_printing_goes_on(printing: tuple[HallApp, Outcomes],
                                                        printer: FakePrinter) -> None:
    hall_app, outcomes = printing
    printer.paper = "near_end"
    issue(hall_app)
    assert outcomes.wait(1).kind == "printed"
    state = printers(hall_app)["kiosk-printer"]
    assert state["status"] == "paper_near_end" and state["ok"] is True and "即将用完" in state["message"]


def test_a_background_check_sees_a_printer_fault_before_the_next_resident(
        printing: tuple[HallApp, Outcomes], printer: FakePrinter) -> None:
    hall_app, _ = printing
    spooler = hall_app.app.extensions["hallq_spooler"]
    kinds: list[str] = []
    hall_app.hall.bus.subscribe(lambda event: kinds.append(event.kind))
    changed = threading.Event()
    spooler.on_change(lambda states: changed.set() if states[0]["status"] == "cover_open" else None)
    printer.cover_open = True
    spooler.check("kiosk-printer")
    assert changed.wait(WAIT)
    assert printers(hall_app)["kiosk-printer"]["message"] == "打印机盖未合上"
    assert ticket_jobs(printer) == []
    spooler.on_event(HallEvent(PRINTER_STATES_ASKED, hall_app.clock.now()))
    assert PRINTER_STATE not in kinds  # the hall's only process has no other to tell its printers' states


def test_the_desk_issues_and_reprints_on_its_own_printer(tmp_path: Path, database_url: str, clock: ManualClock,
                                                         printer: FakePrinter) -> None:
    for hall_app, outcomes in _app(tmp_path, database_url, clock, printing_hall(printer.port, desk=True)):
        guide = hall_app.staff("guide")
        answer = guide.post("/api/tickets", json={"service": "hukou", "priority": "elderly"})
        assert answer.status_code == 201 and answer.json["print"]["printer"] == "desk"
        assert outcomes.wait(1).detail == {"printer": "desk", "for": "guide", "ticket": 1, "number": "B001"}
        assert "绿色通道" in "".join(ticket_jobs(printer, 1)[-1].inverted_texts)
        reprint = guide.post(f"/api/tickets/{answer.json['ticket']['id']}/reprint")
        assert reprint.status_code == 202 and reprint.json["print"]["printer"] == "desk"
        assert guide.get("/api/appointments/setup").json["desk_printer"] == "desk"  # the desk offers 补打
        health = guide.get("/api/health").json["printers"]
        assert (health["desk_printer"], health["desk_note"]) == ("desk", None)
        assert outcomes.wait(2).kind == "printed"


def test_reprint_is_for_the_desk_and_says_clearly_when_it_cannot(printing: tuple[HallApp, Outcomes]) -> None:
    hall_app, _ = printing
    ticket = issue(hall_app)["ticket"]
    url = f"/api/tickets/{ticket['id']}/reprint"
    for client in (hall_app.kiosk(), hall_app.display(), hall_app.staff("clerk1")):
        assert client.post(url).status_code == 403
    guide = hall_app.staff("guide")
    answer = guide.post(url)  # no desk printer in this hall and none asked for
    assert answer.status_code == 409 and answer.json["error"]["code"] == "no_printer"
    # the desk is told what it can do; config.toml is the admin's, told on the health answer
    assert "config.toml" not in answer.json["error"]["message"] and "写在纸上" in answer.json["error"]["message"]
    assert guide.get("/api/appointments/setup").json["desk_printer"] is None  # so the desk offers no 补打
    health = hall_app.staff("admin").get("/api/health").json["printers"]
    assert health["desk_printer"] is None
    assert "desk_printer" in health["desk_note"] and "不能补打" in health["desk_note"]
    answer = guide.post(url, json={"printer": "nope"})
    assert answer.status_code == 404 and answer.json["error"]["code"] == "printer_not_found"
    answer = guide.post("/api/tickets/999/reprint", json={"printer": "kiosk-printer"})
    assert answer.status_code == 404 and answer.json["error"]["code"] == "ticket_not_found"
    answer = guide.post(url, json={"printer": 3})
    assert answer.status_code == 422 and answer.json["error"]["code"] == "bad_field"


def test_a_kiosk_without_a_printer_is_told_so(hall_app: HallApp) -> None:
    kiosk = socketio_of(hall_app).test_client(hall_app.app, auth={"token": hall_app.kiosk_token})
    assert received(kiosk, "printer") == [{"printer": None}]
    answer = issue(hall_app)
    assert answer["print"] == {"status": "none", "printer": None, "printer_status": None, "message": "本机未配置打印机"}
    assert hall_app.staff("clerk1").get("/api/printers").json == {"printers": []}
    assert hall_app.kiosk().get("/api/printers").status_code == 403


def test_a_job_stuck_behind_a_dead_printer_expires_instead_of_printing_late(
        printing: tuple[HallApp, Outcomes], printer: FakePrinter) -> None:
    hall_app, outcomes = printing
    printer.silent = True  # the worker is held for the 0.5 s printer timeout by the first job
    issue(hall_app)
    issue(hall_app)
    hall_app.clock.advance(seconds=61)  # the second job now waited longer than job_expiry (60 s)
    assert outcomes.wait(1).detail["error"]["code"] == "timeout"  # type: ignore[index]
    expired = outcomes.wait(2)
    assert expired.detail is not None and expired.detail["number"] == "A002"
    assert expired.detail["error"]["code"] == "expired"
    printer.silent = False
    assert "A002" not in {text for paper in ticket_jobs(printer) for text in paper.double_size_texts}


def test_the_ticket_prints_the_halls_complaint_phone(tmp_path: Path, database_url: str, clock: ManualClock,
                                                     printer: FakePrinter) -> None:
    """[hall] complaint_phone (投诉电话, seed 2.2.4) on the paper, in GB18030 like the other lines; none without it."""
    config = printing_hall(printer.port).replace('name = "测试便民服务中心"\n',
                                                 'name = "测试便民服务中心"\ncomplaint_phone = "0571-8888 1234"\n', 1)
    for hall_app, outcomes in _app(tmp_path, database_url, clock, config):
        issue(hall_app)
        assert outcomes.wait(1).kind == "printed"
        paper = ticket_jobs(printer, 1)[-1]
        assert "投诉电话：0571-8888 1234" in paper.texts
        assert paper.texts.index("投诉电话：0571-8888 1234") < paper.texts.index("请留意叫号，过号请到导询台")


def test_no_complaint_line_without_a_complaint_phone(printing: tuple[HallApp, Outcomes], printer: FakePrinter) -> None:
    hall_app, outcomes = printing
    issue(hall_app)
    assert outcomes.wait(1).kind == "printed"
    assert not any("投诉电话" in text for text in ticket_jobs(printer, 1)[-1].texts)
