"""Printing over a real TCP connection to a fake ESC/POS printer: statuses, faults, and how fast they surface."""

from __future__ import annotations

import base64
import logging
import os
import socket
from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from escpos.printer import Network, Serial, Usb

from server.printing import agent
from server.printing.device import PrinterFault, open_printer, read_status, send
from server.printing.settings import Connection, PrinterConfig, TicketLayout
from server.printing.ticket import TicketPrint, render_image, render_text
from tests.printing.escpos_decode import decode
from tests.printing.fake_printer import FakePrinter

TICKET = TicketPrint(
    hall_name="城关镇便民服务中心", number="B007", service_name="户口县内迁移", waiting_ahead=3,
    issued_at=datetime(2026, 11, 30, 9, 5, tzinfo=ZoneInfo("Asia/Shanghai")), windows="2号窗口", tag="预约",
    track_url="https://hall.example.gov.cn/t/0c1d2e3f?h=chengguan", notice="请携带：户口簿（原件）、身份证",
)
TIMEOUT = 2.0  # seconds: generous for a local fake, and still what bounds a hang if a test goes wrong


@pytest.fixture
def fake() -> Iterator[FakePrinter]:
    with FakePrinter() as printer:
        yield printer


def network(fake: FakePrinter, timeout: float = TIMEOUT, mode: str = "text") -> PrinterConfig:
    return PrinterConfig("1号取号机", Connection("network", "127.0.0.1", fake.port, timeout=timeout), mode=mode)


def queries(*ns: int) -> bytes:
    return b"".join(b"\x10\x04" + bytes((n,)) for n in ns)


def test_a_ticket_arrives_whole_between_status_checks(fake: FakePrinter) -> None:
    data = render_text(TICKET, TicketLayout(), network(fake))
    status = send(network(fake), data)
    assert (status.code, status.message, status.printable) == ("ok", "打印机正常", True)
    [job] = fake.wait_for_jobs(1)
    assert job == queries(1, 4) + data + queries(1, 4)
    out = decode(job)
    assert "B007" in out.double_size_texts and "前面还有 3 人等候" in out.texts and " 预约 " in out.inverted_texts
    assert out.qr_payloads == [TICKET.track_url] and out.cuts == 1


def test_an_image_ticket_arrives_whole(fake: FakePrinter) -> None:
    config = network(fake, mode="image")
    data = render_image(TICKET, TicketLayout(), config)
    assert send(config, data).code == "ok"
    [job] = fake.wait_for_jobs(1)
    assert data in job and all(width == config.dots for width, _ in decode(job).images)


def test_paper_near_end_still_prints_and_says_so(fake: FakePrinter) -> None:
    fake.paper = "near_end"
    data = render_text(TICKET, TicketLayout(), network(fake))
    status = send(network(fake), data)
    assert (status.code, status.message, status.printable) == ("paper_near_end", "打印纸即将用完，请及时更换", True)
    assert data in fake.wait_for_jobs(1)[0]


@pytest.mark.parametrize(("state", "value", "code", "message", "asked"), [
    ("paper", "out", "paper_out", "打印机缺纸", (1, 4, 2)),
    ("online", False, "offline", "打印机离线", (1, 4, 2)),
    ("cover_open", True, "cover_open", "打印机盖未合上", (1, 4, 2)),
])
def test_a_faulty_printer_gets_no_ticket_byte(fake: FakePrinter, state: str, value: object, code: str,
                                              message: str, asked: tuple[int, ...]) -> None:
    setattr(fake, state, value)
    with pytest.raises(PrinterFault) as info:
        send(network(fake), render_text(TICKET, TicketLayout(), network(fake)))
    assert (info.value.code, info.value.message) == (code, message)
    assert fake.wait_for_jobs(1) == [queries(*asked)]  # status queries only


def test_a_printer_back_in_order_prints_again(fake: FakePrinter) -> None:
    fake.cover_open = True
    with pytest.raises(PrinterFault, match="cover_open"):
        send(network(fake), b"x")
    fake.cover_open = False
    assert send(network(fake), b"x\n").code == "ok"
    assert fake.wait_for_jobs(2)[1] == queries(1, 4) + b"x\n" + queries(1, 4)


def test_refused_then_back_on_the_same_port(fake: FakePrinter) -> None:
    fake.close()
    with pytest.raises(PrinterFault) as info:
        send(network(fake), b"x\n")
    assert (info.value.code, info.value.message) == ("refused", "打印机拒绝连接（未开机或端口不对）")
    fake.restart()
    assert send(network(fake), b"x\n").code == "ok"
    assert fake.wait_for_jobs(1) == [queries(1, 4) + b"x\n" + queries(1, 4)]



def test_the_agent_logs_a_printer_left_off_once_and_its_return_once(fake: FakePrinter,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    """Issue 14 (11): `hallq printer-agent` on the kiosk PC logs state changes, not a line for every job."""
    job = {"printer": asdict(network(fake)), "data": base64.b64encode(b"x\n").decode()}
    fake.close()
    with caplog.at_level(logging.WARNING, logger="server.printing"):
        answers = [agent.print_job(job) for _ in range(5)]
        fake.restart()
        answers += [agent.print_job(job) for _ in range(2)]
    assert [a["ok"] for a in answers] == [False] * 5 + [True] * 2
    assert [r.getMessage() for r in caplog.records] == [
        "printer 1号取号机: refused (打印机拒绝连接（未开机或端口不对）); tickets are not printed until it is back",
        "printer 1号取号机: ok again (打印机正常) after refused"]

def test_a_silent_printer_fails_with_timeout_not_a_hang(fake: FakePrinter) -> None:
    fake.silent = True  # accepts and reads; a hang here would last until the 0.5 s timeout at most
    with pytest.raises(PrinterFault) as info:
        send(network(fake, timeout=0.5), render_text(TICKET, TicketLayout(), network(fake)))
    assert (info.value.code, info.value.message) == ("timeout", "打印机无响应（超时）")
    assert fake.wait_for_jobs(1) == [queries(1)]


@pytest.mark.parametrize("mode", ["text", "image"])
def test_a_connection_dropped_mid_job_is_not_taken_for_printed(fake: FakePrinter, mode: str) -> None:
    config = network(fake, mode=mode)
    data = (render_image if mode == "image" else render_text)(TICKET, TicketLayout(), config)
    fake.drop_after = 6 + len(data) // 2  # answers the first status check, then closes halfway through the job
    with pytest.raises(PrinterFault) as info:
        send(config, data)
    assert (info.value.code, info.value.message) == ("disconnected", "打印机连接中断")
    assert len(fake.wait_for_jobs(1)[0]) == fake.drop_after


def test_read_status_on_an_open_connection(fake: FakePrinter) -> None:
    printer = open_printer(network(fake))
    try:
        # without it, the status query after a job waits for the job's delayed ACK (~40 ms)
        assert printer.device.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        assert read_status(printer).code == "ok"
        fake.paper = "out"
        assert read_status(printer).code == "paper_out"
    finally:
        printer.close()


@pytest.mark.parametrize(("paper", "level"), [("ok", 2), ("near_end", 1), ("out", 0)])
def test_the_fake_answers_what_python_escpos_expects(fake: FakePrinter, paper: str, level: int) -> None:
    """python-escpos 3.1 sends DLE EOT 1 / DLE EOT 4 with sendall and reads one recv(16)."""
    fake.paper = paper
    printer = Network("127.0.0.1", fake.port, timeout=TIMEOUT)
    printer.open()
    try:
        assert printer.paper_status() == level
        assert printer.is_online() is (paper != "out")
        fake.online = False
        assert printer.is_online() is False
    finally:
        printer.close()


def test_python_escpos_reads_a_closed_connection_as_plenty_of_paper(fake: FakePrinter) -> None:
    """Why read_status does not use paper_status(): an empty answer means "paper adequate" there."""
    fake.drop_after = 3
    printer = Network("127.0.0.1", fake.port, timeout=TIMEOUT)
    printer.open()
    try:
        assert printer.paper_status() == 2
    finally:
        printer.close()
    fake.wait_for_jobs(1)
    with pytest.raises(PrinterFault, match="disconnected"):
        send(network(fake), b"x\n")


def test_file_and_dummy_printers_cannot_answer_and_are_assumed_ok(tmp_path) -> None:
    target = tmp_path / "lp0"
    config = PrinterConfig("file", Connection("file", path=str(target)))
    status = send(config, b"\x1b@hello\n")
    assert (status.code, status.printable) == ("unknown", True)
    assert target.read_bytes() == b"\x1b@hello\n"
    assert send(PrinterConfig("dummy", Connection("dummy")), b"x").code == "unknown"


def test_a_missing_device_file_is_not_found(tmp_path) -> None:
    config = PrinterConfig("file", Connection("file", path=str(tmp_path / "no" / "lp0")))
    with pytest.raises(PrinterFault) as info:
        send(config, b"x")
    assert (info.value.code, info.value.message) == ("not_found", "打印机未连接")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may open any file")
def test_a_device_file_without_permission_says_so(tmp_path) -> None:
    target = tmp_path / "lp0"
    target.write_bytes(b"")
    target.chmod(0o400)
    with pytest.raises(PrinterFault, match="无权访问打印机设备") as info:
        send(PrinterConfig("file", Connection("file", path=str(target))), b"x")
    assert info.value.code == "error"


@pytest.mark.skipif(Usb.is_usable() or Serial.is_usable(), reason="pyusb / pyserial installed here")
@pytest.mark.parametrize(("connection", "library"), [(Connection("usb", vendor_id=0x0416, product_id=0x5011), "pyusb"),
                                                     (Connection("serial", device="/dev/ttyS0"), "pyserial")])
def test_usb_and_serial_without_their_library_say_what_is_missing(connection: Connection, library: str) -> None:
    with pytest.raises(PrinterFault, match=library) as info:
        send(PrinterConfig("usb", connection), b"x")
    assert info.value.code == "error"


def test_an_unknown_connection_kind_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="bluetooth"):
        open_printer(PrinterConfig("x", Connection("bluetooth")))
