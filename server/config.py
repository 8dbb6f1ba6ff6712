"""The hall described by config.toml, validated once at start-up.

Every error names the key (``windows[2].services``) and the line of the file it was found on, so the
person setting up a hall can fix it without reading code.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from server.calendar import ALL_DAY, CalendarConfig, Session
from server.printing.settings import (
    CONNECTIONS,
    MODES,
    PAPER_DOTS,
    TICKET_FIELDS,
    Connection,
    PrinterConfig,
    PrintingConfig,
    TicketLayout,
)
from server.vocabulary import (
    UNRATED_RULES,
    WEEKDAY_NAMES,
)
from server.voice.speech import VoiceSettings

#: The twelve categories of service items of the seed manual (事项办理标准 1.1-1.12).
CATEGORIES: tuple[str, ...] = (
    "户籍管理",
    "人口和生育服务",
    "社会保障",
    "劳动保障",
    "养老保障",
    "医疗保障",
    "脱贫帮扶",
    "农业农村管理和服务",
    "乡村建设管理和服务",
    "营商管理和服务",
    "服役退役服务",
    "党务管理服务",
)


_PREFIX = re.compile(r"^[A-Z]{1,2}$")
_CODE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


_KIND_NAMES: dict[Any, str] = {int: "an integer", str: "a string", list: "a list", dict: "a table",
                               bool: "true/false", float: "a number"}


class ConfigError(Exception):
    """A config problem, located by key and line."""

    def __init__(self, source: str, key: str, line: int | None, message: str):
        self.key = key
        self.line = line
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {key}: {message}")


@dataclass(frozen=True)
class Service:
    code: str
    name: str
    category: str
    prefix: str
    daily_cap: int | None = None
    #: 一次性告知: what to bring, printed on the ticket
    materials: str = ""
    #: at most this many tickets in one session of the [calendar] (上午, 下午)
    session_cap: int | None = None
    #: the rest of the item's 办事指南, read to a resident booking by phone (一次性告知): how it goes, how long
    #: it takes, what it costs
    steps: str = ""
    time_limit: str = ""
    fees: str = ""


@dataclass(frozen=True)
class Window:
    id: int
    name: str
    services: tuple[str, ...]
    zone: str = ""
    #: what the window does, shown under its name (e.g. 综合受理); never spoken
    label: str = ""
    #: the window's main items, called before the items it only helps with (bounded by [queue] max_passed and
    #: max_extra_wait_minutes); empty: strictly by arrival across all its items
    favour: tuple[str, ...] = ()


@dataclass(frozen=True)
class Display:
    """A waiting-area screen (a display device, by name) that shows and announces only some zones' calls."""

    name: str
    zones: tuple[str, ...]


@dataclass(frozen=True)
class QueueRules:
    #: how many priority (绿色通道) tickets may be called ahead of one waiting regular ticket
    priority_bound: int = 3
    #: how many times a clerk may recall (重呼) the same ticket
    recall_limit: int = 3
    #: how often a waiting resident may be passed by later arrivals of a window's favoured items
    max_passed: int = 3
    #: a window's favoured item never goes ahead of a resident who came this many minutes earlier
    max_extra_wait_minutes: int = 20


DEFAULT_REJECT_REASONS: tuple[str, ...] = (
    "该事项不属于本中心办理范围",
    "该事项须本人携带原件到窗口现场办理，不能上门",
    "所需材料不齐，请备齐后再预约",
)


@dataclass(frozen=True)
class AppointmentSlot:
    """A bookable time of the week: ``capacity`` appointments of each item, on ``days`` (ISO weekdays)."""

    start: time
    end: time
    capacity: int
    days: tuple[int, ...]

    @property
    def label(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class AppointmentRules:
    slots: tuple[AppointmentSlot, ...] = ()
    #: check-in at the kiosk opens this long before the slot starts
    check_in_before_minutes: int = 30
    #: more than this late and the appointment is given up (seed 6.2.5: 超过预约时间 30 分钟 视为主动放弃)
    forfeit_after_minutes: int = 30
    #: bookings up to this many days ahead
    days_ahead: int = 14
    #: `hallq purge` deletes appointments, duty log and enquiries older than this many days
    retention_days: int = 180
    reject_reasons: tuple[str, ...] = DEFAULT_REJECT_REASONS

    def slots_on(self, weekday: int) -> tuple[AppointmentSlot, ...]:
        return tuple(s for s in self.slots if weekday in s.days)


@dataclass(frozen=True)
class HallConfig:
    name: str
    timezone: ZoneInfo
    services: tuple[Service, ...]
    windows: tuple[Window, ...]
    rules: QueueRules = field(default_factory=QueueRules)
    notice: str = ""
    announcement: str = "请{number}号到{window}办理"
    #: the hall's address as residents' phones reach it (the ticket's QR code); empty: the address it runs on
    public_url: str = ""
    printing: PrintingConfig = field(default_factory=PrintingConfig)
    displays: tuple[Display, ...] = ()
    voice: VoiceSettings = field(default_factory=VoiceSettings)
    calendar: CalendarConfig = field(default_factory=CalendarConfig)
    appointments: AppointmentRules = field(default_factory=AppointmentRules)
    source: str = "config.toml"
    evaluation: EvaluationConfig = field(default_factory=lambda: EvaluationConfig())
    cases: CasesConfig = field(default_factory=lambda: CasesConfig())
    server: ServerConfig = field(default_factory=lambda: ServerConfig())

    def service(self, code: str) -> Service | None:
        return next((s for s in self.services if s.code == code), None)

    def window(self, window_id: int) -> Window | None:
        return next((w for w in self.windows if w.id == window_id), None)

    def windows_serving(self, code: str) -> tuple[Window, ...]:
        return tuple(w for w in self.windows if code in w.services)

    def zones_of_display(self, name: str) -> tuple[str, ...] | None:
        """The zones a display shows; None: every zone (a display not listed in [[displays]])."""
        return next((d.zones for d in self.displays if d.name == name), None)


class _Locator:
    """Finds the line of a key path such as ("windows", 2, "services") in the TOML text."""

    _HEADER = re.compile(r"^\s*\[(\[)?\s*([A-Za-z0-9_.\-]+)\s*\]?\]\s*(#.*)?$")

    def __init__(self, text: str):
        self.lines = text.splitlines()

    def line_of(self, path: tuple[str | int, ...]) -> int | None:
        for table, index, rest in self._splits(path):
            start, end = self._table_span(table, index)
            if start is not None:
                return self._key_line(table, start, end, rest)
        return None

    def _key_line(self, table: str, start: int, end: int, rest: tuple[str | int, ...]) -> int | None:
        key = rest[0] if rest else None
        if key is None:
            return start + 1 if table else None
        pattern = re.compile(rf"^\s*{re.escape(str(key))}\s*=")
        for number in range(start + (1 if table else 0), end):
            if pattern.match(self.lines[number]):
                return number + 1
        return start + 1 if table else None

    @classmethod
    def _splits(cls, path: tuple[str | int, ...]) -> list[tuple[str, int | None, tuple[str | int, ...]]]:
        """Where the key may be: in a nested array of tables ([[calendar.sessions]]) first, then as usual."""
        nested = []
        if len(path) >= 3 and isinstance(path[0], str) and isinstance(path[1], str) and isinstance(path[2], int):
            nested.append((f"{path[0]}.{path[1]}", path[2], path[3:]))
        return [*nested, cls._split(path)]

    @staticmethod
    def _split(path: tuple[str | int, ...]) -> tuple[str, int | None, tuple[str | int, ...]]:
        if len(path) >= 2 and isinstance(path[1], int):
            return str(path[0]), path[1], path[2:]
        if len(path) >= 2:
            return str(path[0]), None, path[1:]
        return "", None, path

    def _table_span(self, table: str, index: int | None) -> tuple[int | None, int]:
        if not table:
            first_header = next((n for n, line in enumerate(self.lines) if self._HEADER.match(line)),
                                len(self.lines))
            return 0, first_header
        seen = -1
        for number, line in enumerate(self.lines):
            match = self._HEADER.match(line)
            if not match or match.group(2) != table:
                continue
            seen += 1
            if index is None or seen == index:
                end = next((n for n in range(number + 1, len(self.lines)) if self._HEADER.match(self.lines[n])),
                           len(self.lines))
                return number, end
        return None, len(self.lines)


class _Reader:
    """Typed access to the parsed TOML that raises ConfigError at the right key."""

    def __init__(self, source: str, text: str):
        self.source = source
        self.locator = _Locator(text)

    def fail(self, path: tuple[str | int, ...], message: str) -> ConfigError:
        key = ""
        for part in path:
            key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else part)
        return ConfigError(self.source, key or "(top)", self.locator.line_of(path), message)

    def get(self, data: dict[str, Any], path: tuple[str | int, ...], kind: type, default: Any = ...) -> Any:
        name = path[-1]
        if name not in data:
            if default is ...:
                raise self.fail(path, "is required")
            return default
        value = data[name]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            found = _KIND_NAMES.get(type(value), type(value).__name__)
            raise self.fail(path, f"must be {_KIND_NAMES[kind]}, not {found}")
        if isinstance(value, str) and not value.strip():
            raise self.fail(path, "must not be empty")
        return value


def load_config(path: str | Path) -> HallConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), "(file)", None, "config file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), "(file)", None, f"not UTF-8 text ({exc.reason})") from None
    return parse_config(text, source=str(path))


def parse_config(text: str, source: str = "config.toml") -> HallConfig:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise ConfigError(source, "(syntax)", int(match.group(1)) if match else None,
                          f"invalid TOML: {exc}") from None
    reader = _Reader(source, text)
    hall = reader.get(data, ("hall",), dict)
    name = reader.get(hall, ("hall", "name"), str)
    notice = reader.get(hall, ("hall", "notice"), str, "")
    zone_name = reader.get(hall, ("hall", "timezone"), str, "Asia/Shanghai")
    try:
        timezone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise reader.fail(("hall", "timezone"), f"unknown time zone {zone_name!r}") from None
    announcement = reader.get(hall, ("hall", "announcement"), str, "请{number}号到{window}办理")
    if "{number}" not in announcement or "{window}" not in announcement:
        raise reader.fail(("hall", "announcement"), "must contain {number} and {window}")

    rules_data = reader.get(data, ("queue",), dict, {})
    _known_keys(reader, rules_data, ("queue",), tuple(QueueRules.__dataclass_fields__))
    rules = QueueRules(
        priority_bound=_non_negative(reader, rules_data, ("queue", "priority_bound"), 3),
        recall_limit=_non_negative(reader, rules_data, ("queue", "recall_limit"), 3),
        max_passed=_non_negative(reader, rules_data, ("queue", "max_passed"), 3),
        max_extra_wait_minutes=_non_negative(reader, rules_data, ("queue", "max_extra_wait_minutes"), 20),
    )
    public_url = reader.get(hall, ("hall", "public_url"), str, "").rstrip("/")
    if public_url and not re.fullmatch(r"https?://[^/\s?#]+(/[^\s?#]*)?", public_url):
        raise reader.fail(("hall", "public_url"), f"{public_url!r}: an http:// or https:// address")
    services = _services(reader, data)
    windows = _windows(reader, data, {s.code for s in services})
    calendar = _calendar(reader, data)
    return HallConfig(name=name, timezone=timezone, services=services, windows=windows, rules=rules,
                      notice=notice, announcement=announcement, public_url=public_url,
                      printing=_printing(reader, data), displays=_displays(reader, data, windows),
                      voice=_voice(reader, data), calendar=calendar, source=source,
                      evaluation=_evaluation(reader, data, windows), cases=_cases(reader, data),
                      appointments=_appointments(reader, data, calendar), server=_server(reader, data))


def _known_keys(reader: _Reader, table: dict[str, Any], path: tuple[str | int, ...], keys: tuple[str, ...]) -> None:
    """A typo in a key would otherwise be ignored silently: name it, with the keys allowed there."""
    for name in table:
        if name not in keys:
            raise reader.fail((*path, name), f"unknown key; one of {', '.join(keys)}")


def _non_negative(reader: _Reader, table: dict[str, Any], path: tuple[str, ...], default: int) -> int:
    value = reader.get(table, path, int, default)
    if value < 0:
        raise reader.fail(path, "must be 0 or more")
    return value


def _services(reader: _Reader, data: dict[str, Any]) -> tuple[Service, ...]:
    entries = reader.get(data, ("services",), list)
    if not entries:
        raise reader.fail(("services",), "at least one service is required")
    services: list[Service] = []
    codes: set[str] = set()
    prefixes: dict[str, str] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise reader.fail(("services", i), "must be a table ([[services]])")
        code = reader.get(entry, ("services", i, "code"), str)
        if not _CODE.match(code):
            raise reader.fail(("services", i, "code"), f"{code!r}: use lower-case letters, digits, - and _")
        if code in codes:
            raise reader.fail(("services", i, "code"), f"duplicate service code {code!r}")
        category = reader.get(entry, ("services", i, "category"), str)
        if category not in CATEGORIES:
            raise reader.fail(("services", i, "category"),
                              f"{category!r} is not one of the 12 categories: {'、'.join(CATEGORIES)}")
        prefix = reader.get(entry, ("services", i, "prefix"), str)
        if not _PREFIX.match(prefix):
            raise reader.fail(("services", i, "prefix"), f"{prefix!r}: one or two capital letters")
        if prefix in prefixes:
            raise reader.fail(("services", i, "prefix"),
                              f"duplicate prefix {prefix!r} (already used by {prefixes[prefix]!r})")
        cap = reader.get(entry, ("services", i, "daily_cap"), int, None)
        if cap is not None and not 1 <= cap <= 999:
            raise reader.fail(("services", i, "daily_cap"), "must be between 1 and 999")
        session_cap = reader.get(entry, ("services", i, "session_cap"), int, None)
        if session_cap is not None and not 1 <= session_cap <= 999:
            raise reader.fail(("services", i, "session_cap"), "must be between 1 and 999")
        codes.add(code)
        prefixes[prefix] = code
        services.append(Service(code=code, name=reader.get(entry, ("services", i, "name"), str),
                                category=category, prefix=prefix, daily_cap=cap,
                                materials=reader.get(entry, ("services", i, "materials"), str, ""),
                                session_cap=session_cap, **{key: reader.get(entry, ("services", i, key), str, "")
                                                            for key in ("steps", "time_limit", "fees")}))
    return tuple(services)


def _windows(reader: _Reader, data: dict[str, Any], codes: set[str]) -> tuple[Window, ...]:
    entries = reader.get(data, ("windows",), list)
    if not entries:
        raise reader.fail(("windows",), "at least one window is required")
    windows: list[Window] = []
    ids: set[int] = set()
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise reader.fail(("windows", i), "must be a table ([[windows]])")
        window_id = reader.get(entry, ("windows", i, "id"), int)
        if window_id < 1:
            raise reader.fail(("windows", i, "id"), "must be 1 or more")
        if window_id in ids:
            raise reader.fail(("windows", i, "id"), f"duplicate window id {window_id}")
        served = reader.get(entry, ("windows", i, "services"), list)
        if not served:
            raise reader.fail(("windows", i, "services"), "a window must serve at least one service")
        for code in served:
            if code not in codes:
                raise reader.fail(("windows", i, "services"), f"unknown service {code!r}")
        if len(set(served)) != len(served):
            raise reader.fail(("windows", i, "services"), "a service is listed twice")
        favour = reader.get(entry, ("windows", i, "favour"), list, [])
        for code in favour:
            if code not in served:
                raise reader.fail(("windows", i, "favour"), f"{code!r} is not one of this window's services")
        ids.add(window_id)
        windows.append(Window(id=window_id, name=reader.get(entry, ("windows", i, "name"), str),
                              services=tuple(served), zone=reader.get(entry, ("windows", i, "zone"), str, ""),
                              label=reader.get(entry, ("windows", i, "label"), str, ""), favour=tuple(favour)))
    unserved = codes - {code for w in windows for code in w.services}
    if unserved:
        raise reader.fail(("windows",), f"no window serves {', '.join(sorted(unserved))}")
    return tuple(windows)


def _seconds(reader: _Reader, table: dict[str, Any], path: tuple[str | int, ...], default: float,
             low: float, high: float) -> float:
    value = table.get(path[-1], default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise reader.fail(path, "must be a number of seconds")
    if not low <= value <= high:
        raise reader.fail(path, f"must be between {low:g} and {high:g} seconds")
    return float(value)


def _printing(reader: _Reader, data: dict[str, Any]) -> PrintingConfig:
    table = reader.get(data, ("printing",), dict, {})
    fields = tuple(reader.get(table, ("printing", "fields"), list, list(TICKET_FIELDS)))
    unknown = [f for f in fields if f not in TICKET_FIELDS]
    if unknown or len(set(fields)) != len(fields):
        raise reader.fail(("printing", "fields"),
                          f"each at most once, from: {', '.join(TICKET_FIELDS)}" + (f" (not {unknown[0]!r})"
                                                                                    if unknown else ""))
    if "number" not in fields:
        raise reader.fail(("printing", "fields"), "must include \"number\": a ticket without its number is no ticket")
    layout = TicketLayout(fields=fields, footer=reader.get(table, ("printing", "footer"), str, TicketLayout.footer))
    entries = reader.get(data, ("printers",), list, [])
    printers = tuple(_printer(reader, entry, i) for i, entry in enumerate(entries))
    names: set[str] = set()
    bound: dict[str, str] = {}
    for i, printer in enumerate(printers):
        if printer.name in names:
            raise reader.fail(("printers", i, "name"), f"duplicate printer name {printer.name!r}")
        names.add(printer.name)
        for kiosk in printer.kiosks:
            if kiosk in bound:
                raise reader.fail(("printers", i, "kiosks"), f"kiosk {kiosk!r} already prints on {bound[kiosk]!r}")
            bound[kiosk] = printer.name
    desk = reader.get(table, ("printing", "desk_printer"), str, None)
    if desk is not None and desk not in names:
        raise reader.fail(("printing", "desk_printer"), f"no printer named {desk!r}")
    return PrintingConfig(layout=layout, printers=printers, desk_printer=desk,
                          status_interval=_seconds(reader, table, ("printing", "status_interval"), 10, 1, 3600),
                          agent_timeout=_seconds(reader, table, ("printing", "agent_timeout"), 15, 1, 300),
                          job_expiry=_seconds(reader, table, ("printing", "job_expiry"), 60, 5, 3600))


_PRINTER_KEYS = frozenset({"name", "connection", "host", "port", "timeout", "vendor_id", "product_id", "device",
                           "baudrate", "path", "mode", "paper_width", "profile", "font", "kiosks", "via_agent"})


def _printer(reader: _Reader, entry: Any, i: int) -> PrinterConfig:
    from escpos.capabilities import get_profile  # the printer library is only needed when printers are set up

    from server.printing.ticket import FontError, check_font

    if not isinstance(entry, dict):
        raise reader.fail(("printers", i), "must be a table ([[printers]])")
    # a typo such as `kiosk = [...]` would silently leave a printer unbound
    _known_keys(reader, entry, ("printers", i), tuple(sorted(_PRINTER_KEYS)))

    def key(name: str, kind: type, default: Any = ...) -> Any:
        return reader.get(entry, ("printers", i, name), kind, default)

    kind = key("connection", str)
    if kind not in CONNECTIONS:
        raise reader.fail(("printers", i, "connection"), f"{kind!r}: one of {', '.join(CONNECTIONS)}")
    required = {"network": "host", "usb": "vendor_id", "serial": "device", "file": "path"}.get(kind)
    if required and required not in entry:
        raise reader.fail(("printers", i, required), f"is required for a {kind} printer")
    connection = Connection(kind=kind, host=key("host", str, ""), port=key("port", int, 9100),
                            timeout=_seconds(reader, entry, ("printers", i, "timeout"), 3.0, 0.1, 60),
                            vendor_id=key("vendor_id", int, 0), product_id=key("product_id", int, 0),
                            device=key("device", str, ""), baudrate=key("baudrate", int, 9600),
                            path=key("path", str, ""))
    if not 1 <= connection.port <= 65535:
        raise reader.fail(("printers", i, "port"), "must be between 1 and 65535")
    if kind == "usb" and "product_id" not in entry:
        raise reader.fail(("printers", i, "product_id"), "is required for a usb printer")
    mode = key("mode", str, "text")
    if mode not in MODES:
        raise reader.fail(("printers", i, "mode"), f"{mode!r}: one of {', '.join(MODES)}")
    width = key("paper_width", int, 80)
    if width not in PAPER_DOTS:
        raise reader.fail(("printers", i, "paper_width"), f"{width}: 58 or 80 (mm)")
    profile = key("profile", str, "default")
    try:
        pixels = get_profile(profile).profile_data["media"]["width"].get("pixels", "Unknown")
    except KeyError:
        raise reader.fail(("printers", i, "profile"), f"unknown python-escpos profile {profile!r}") from None
    if pixels != "Unknown" and int(pixels) < PAPER_DOTS[width]:
        raise reader.fail(("printers", i, "profile"), f"{profile!r} prints {pixels} dots a line, fewer than the "
                          f"{PAPER_DOTS[width]} of {width} mm paper at 203 dpi: choose another profile")
    font = key("font", str, PrinterConfig.font)
    if mode == "image":
        try:
            check_font(font)
        except FontError as exc:
            raise reader.fail(("printers", i, "font"), str(exc)) from None
    kiosks = key("kiosks", list, [])
    if not all(isinstance(k, str) and k for k in kiosks):
        raise reader.fail(("printers", i, "kiosks"), "must be a list of kiosk device names")
    via_agent = key("via_agent", bool, False)
    if via_agent and not kiosks:
        raise reader.fail(("printers", i, "via_agent"), "an agent runs on a kiosk PC: list that kiosk in kiosks")
    return PrinterConfig(name=key("name", str), connection=connection, mode=mode, paper_width=width,
                         profile=profile, font=font, kiosks=tuple(kiosks), via_agent=via_agent)


def _displays(reader: _Reader, data: dict[str, Any], windows: tuple[Window, ...]) -> tuple[Display, ...]:
    zones = {w.zone for w in windows if w.zone}
    displays: list[Display] = []
    for i, entry in enumerate(reader.get(data, ("displays",), list, [])):
        if not isinstance(entry, dict):
            raise reader.fail(("displays", i), "must be a table ([[displays]])")
        name = reader.get(entry, ("displays", i, "name"), str)
        if any(d.name == name for d in displays):
            raise reader.fail(("displays", i, "name"), f"display {name!r} is listed twice")
        shown = reader.get(entry, ("displays", i, "zones"), list)
        unknown = [z for z in shown if z not in zones]
        if not shown or unknown:
            known = "、".join(sorted(zones)) or "none set"
            raise reader.fail(("displays", i, "zones"),
                              f"zones of the windows: {known}" + (f" (not {unknown[0]!r})" if unknown else ""))
        displays.append(Display(name=name, zones=tuple(shown)))
    return tuple(displays)


def _voice(reader: _Reader, data: dict[str, Any]) -> VoiceSettings:
    table = reader.get(data, ("voice",), dict, {})
    defaults = VoiceSettings()
    _known_keys(reader, table, ("voice",), tuple(VoiceSettings.__dataclass_fields__))
    rate = reader.get(table, ("voice", "rate"), int, defaults.rate)
    if not 60 <= rate <= 400:
        raise reader.fail(("voice", "rate"), "must be between 60 and 400 (words a minute; 150 is calm speech)")
    volume = table.get("volume", defaults.volume)
    if isinstance(volume, bool) or not isinstance(volume, int | float) or not 0 < volume <= 1:
        raise reader.fail(("voice", "volume"), "must be a number above 0 and at most 1.0")
    repeat = reader.get(table, ("voice", "repeat"), int, defaults.repeat)
    if not 1 <= repeat <= 3:
        raise reader.fail(("voice", "repeat"), "must be 1, 2 or 3 (readings of the sentence in one announcement)")
    busy_rate = reader.get(table, ("voice", "busy_rate"), int, max(rate, defaults.busy_rate))
    if not rate <= busy_rate <= 400:
        raise reader.fail(("voice", "busy_rate"), f"must be between rate ({rate}) and 400 (words a minute while "
                          "calls wait)")
    within = reader.get(table, ("voice", "announce_within"), int, defaults.announce_within)
    if not 5 <= within <= 120:
        raise reader.fail(("voice", "announce_within"), "must be between 5 and 120 (seconds from a call to its "
                          "number being spoken)")

    def flag(name: str) -> bool:
        return reader.get(table, ("voice", name), bool, getattr(defaults, name))

    return VoiceSettings(enabled=flag("enabled"), voice=reader.get(table, ("voice", "voice"), str, defaults.voice),
                         rate=rate, volume=float(volume), repeat=repeat, yao=flag("yao"), chime=flag("chime"),
                         busy_rate=busy_rate, announce_within=within)


_CALENDAR_KEYS = ("sessions", "cutoff_minutes", "holidays", "workdays")
_SESSION_KEYS = ("name", "start", "end", "days")
_HH_MM = re.compile(r"(\d{1,2}):(\d{2})")


def _calendar(reader: _Reader, data: dict[str, Any]) -> CalendarConfig:
    table = reader.get(data, ("calendar",), dict, {})
    _known_keys(reader, table, ("calendar",), _CALENDAR_KEYS)
    entries = reader.get(table, ("calendar", "sessions"), list, None)
    if entries is not None and not entries:
        raise reader.fail(("calendar", "sessions"), "at least one session (leave sessions out: open at all hours)")
    sessions = (ALL_DAY,) if entries is None else tuple(_session(reader, e, i) for i, e in enumerate(entries))
    for j, later in enumerate(sessions):
        for i, earlier in enumerate(sessions[:j]):
            common = sorted(set(earlier.days) & set(later.days))
            if common and _minute(later.start) < _minute(earlier.end) and _minute(earlier.start) < _minute(later.end):
                raise reader.fail(("calendar", "sessions", j), f"{later.label()} overlaps sessions[{i}] "
                                  f"{earlier.label()} on {'、'.join(WEEKDAY_NAMES[d] for d in common)}")
    cutoff = reader.get(table, ("calendar", "cutoff_minutes"), int, 0)
    if not 0 <= cutoff <= 240:
        raise reader.fail(("calendar", "cutoff_minutes"), "must be between 0 and 240 (minutes)")
    for i, session in enumerate(sessions):
        if cutoff >= session.minutes():
            raise reader.fail(("calendar", "cutoff_minutes"), f"{cutoff} minutes is not shorter than sessions[{i}] "
                              f"{session.label()} ({session.minutes()} minutes): it could issue no ticket")
    holidays = _dates(reader, table, "holidays")
    workdays = _dates(reader, table, "workdays")
    for k, day in enumerate(workdays):
        if day in holidays:
            raise reader.fail(("calendar", "workdays", k), f"{day} is also in holidays: a day is closed or open")
    if workdays and not any(1 in s.days for s in sessions):
        raise reader.fail(("calendar", "workdays"), "a 调休 working day opens with a Monday's sessions, and no session "
                          "lists Monday (1) in its days")
    return CalendarConfig(sessions=sessions, holidays=frozenset(holidays), workdays=frozenset(workdays),
                          cutoff_minutes=cutoff)


def _session(reader: _Reader, entry: Any, i: int) -> Session:
    path = ("calendar", "sessions", i)
    if not isinstance(entry, dict):
        raise reader.fail(path, "must be a table ([[calendar.sessions]])")
    _known_keys(reader, entry, path, _SESSION_KEYS)  # a typo such as `day = [6]` would open it on weekdays
    name = reader.get(entry, (*path, "name"), str)
    start = _time_of_day(reader, entry, (*path, "start"), end=False) or time(0)  # only an end is 24:00 (None)
    end = _time_of_day(reader, entry, (*path, "end"), end=True)
    if end is not None and end <= start:
        raise reader.fail((*path, "end"), f"{end:%H:%M} is not after start {start:%H:%M}")
    days = _weekdays(reader, entry, path)
    return Session(name=name, start=start, end=end, days=tuple(sorted(days)))


def _weekdays(reader: _Reader, entry: dict[str, Any], path: tuple[str | int, ...]) -> list[int]:
    """``days``: ISO weekdays, each once; Monday to Friday when absent."""
    days = reader.get(entry, (*path, "days"), list, [1, 2, 3, 4, 5])
    bad = [d for d in days if isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= 7]
    if bad or not days:
        raise reader.fail((*path, "days"), (f"{bad[0]!r}: " if bad else "") + "weekdays 1 (Monday) to 7 (Sunday)")
    if len(set(days)) != len(days):
        raise reader.fail((*path, "days"), "a weekday is listed twice")
    return days


def _time_of_day(reader: _Reader, entry: dict[str, Any], path: tuple[str | int, ...], end: bool) -> time | None:
    """A time of day, "08:30" or a TOML time 08:30:00; an end may be "24:00" (returned as None)."""
    if path[-1] not in entry:
        raise reader.fail(path, "is required")
    value = entry[path[-1]]
    if isinstance(value, time) and not value.second and not value.microsecond:
        return value
    match = _HH_MM.fullmatch(value.strip()) if isinstance(value, str) else None
    if match:
        hour, minute = int(match.group(1)), int(match.group(2))
        if end and (hour, minute) == (24, 0):
            return None
        if hour <= 23 and minute <= 59:
            return time(hour, minute)
    shown = repr(value) if isinstance(value, str) else str(value)
    raise reader.fail(path, f"{shown}: a time of day \"HH:MM\" such as \"08:30\"" + (" or \"24:00\"" if end else ""))


def _minute(moment: time | None) -> int:
    return 24 * 60 if moment is None else moment.hour * 60 + moment.minute


def _dates(reader: _Reader, table: dict[str, Any], key: str) -> list[date]:
    days: list[date] = []
    for k, value in enumerate(reader.get(table, ("calendar", key), list, [])):
        day = value if isinstance(value, date) and not isinstance(value, datetime) else None
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            try:
                day = date.fromisoformat(value)
            except ValueError:  # 2026-02-30
                day = None
        if day is None:
            shown = repr(value) if isinstance(value, str) else str(value)
            raise reader.fail(("calendar", key, k), f"{shown}: a date such as 2026-10-01 or \"2026-10-01\"")
        days.append(day)
    return days


# ---------------------------------------------------------------- 一次一评 and 五件制

#: The levels that need a reason and open a follow-up (整改).
POOR_LEVELS: tuple[str, ...] = ("dissatisfied", "very_dissatisfied")
DEFAULT_REASONS: tuple[str, ...] = ("等候时间过长", "服务态度不好", "办事效率低", "业务不熟练", "一次性告知不清楚",
                                    "环境设施不便", "其他")
#: 退回件: the grounds of the manual (事项办理标准 3.2.1), offered to the clerk first.
DEFAULT_RETURN_REASONS: tuple[str, ...] = ("申报材料主件缺少", "不符合国家、省、市有关政策及技术规范要求",
                                           "经现场踏勘、调查核实不具备批准条件")


@dataclass(frozen=True)
class Evaluator:
    """A rating tablet (a device of kind evaluator) and the one window whose residents it asks."""

    device: str
    window: int


@dataclass(frozen=True)
class EvaluationConfig:
    #: the tablet asks this long after 办结; then the server records 未评价
    prompt_seconds: int = 60
    reasons: tuple[str, ...] = DEFAULT_REASONS
    basic_counts_satisfied: bool = True
    unrated: str = "exclude"
    #: a poor rating's follow-up (整改) is due this many working days after the rating
    followup_working_days: int = 5
    #: the resident may still rate from the tracking page this many days after 办结
    phone_days: int = 7
    #: 满意率 the hall aims at (the manual: 98%)
    target_rate: float = 0.98
    evaluators: tuple[Evaluator, ...] = ()

    def window_of(self, device: str) -> int | None:
        return next((e.window for e in self.evaluators if e.device == device), None)


@dataclass(frozen=True)
class CasesConfig:
    #: the completion date the caller proposes for a 承诺件, in working days after today
    promised_working_days: int = 5
    #: the reply due date proposed for a 报批件 (the manual: 上报时限 3 个工作日)
    approval_working_days: int = 3
    return_reasons: tuple[str, ...] = DEFAULT_RETURN_REASONS


_EVALUATION_KEYS = ("prompt_seconds", "reasons", "basic_counts_satisfied", "unrated", "followup_working_days",
                    "phone_days", "target_rate", "evaluators")


def _evaluation(reader: _Reader, data: dict[str, Any], windows: tuple[Window, ...]) -> EvaluationConfig:
    table = reader.get(data, ("evaluation",), dict, {})
    _known_keys(reader, table, ("evaluation",), _EVALUATION_KEYS)
    defaults = EvaluationConfig()

    def number(name: str, low: int, high: int, meaning: str) -> int:
        value = reader.get(table, ("evaluation", name), int, getattr(defaults, name))
        if not low <= value <= high:
            raise reader.fail(("evaluation", name), f"must be between {low} and {high} ({meaning})")
        return value

    unrated = reader.get(table, ("evaluation", "unrated"), str, defaults.unrated)
    if unrated not in UNRATED_RULES:
        raise reader.fail(("evaluation", "unrated"), f"{unrated!r}: one of {', '.join(UNRATED_RULES)} "
                          "(未评价 left out of the rate, counted as 满意, or counted as 基本满意)")
    target = table.get("target_rate", defaults.target_rate)
    if isinstance(target, bool) or not isinstance(target, int | float) or not 0 < target <= 1:
        raise reader.fail(("evaluation", "target_rate"), "must be a number above 0 and at most 1 (0.98 is 98%)")
    return EvaluationConfig(
        prompt_seconds=number("prompt_seconds", 10, 600, "seconds the tablet waits for a rating"),
        reasons=_text_list(reader, table, ("evaluation", "reasons"), defaults.reasons),
        basic_counts_satisfied=reader.get(table, ("evaluation", "basic_counts_satisfied"), bool,
                                          defaults.basic_counts_satisfied),
        unrated=unrated, target_rate=float(target),
        followup_working_days=number("followup_working_days", 1, 60, "working days"),
        phone_days=number("phone_days", 0, 30, "days after 办结; 0: only the tablet rates"),
        evaluators=_evaluators(reader, table, {w.id for w in windows}))


def _evaluators(reader: _Reader, table: dict[str, Any], window_ids: set[int]) -> tuple[Evaluator, ...]:
    evaluators: list[Evaluator] = []
    for i, entry in enumerate(reader.get(table, ("evaluation", "evaluators"), list, [])):
        path = ("evaluation", "evaluators", i)
        if not isinstance(entry, dict):
            raise reader.fail(path, "must be a table ([[evaluation.evaluators]])")
        _known_keys(reader, entry, path, ("device", "window"))
        device = reader.get(entry, (*path, "device"), str)
        if any(e.device == device for e in evaluators):
            raise reader.fail((*path, "device"), f"evaluator {device!r} is listed twice: a tablet serves one window")
        window = reader.get(entry, (*path, "window"), int)
        if window not in window_ids:
            raise reader.fail((*path, "window"), f"no window with id {window}")
        evaluators.append(Evaluator(device=device, window=window))
    return tuple(evaluators)


def _cases(reader: _Reader, data: dict[str, Any]) -> CasesConfig:
    table = reader.get(data, ("cases",), dict, {})
    _known_keys(reader, table, ("cases",), ("promised_working_days", "approval_working_days", "return_reasons"))
    defaults = CasesConfig()

    def days(name: str) -> int:
        value = reader.get(table, ("cases", name), int, getattr(defaults, name))
        if not 1 <= value <= 120:
            raise reader.fail(("cases", name), "must be between 1 and 120 (working days)")
        return value

    return CasesConfig(promised_working_days=days("promised_working_days"),
                       approval_working_days=days("approval_working_days"),
                       return_reasons=_text_list(reader, table, ("cases", "return_reasons"),
                                                 defaults.return_reasons))


def _text_list(reader: _Reader, table: dict[str, Any], path: tuple[str, ...], default: tuple[str, ...]
               ) -> tuple[str, ...]:
    values = reader.get(table, path, list, list(default))
    if not values:
        raise reader.fail(path, "at least one entry")
    for k, value in enumerate(values):
        if not isinstance(value, str) or not value.strip() or len(value) > 40:
            raise reader.fail(path, f"entry {k + 1}: a non-empty string of at most 40 characters")
    if len(set(values)) != len(values):
        raise reader.fail(path, "an entry is listed twice")
    return tuple(v.strip() for v in values)


# ---------------------------------------------------------------- [appointments]

_APPOINTMENT_KEYS = ("slots", "check_in_before_minutes", "forfeit_after_minutes", "days_ahead", "retention_days",
                     "reject_reasons")
_SLOT_KEYS = ("start", "end", "capacity", "days")


def _bounded(reader: _Reader, table: dict[str, Any], path: tuple[str | int, ...], default: int, low: int,
             high: int, unit: str) -> int:
    value = reader.get(table, path, int, default)
    if not low <= value <= high:
        raise reader.fail(path, f"must be between {low} and {high} ({unit})")
    return value


def _appointments(reader: _Reader, data: dict[str, Any], calendar: CalendarConfig) -> AppointmentRules:
    table = reader.get(data, ("appointments",), dict, {})
    _known_keys(reader, table, ("appointments",), _APPOINTMENT_KEYS)
    slots = tuple(_slot(reader, entry, i, calendar)
                  for i, entry in enumerate(reader.get(table, ("appointments", "slots"), list, [])))
    for j, later in enumerate(slots):
        for i, earlier in enumerate(slots[:j]):
            common = sorted(set(earlier.days) & set(later.days))
            if common and later.start < earlier.end and earlier.start < later.end:
                raise reader.fail(("appointments", "slots", j), f"{later.label} overlaps slots[{i}] {earlier.label} "
                                  f"on {'、'.join(WEEKDAY_NAMES[d] for d in common)}")
    reasons = reader.get(table, ("appointments", "reject_reasons"), list, list(DEFAULT_REJECT_REASONS))
    for k, reason in enumerate(reasons):
        if not isinstance(reason, str) or not reason.strip():
            raise reader.fail(("appointments", "reject_reasons", k), "each reason is a non-empty string")
    return AppointmentRules(
        slots=slots,
        check_in_before_minutes=_bounded(reader, table, ("appointments", "check_in_before_minutes"), 30, 0, 240,
                                         "minutes"),
        forfeit_after_minutes=_bounded(reader, table, ("appointments", "forfeit_after_minutes"), 30, 0, 240,
                                       "minutes"),
        days_ahead=_bounded(reader, table, ("appointments", "days_ahead"), 14, 0, 366, "days"),
        retention_days=_bounded(reader, table, ("appointments", "retention_days"), 180, 1, 3650, "days"),
        reject_reasons=tuple(r.strip() for r in reasons))


def _slot(reader: _Reader, entry: Any, i: int, calendar: CalendarConfig) -> AppointmentSlot:
    path = ("appointments", "slots", i)
    if not isinstance(entry, dict):
        raise reader.fail(path, "must be a table ([[appointments.slots]])")
    _known_keys(reader, entry, path, _SLOT_KEYS)
    start = _time_of_day(reader, entry, (*path, "start"), end=False) or time(0)
    end = _time_of_day(reader, entry, (*path, "end"), end=False) or time(0)
    if end <= start:
        raise reader.fail((*path, "end"), f"{end:%H:%M} is not after start {start:%H:%M}")
    capacity = reader.get(entry, (*path, "capacity"), int)
    if not 1 <= capacity <= 99:
        raise reader.fail((*path, "capacity"), "must be between 1 and 99 (appointments of one item in the slot)")
    days = _weekdays(reader, entry, path)
    for day in sorted(days):  # a slot must lie inside the opening hours of every day it is offered
        if not any(day in s.days and s.start <= start and _minute(end) <= _minute(s.end) for s in calendar.sessions):
            raise reader.fail((*path, "start"), f"{start:%H:%M}-{end:%H:%M} on {WEEKDAY_NAMES[day]} is outside the "
                              "[calendar] sessions of that day")
    return AppointmentSlot(start=start, end=end, capacity=capacity, days=tuple(sorted(days)))


# ---------------------------------------------------------------- [server]


@dataclass(frozen=True)
class ServerConfig:
    #: how many reverse proxies (nginx) stand in front of `hallq run`: their X-Forwarded-For and
    #: X-Forwarded-Proto are believed (the session cookie is Secure when the proxy says https); 0: both ignored
    trusted_proxies: int = 0
    #: connections one client address may hold open (a screen's browser uses ~6 and a websocket a page); more are
    #: closed unread. Raise it when many screens share one address (behind NAT)
    connections_per_address: int = 32
    #: tickets and appointment check-ins one kiosk may ask for at once, then ``kiosk_per_minute``: a kiosk
    #: prints a few a minute, a stolen token must not use up the day's numbers
    kiosk_burst: int = 20
    kiosk_per_minute: int = 6


def _server(reader: _Reader, data: dict[str, Any]) -> ServerConfig:
    table = reader.get(data, ("server",), dict, {})
    _known_keys(reader, table, ("server",), tuple(ServerConfig.__dataclass_fields__))
    return ServerConfig(
        trusted_proxies=_bounded(reader, table, ("server", "trusted_proxies"), 0, 0, 5,
                                 "proxies in front of hallq; 1: nginx on the same machine"),
        connections_per_address=_bounded(reader, table, ("server", "connections_per_address"), 32, 8, 10000,
                                         "connections one client address may hold open"),
        kiosk_burst=_bounded(reader, table, ("server", "kiosk_burst"), 20, 1, 100_000,
                             "tickets one kiosk may take at once"),
        kiosk_per_minute=_bounded(reader, table, ("server", "kiosk_per_minute"), 6, 1, 100_000,
                                  "tickets a minute one kiosk may take after its burst"))
