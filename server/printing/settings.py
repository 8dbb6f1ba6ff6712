"""What config.toml says about printers and the ticket layout: ``[printing]`` and ``[[printers]]``.

A printer's entry in config.toml is flat (``connection = "network"`` next to ``host``); the model keeps how to
reach it apart, in ``Connection``, which the printer agent is sent.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from pydantic import field_validator, model_validator

from server.config_types import Flag, Integer, Text, between, choice, config_table, refuse, seconds

#: The fields a ticket can show, in the default order.
TICKET_FIELDS: tuple[str, ...] = (
    "hall", "number", "service", "waiting", "issued_at", "windows", "tag", "qr", "notice", "complaint", "footer",
)

#: Printable width in dots for each paper width in millimetres (203 dpi heads).
PAPER_DOTS: dict[int, int] = {58: 384, 80: 576}

CONNECTIONS: tuple[str, ...] = ("network", "usb", "serial", "file", "dummy")
MODES: tuple[str, ...] = ("text", "image")

#: the key a connection cannot do without ("usb" needs product_id too)
_REQUIRED = {"network": "host", "usb": "vendor_id", "serial": "device", "file": "path"}


@config_table
class TicketLayout:
    """config.toml ``[printing]`` ``fields`` and ``footer``."""

    #: fields printed, top to bottom (a subset of TICKET_FIELDS)
    fields: tuple[str, ...] = TICKET_FIELDS
    footer: Text = "请留意叫号，过号请到导询台"

    @field_validator("fields", mode="before")
    @classmethod
    def _known_fields(cls, fields: Any) -> Any:
        if not isinstance(fields, list | tuple):
            return fields  # pydantic: "must be a list"
        unknown = [f for f in fields if f not in TICKET_FIELDS]
        if unknown or len(set(fields)) != len(fields):
            raise refuse(f"each at most once, from: {', '.join(TICKET_FIELDS)}"
                         + (f" (not {unknown[0]!r})" if unknown else ""))
        if "number" not in fields:
            raise refuse("must include \"number\": a ticket without its number is no ticket")
        return fields


@config_table
class Connection:
    """How to reach one printer; which fields matter depends on ``kind``."""

    kind: choice(CONNECTIONS, "{shown}: one of " + ", ".join(CONNECTIONS)) = "dummy"
    host: Text = ""
    port: between(1, 65535) = 9100
    #: seconds for connect and for each read/write; a dead printer must fail fast
    timeout: seconds(0.1, 60) = 3.0
    vendor_id: Integer = 0
    product_id: Integer = 0
    device: Text = ""  # serial: /dev/ttyS0
    baudrate: Integer = 9600
    path: Text = ""  # file: /dev/usb/lp0


@config_table
class PrinterConfig:
    """config.toml ``[[printers]]``."""

    #: the keys of a [[printers]] entry: its own and its connection's, ``connection`` naming the kind (set below)
    KEYS: ClassVar[tuple[str, ...]] = ()

    name: Text
    connection: Connection
    mode: choice(MODES, "{shown}: one of " + ", ".join(MODES)) = "text"  # "text": GB18030 bytes; "image": a raster
    paper_width: choice(tuple(PAPER_DOTS), "{shown}: 58 or 80 (mm)") = 80
    profile: Text = "default"  # python-escpos capability profile
    font: Text = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"  # image mode only
    #: kiosk devices (by device name) whose tickets this printer prints
    kiosks: tuple[str, ...] = ()
    #: the kiosk PC runs `hallq printer-agent`, which prints locally and acknowledges each job
    via_agent: Flag = False

    @model_validator(mode="before")
    @classmethod
    def _connection_apart(cls, entry: Any) -> Any:
        """config.toml's flat entry → the printer and its Connection (positional construction passes through)."""
        if not isinstance(entry, dict):
            return entry
        if "connection" not in entry:  # what is known of the printer without it is not checked
            unknown = [key for key in entry if key not in cls.KEYS]
            raise refuse(f"unknown key; one of {', '.join(cls.KEYS)}" if unknown else "is required",
                         unknown[0] if unknown else "connection")
        if not isinstance(entry["connection"], str):
            return entry
        kind = entry["connection"]
        required = [key for key in (_REQUIRED.get(kind), "product_id" if kind == "usb" else None)
                    if key and key not in entry]
        if kind in CONNECTIONS and required:
            raise refuse(f"is required for a {kind} printer", required[0])
        reach = {key: value for key, value in entry.items() if key in _names(Connection)}
        own = {key: value for key, value in entry.items() if key not in reach and key != "connection"}
        return {**own, "connection": {"kind": kind, **reach}}

    @field_validator("kiosks", mode="before")
    @classmethod
    def _kiosk_names(cls, kiosks: Any) -> Any:
        if isinstance(kiosks, list | tuple) and not all(isinstance(k, str) and k for k in kiosks):
            raise refuse("must be a list of kiosk device names")
        return kiosks

    @model_validator(mode="after")
    def _agent_on_a_kiosk(self) -> PrinterConfig:
        if self.via_agent and not self.kiosks:
            raise refuse("an agent runs on a kiosk PC: list that kiosk in kiosks", "via_agent")
        return self

    @property
    def dots(self) -> int:
        return PAPER_DOTS[self.paper_width]


@config_table
class PrintingConfig:
    """config.toml ``[printing]``, with the ``[[printers]]`` that server.config moves in here."""

    #: the keys of [printing]: the layout's and its own (set below)
    KEYS: ClassVar[tuple[str, ...]] = ()

    layout: TicketLayout = TicketLayout()
    printers: tuple[PrinterConfig, ...] = ()
    #: the printer for tickets issued or reprinted at the guide desk (导询台), if the desk has one
    desk_printer: Text | None = None
    #: seconds between two background status reads (DLE EOT) of each printer
    status_interval: seconds(1, 3600) = 10.0
    #: seconds a printer agent has to acknowledge a job before it is reported as not printed
    agent_timeout: seconds(1, 300) = 15.0
    #: seconds a job may wait behind a dead printer; later, the resident has long left the kiosk: not printed
    job_expiry: seconds(5, 3600) = 60.0

    @model_validator(mode="before")
    @classmethod
    def _layout_apart(cls, table: Any) -> Any:
        if not isinstance(table, dict) or "layout" in table:
            return table
        layout = {key: table[key] for key in ("fields", "footer") if key in table}
        return {**{key: value for key, value in table.items() if key not in layout}, "layout": layout}

    @model_validator(mode="after")
    def _printers_apart(self) -> PrintingConfig:
        names: set[str] = set()
        bound: dict[str, str] = {}
        for i, printer in enumerate(self.printers):
            _refuse_unfit_profile_or_font(printer, i)
            if printer.name in names:
                raise refuse(f"duplicate printer name {printer.name!r}", "printers", i, "name")
            names.add(printer.name)
            for kiosk in printer.kiosks:
                if kiosk in bound:
                    raise refuse(f"kiosk {kiosk!r} already prints on {bound[kiosk]!r}", "printers", i, "kiosks")
                bound[kiosk] = printer.name
        if self.desk_printer is not None and self.desk_printer not in names:
            raise refuse(f"no printer named {self.desk_printer!r}", "desk_printer")
        return self

    def printer(self, name: str) -> PrinterConfig | None:
        return next((p for p in self.printers if p.name == name), None)

    def printer_of_kiosk(self, kiosk: str) -> PrinterConfig | None:
        return next((p for p in self.printers if kiosk in p.kiosks), None)


def _names(settings: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(settings))


PrinterConfig.KEYS = ("name", "connection", *(key for key in _names(Connection) if key != "kind"),
                      *(key for key in _names(PrinterConfig) if key not in ("name", "connection")))
PrintingConfig.KEYS = (*_names(TicketLayout),
                       *(key for key in _names(PrintingConfig) if key not in ("layout", "printers")))


def _refuse_unfit_profile_or_font(printer: PrinterConfig, i: int) -> None:
    """Checked when config.toml is read, not where a printer agent rebuilds its printer (its own fonts apply)."""
    from escpos.capabilities import get_profile  # the printer library is only needed when printers are set up

    from server.printing.ticket import FontError, check_font

    width = PAPER_DOTS[printer.paper_width]
    try:
        pixels = get_profile(printer.profile).profile_data["media"]["width"].get("pixels", "Unknown")
    except KeyError:
        raise refuse(f"unknown python-escpos profile {printer.profile!r}", "printers", i, "profile") from None
    if pixels != "Unknown" and int(pixels) < width:
        raise refuse(f"{printer.profile!r} prints {pixels} dots a line, fewer than the {width} of "
                     f"{printer.paper_width} mm paper at 203 dpi: choose another profile", "printers", i, "profile")
    if printer.mode == "image":
        try:
            check_font(printer.font)
        except FontError as exc:
            raise refuse(str(exc), "printers", i, "font") from None
