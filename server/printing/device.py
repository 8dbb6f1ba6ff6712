"""Talking to one receipt printer: open it, ask its status (DLE EOT), send a job; every failure is a PrinterFault.

Every call blocks (in gevent, a network printer yields; USB, serial and file do not: run them in a thread). Each
socket operation is bounded by ``Connection.timeout``, so a switched-off or silent printer fails in that time rather
than python-escpos's default 60 s. A host name is resolved without that bound: configure printers by IP address.
"""

from __future__ import annotations

import errno
import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from escpos.constants import RT_STATUS
from escpos.escpos import Escpos
from escpos.exceptions import DeviceNotFoundError
from escpos.exceptions import Error as EscposError
from escpos.printer import Dummy, File, Network, Serial, Usb

from server.printing.settings import PrinterConfig

#: Chinese messages for hall staff, by stable code: status codes first, then codes only a PrinterFault has.
MESSAGES: dict[str, str] = {
    "ok": "打印机正常",
    "paper_near_end": "打印纸即将用完，请及时更换",
    "unknown": "无法读取打印机状态，按正常处理",
    "offline": "打印机离线",
    "paper_out": "打印机缺纸",
    "cover_open": "打印机盖未合上",
    "refused": "打印机拒绝连接（未开机或端口不对）",
    "timeout": "打印机无响应（超时）",
    "disconnected": "打印机连接中断",
    "not_found": "打印机未连接",
    "error": "打印机故障",
}
#: Statuses in which printing goes on.
PRINTABLE = frozenset({"ok", "paper_near_end", "unknown"})

# DLE EOT n answers: bits 1 and 4 are always set, bits 0 and 7 never.
_FIXED_MASK, _FIXED_BITS = 0x93, 0x12
_OFFLINE = 0x08  # n=1
_COVER_OPEN, _PAPER_END_STOP = 0x04, 0x20  # n=2
_NEAR_END, _PAPER_END = 0x0C, 0x60  # n=4
_DISCONNECTED = (errno.ENODEV, errno.ENXIO, errno.EIO, errno.EPIPE, errno.ESHUTDOWN)


@dataclass(frozen=True)
class PrinterStatus:
    code: str  # a key of MESSAGES: "ok", "paper_near_end", "unknown", "offline", "paper_out", "cover_open"
    message: str

    @classmethod
    def of(cls, code: str) -> PrinterStatus:
        return cls(code, MESSAGES[code])

    @property
    def printable(self) -> bool:
        """Near-end paper is not a fault: the roll still has a few metres."""
        return self.code in PRINTABLE


def log_change(logger: logging.Logger, printer: str, before: PrinterStatus, after: PrinterStatus) -> None:
    """One line when a printer goes wrong or comes back, none per job: a printer left off overnight fails
    thousands of jobs and status checks. WARNING both ways: `hallq run` logs from WARNING up, and a fault's line
    wants its recovery next to it. The first status of a working printer is not news."""
    if before.code == after.code or (before.code == "unknown" and after.printable):
        return
    if after.printable:
        logger.warning("printer %s: %s again (%s) after %s", printer, after.code, after.message, before.code)
    else:
        logger.warning("printer %s: %s (%s); tickets are not printed until it is back", printer, after.code,
                       after.message)


class PrinterFault(Exception):
    """The printer cannot take a job now; ``code`` is stable (for the spooler), ``message`` is for staff."""

    def __init__(self, code: str, message: str | None = None, detail: str = ""):
        self.code = code
        self.message = message or MESSAGES[code]
        self.detail = detail  # what the library or system said, for the log
        super().__init__(f"{code}: {self.message}" + (f" ({detail})" if detail else ""))


def _classify(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    # pyserial's write timeout is a SerialTimeoutException (an OSError without errno); pyserial may not be installed
    if isinstance(exc, TimeoutError) or getattr(exc, "errno", None) == errno.ETIMEDOUT \
            or type(exc).__name__ == "SerialTimeoutException":
        return "timeout"
    if isinstance(exc, ConnectionError) or getattr(exc, "errno", None) in _DISCONNECTED:
        return "disconnected"
    return "error"


@contextmanager
def _faults() -> Iterator[None]:
    """python-escpos and system errors as PrinterFault; python-escpos wraps every failure to open in
    DeviceNotFoundError, so the underlying error (its __context__) tells refused from timed out."""
    try:
        yield
    except DeviceNotFoundError as exc:
        if isinstance(exc.__context__, PermissionError):  # e.g. /dev/usb/lp0 without membership of group lp
            raise PrinterFault("error", "无权访问打印机设备（请检查设备权限）", str(exc)) from exc
        code = _classify(exc.__context__) if exc.__context__ is not None else "not_found"
        raise PrinterFault("not_found" if code in ("error", "disconnected") else code, detail=str(exc)) from exc
    except (OSError, EscposError) as exc:
        raise PrinterFault(_classify(exc), detail=str(exc)) from exc


def open_printer(config: PrinterConfig) -> Escpos:
    """The printer, connected; PrinterFault when it cannot be reached."""
    connection, profile = config.connection, config.profile
    printer: Escpos
    with _faults():
        match connection.kind:
            case "network":
                printer = Network(connection.host, connection.port, timeout=connection.timeout, profile=profile)
            case "usb":
                if not Usb.is_usable():
                    raise PrinterFault("error", "服务器未安装 USB 打印支持（pyusb）")
                # pyusb counts in milliseconds; python-escpos's default 0 would wait for ever
                printer = Usb(connection.vendor_id, connection.product_id, timeout=round(connection.timeout * 1000),
                              profile=profile)
            case "serial":
                if not Serial.is_usable():
                    raise PrinterFault("error", "服务器未安装串口打印支持（pyserial）")
                printer = Serial(connection.device, connection.baudrate, timeout=connection.timeout, profile=profile)
            case "file":
                printer = File(connection.path, profile=profile)
            case "dummy":
                return Dummy(profile=profile)
            case kind:
                raise ValueError(f"printer {config.name!r}: unknown connection kind {kind!r}")
        printer.open()
        if isinstance(printer, Network):
            # the status query after a job would otherwise wait for the job's delayed ACK: +40 ms a ticket
            printer.device.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        elif isinstance(printer, Serial):
            printer.device.write_timeout = connection.timeout  # python-escpos bounds reads only
        elif isinstance(printer, Usb):
            printer.device.default_timeout = round(connection.timeout * 1000)  # used by python-escpos's reads
    return printer


def _query(printer: Escpos, n: int) -> int | None:
    """One DLE EOT n answer byte; None when the answer is not a status byte."""
    answer = printer.query_status(RT_STATUS + bytes((n,)))
    if not answer:  # python-escpos's is_online() calls this offline, paper_status() "paper adequate"
        raise PrinterFault("disconnected" if isinstance(printer, Network) else "timeout", detail=f"no DLE EOT {n}")
    byte = answer[-1]  # the newest byte answers this query
    return byte if byte & _FIXED_MASK == _FIXED_BITS else None


def read_status(printer: Escpos) -> PrinterStatus:
    """Online, paper and cover state from the printer; "unknown" where the connection cannot answer (file, dummy)
    or the answer is not ESC/POS. Raises PrinterFault when the printer does not answer at all."""
    if isinstance(printer, File | Dummy):
        return PrinterStatus.of("unknown")
    with _faults():
        state, paper = _query(printer, 1), _query(printer, 4)
        if state is None or paper is None:
            return PrinterStatus.of("unknown")
        if state & _OFFLINE:
            cause = _query(printer, 2) or 0
            if cause & _COVER_OPEN:
                return PrinterStatus.of("cover_open")
            return PrinterStatus.of("paper_out" if cause & _PAPER_END_STOP or paper & _PAPER_END else "offline")
        if paper & _PAPER_END:
            return PrinterStatus.of("paper_out")
        return PrinterStatus.of("paper_near_end" if paper & _NEAR_END else "ok")


def send(config: PrinterConfig, data: bytes) -> PrinterStatus:
    """Deliver one job: the status is checked first and a faulty printer gets none of it (PrinterFault, fast).

    Returns the status read after the job. That query is answered only once the job's bytes have reached the
    printer, so a connection dropped mid-job raises "disconnected" here instead of passing for printed. A fault
    in it (paper ran out while printing) is returned, not raised: the job was delivered.
    """
    printer = open_printer(config)
    with _faults():
        try:
            before = read_status(printer)
            if not before.printable:
                raise PrinterFault(before.code)
            printer._raw(data)
            return read_status(printer)
        finally:
            printer.close()
