"""What config.toml says about printers and the ticket layout (parsed in server.config)."""

from __future__ import annotations

from dataclasses import dataclass

#: The fields a ticket can show, in the default order.
TICKET_FIELDS: tuple[str, ...] = (
    "hall", "number", "service", "waiting", "issued_at", "windows", "tag", "qr", "notice", "footer",
)

#: Printable width in dots for each paper width in millimetres (203 dpi heads).
PAPER_DOTS: dict[int, int] = {58: 384, 80: 576}

CONNECTIONS: tuple[str, ...] = ("network", "usb", "serial", "file", "dummy")
MODES: tuple[str, ...] = ("text", "image")


@dataclass(frozen=True)
class TicketLayout:
    #: fields printed, top to bottom (a subset of TICKET_FIELDS)
    fields: tuple[str, ...] = TICKET_FIELDS
    footer: str = "请留意叫号，过号请到导询台"


@dataclass(frozen=True)
class Connection:
    """How to reach one printer; which fields matter depends on ``kind``."""

    kind: str = "dummy"
    host: str = ""
    port: int = 9100
    #: seconds for connect and for each read/write; a dead printer must fail fast
    timeout: float = 3.0
    vendor_id: int = 0
    product_id: int = 0
    device: str = ""  # serial: /dev/ttyS0
    baudrate: int = 9600
    path: str = ""  # file: /dev/usb/lp0


@dataclass(frozen=True)
class PrinterConfig:
    name: str
    connection: Connection
    mode: str = "text"  # "text": GB18030 bytes; "image": the ticket as a raster
    paper_width: int = 80  # mm: 58 or 80
    profile: str = "default"  # python-escpos capability profile
    font: str = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"  # image mode only
    #: kiosk devices (by device name) whose tickets this printer prints
    kiosks: tuple[str, ...] = ()
    #: the kiosk PC runs `hallq printer-agent`, which prints locally and acknowledges each job
    via_agent: bool = False

    @property
    def dots(self) -> int:
        return PAPER_DOTS[self.paper_width]


@dataclass(frozen=True)
class PrintingConfig:
    layout: TicketLayout = TicketLayout()
    printers: tuple[PrinterConfig, ...] = ()
    #: the printer for tickets issued or reprinted at the guide desk (导询台), if the desk has one
    desk_printer: str | None = None
    #: seconds between two background status reads (DLE EOT) of each printer
    status_interval: float = 10.0
    #: seconds a printer agent has to acknowledge a job before it is reported as not printed
    agent_timeout: float = 15.0
    #: seconds a job may wait behind a dead printer; later, the resident has long left the kiosk: not printed
    job_expiry: float = 60.0

    def printer(self, name: str) -> PrinterConfig | None:
        return next((p for p in self.printers if p.name == name), None)

    def printer_of_kiosk(self, kiosk: str) -> PrinterConfig | None:
        return next((p for p in self.printers if kiosk in p.kiosks), None)
