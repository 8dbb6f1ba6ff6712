"""The hall described by config.toml, validated once at start-up.

config.toml is described by typed models: frozen dataclasses validated by pydantic v2. Pydantic is the project's
one schema library: the API's request and response bodies are declared with it too, and it generates their OpenAPI
JSON Schema. Every table refuses a key it does not know, the checks across tables are model validators written
once, and the models are the frozen settings the rest of the code reads.

Every error names the key (``windows[2].services``) and the line of the file it was found on, so the person
setting up a hall can fix it without reading code: pydantic's locations and English are turned into config.toml's
key path and wording (``_problem``), the line is found in the text (``_Locator``).
"""

from __future__ import annotations

import dataclasses
import functools
import re
import tomllib
import types
import typing
from dataclasses import field
from pathlib import Path
from typing import Annotated, Any, ClassVar, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BeforeValidator,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from server.calendar import CalendarConfig, minute_of, refuse_overlaps
from server.config_types import (
    REFUSED,
    WORKING_WEEK,
    Flag,
    Integer,
    Reasons,
    Says,
    Text,
    TimeOfDay,
    Weekdays,
    between,
    choice,
    config_table,
    fraction,
    kind_name,
    matching,
    refuse,
    shown,
)
from server.printing.settings import PrintingConfig
from server.vocabulary import UNRATED_RULES, WEEKDAY_NAMES
from server.voice.settings import VoiceSettings

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


class ConfigError(Exception):
    """A config problem, located by key and line."""

    def __init__(self, source: str, key: str, line: int | None, message: str):
        self.key = key
        self.line = line
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {key}: {message}")


def _promised_days(value: Any) -> Any:
    if value == "即办" or (type(value) is int and 1 <= value <= 365):
        return value
    raise refuse(f'{shown(value)}: a number of working days (1 to 365) or "即办"')


def _phone_number(value: Any) -> Any:
    if isinstance(value, str) and (not value or re.fullmatch(r"[0-9][0-9 ()（）-]{2,23}", value)):
        return value
    raise refuse(f"{shown(value)}: a phone number (digits, spaces, - and brackets) or empty")


PhoneNumber = Annotated[str, BeforeValidator(_phone_number)]


#: 承诺时限: working days, or 即办 (on the spot)
PromisedDays = Annotated[int | str, BeforeValidator(_promised_days), WithJsonSchema(
    {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 365}, {"const": "即办"}]})]


@config_table
class Service:
    """config.toml ``[[services]]``: one service item (事项) residents take a ticket for."""

    code: matching(r"^[a-z][a-z0-9_-]{0,31}$", "{shown}: use lower-case letters, digits, - and _")
    name: Text
    category: choice(CATEGORIES, "{shown} is not one of the 12 categories: " + "、".join(CATEGORIES))
    prefix: matching(r"^[A-Z]{1,2}$", "{shown}: one or two capital letters")
    daily_cap: between(1, 999) | None = None
    #: 一次性告知: what to bring, printed on the ticket
    materials: Text = ""
    #: at most this many tickets in one session of the [calendar] (上午, 下午)
    session_cap: between(1, 999) | None = None
    #: the rest of the item's 办事指南, read to a resident booking by phone (一次性告知): how it goes, how long
    #: it takes, what it costs
    steps: Text = ""
    time_limit: Text = ""
    fees: Text = ""
    #: 承诺时限 (事项办理标准 3.4.2.2): a 承诺件 of this item is due so many working days after 受理, or "即办"
    #: (finished on the spot: any later date is an extension). Unset: [cases] promised_working_days
    promised_working_days: PromisedDays | None = None
    #: 收费依据 (服务行为标准 1.2): the regulation behind ``fees``; "不收费" for a free item
    fee_basis: Text = ""
    #: 设立依据 (服务行为标准 1.2): the law or regulation the item rests on
    basis: Text = ""
    #: 咨询电话 for this item (e.g. the police station's 户籍室); empty: [hall] phone
    phone: PhoneNumber = ""


@config_table
class Window:
    """config.toml ``[[windows]]``."""

    id: between(1)
    name: Text
    services: tuple[str, ...]
    zone: Text = ""
    #: what the window does, shown under its name (e.g. 综合受理); never spoken
    label: Text = ""
    #: the window's main items, called before the items it only helps with (bounded by [queue] max_passed and
    #: max_extra_wait_minutes); empty: strictly by arrival across all its items
    favour: tuple[str, ...] = ()
    #: 党员服务岗 (场所设施标准 2.1.5): the hall TV's tile and the window screen show the mark
    party_post: bool = False

    @model_validator(mode="after")
    def _serves_its_favourites(self) -> Window:
        if not self.services:
            raise refuse("a window must serve at least one service", "services")
        if len(set(self.services)) != len(self.services):
            raise refuse("a service is listed twice", "services")
        for code in self.favour:
            if code not in self.services:
                raise refuse(f"{code!r} is not one of this window's services", "favour")
        return self


@config_table
class Display:
    """A waiting-area screen (a display device, by name) that shows and announces only some zones' calls."""

    name: Text
    zones: tuple[str, ...]


@config_table
class QueueRules:
    """config.toml ``[queue]``."""

    #: how many priority (绿色通道) tickets may be called ahead of one waiting regular ticket
    priority_bound: between(0) = 3
    #: how many times a clerk may recall (重呼) the same ticket
    recall_limit: between(0) = 3
    #: how often a waiting resident may be passed by later arrivals of a window's favoured items
    max_passed: between(0) = 3
    #: a window's favoured item never goes ahead of a resident who came this many minutes earlier
    max_extra_wait_minutes: between(0) = 20


DEFAULT_REJECT_REASONS: tuple[str, ...] = (
    "该事项不属于本中心办理范围",
    "该事项须本人携带原件到窗口现场办理，不能上门",
    "所需材料不齐，请备齐后再预约",
)


@config_table
class AppointmentSlot:
    """A bookable time of the week: ``capacity`` appointments of each item, on ``days`` (ISO weekdays)."""

    start: TimeOfDay
    end: TimeOfDay
    capacity: between(1, 99, "appointments of one item in the slot")
    days: Weekdays = WORKING_WEEK

    @model_validator(mode="after")
    def _ends_after_start(self) -> AppointmentSlot:
        if self.end <= self.start:
            raise refuse(f"{self.end:%H:%M} is not after start {self.start:%H:%M}", "end")
        return self

    @property
    def label(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def _reject_reasons(reasons: Any) -> Any:
    if isinstance(reasons, list | tuple):
        for k, reason in enumerate(reasons):
            if not isinstance(reason, str) or not reason.strip():
                raise refuse("each reason is a non-empty string", k)
        return tuple(r.strip() for r in reasons)
    return reasons


@config_table
class AppointmentRules:
    """config.toml ``[appointments]`` and its ``[[appointments.slots]]``."""

    slots: tuple[AppointmentSlot, ...] = ()
    #: check-in at the kiosk opens this long before the slot starts
    check_in_before_minutes: between(0, 240, "minutes") = 30
    #: more than this late and the appointment is given up (seed 6.2.5: 超过预约时间 30 分钟 视为主动放弃)
    forfeit_after_minutes: between(0, 240, "minutes") = 30
    #: bookings up to this many days ahead
    days_ahead: between(0, 366, "days") = 14
    #: `hallq purge` deletes appointments older than this many days and blanks the personal fields of the duty log,
    #: enquiries and closed complaints (server/retention.py)
    retention_days: between(1, 3650, "days") = 180
    reject_reasons: Annotated[tuple[str, ...], BeforeValidator(_reject_reasons)] = DEFAULT_REJECT_REASONS

    @field_validator("slots")
    @classmethod
    def _slots_apart(cls, slots: tuple[AppointmentSlot, ...]) -> tuple[AppointmentSlot, ...]:
        refuse_overlaps(slots, "slots", lambda slot: slot.label)
        return slots

    def slots_on(self, weekday: int) -> tuple[AppointmentSlot, ...]:
        return tuple(s for s in self.slots if weekday in s.days)


# ---------------------------------------------------------------- 一事一评 and 五件制

#: The levels that need a reason and open a follow-up (整改).
POOR_LEVELS: tuple[str, ...] = ("dissatisfied", "very_dissatisfied")
DEFAULT_REASONS: tuple[str, ...] = ("等候时间过长", "服务态度不好", "办事效率低", "业务不熟练", "一次性告知不清楚",
                                    "环境设施不便", "其他")
#: 退回件: the grounds of the manual (事项办理标准 3.2.1), offered to the clerk first.
DEFAULT_RETURN_REASONS: tuple[str, ...] = ("申报材料主件缺少", "明显不符合国家、省、市有关产业政策及技术规范要求",
                                           "经现场踏勘、调查核实不具备有关批准条件")


@config_table
class Evaluator:
    """A rating tablet (a device of kind evaluator) and the one window whose residents it asks."""

    device: Text
    window: Integer


@config_table
class EvaluationConfig:
    """config.toml ``[evaluation]`` and its ``[[evaluation.evaluators]]``."""

    #: the tablet asks this long after 办结; then the server records 未评价
    prompt_seconds: between(10, 600, "seconds the tablet waits for a rating") = 60
    reasons: Reasons = DEFAULT_REASONS
    basic_counts_satisfied: Flag = True
    unrated: choice(tuple(UNRATED_RULES), "{shown}: one of " + ", ".join(UNRATED_RULES)
                    + " (未评价 left out of the rate, counted as 满意, or counted as 基本满意)") = "exclude"
    #: a poor rating's follow-up (整改) is due this many working days after the rating
    followup_working_days: between(1, 60, "working days") = 5
    #: the resident may still rate from the tracking page this many days after 办结
    phone_days: between(0, 30, "days after 办结; 0: only the tablet rates") = 7
    #: 满意率 the hall aims at (the manual: 98%)
    target_rate: fraction("must be a number above 0 and at most 1 (0.98 is 98%)") = 0.98
    evaluators: tuple[Evaluator, ...] = ()

    @field_validator("evaluators")
    @classmethod
    def _one_window_each(cls, evaluators: tuple[Evaluator, ...]) -> tuple[Evaluator, ...]:
        for i, evaluator in enumerate(evaluators):
            if any(e.device == evaluator.device for e in evaluators[:i]):
                raise refuse(f"evaluator {evaluator.device!r} is listed twice: a tablet serves one window", i,
                             "device")
        return evaluators

    def window_of(self, device: str) -> int | None:
        return next((e.window for e in self.evaluators if e.device == device), None)


@config_table
class CasesConfig:
    """config.toml ``[cases]``."""

    #: the completion date the caller proposes for a 承诺件, in working days after today
    promised_working_days: between(1, 120, "working days") = 5
    #: the reply due date proposed for a 报批件 (the manual: 上报时限 3 个工作日)
    approval_working_days: between(1, 120, "working days") = 3
    return_reasons: Reasons = DEFAULT_RETURN_REASONS
    #: 报批件: after the 批复 arrived the resident is answered within so many working days (2.4 says 2, 3.5.2.2 三日)
    answer_working_days: between(1, 30, "working days") = 2
    #: 退回件: a resident's request for 复核 is answered within so many working days (3.2.2.1: 最长不超过 3 个工作日)
    review_working_days: between(1, 30, "working days") = 3


@config_table
class ComplaintsConfig:
    """config.toml ``[complaints]``: the complaint register (投诉, 机构建设 4.3)."""

    #: the answer to the resident is due so many working days after the complaint was received
    answer_working_days: between(1, 60, "working days") = 5


@config_table
class AssessmentConfig:
    """config.toml ``[assessment]``: the score of the staff assessment (考核, 机构建设 4.5-4.7), out of
    ``base_points``, less points for each shortfall of the period; never below 0 (server/assessment.py)."""

    base_points: between(1, 1000, "points") = 100
    #: less per complaint upheld (投诉属实) against the clerk or the window
    complaint_points: between(0, 1000, "points a complaint upheld costs") = 5
    #: less per percentage point of deadlines missed (承诺件, 报批件 上报 and answer, 复核: late or overdue)
    late_points: between(0, 1000, "points a percentage point of missed deadlines costs") = 1
    #: less per percentage point of 承诺件 whose date was set later than the 承诺时限 allows (延期)
    extension_points: between(0, 1000, "points a percentage point of extended 承诺件 costs") = 1
    #: less per percentage point the satisfaction rate falls short of [evaluation] target_rate
    satisfaction_points: between(0, 1000, "points a percentage point below the target costs") = 1

    @model_validator(mode="after")
    def _within_the_base(self) -> AssessmentConfig:
        for name in ("complaint_points", "late_points", "extension_points", "satisfaction_points"):
            if getattr(self, name) > self.base_points:
                raise refuse(f"must not exceed base_points ({self.base_points}): one shortfall cannot cost more "
                             "than the whole score", name)
        return self


# ---------------------------------------------------------------- [server]

#: what a Redis address looks like to redis-py's from_url (or nothing: one process)
MESSAGE_QUEUE_PATTERN = r"^$|^(redis|rediss|unix)://\S+$"


@config_table
class ServerConfig:
    """config.toml ``[server]``."""

    #: how many reverse proxies (nginx) stand in front of `hallq run`: their X-Forwarded-For and
    #: X-Forwarded-Proto are believed (the session cookie is Secure when the proxy says https); 0: both ignored
    trusted_proxies: between(0, 5, "proxies in front of hallq; 1: nginx on the same machine") = 0
    #: connections one client address may hold open (a screen's browser uses ~6 and a websocket a page); more are
    #: closed unread. Raise it when many screens share one address (behind NAT)
    connections_per_address: between(8, 10000, "connections one client address may hold open") = 32
    #: tickets and appointment check-ins one kiosk may ask for at once, then ``kiosk_per_minute``: a kiosk
    #: prints a few a minute, a stolen token must not use up the day's numbers
    kiosk_burst: between(1, 100_000, "tickets one kiosk may take at once") = 20
    kiosk_per_minute: between(1, 100_000, "tickets a minute one kiosk may take after its burst") = 6
    #: a Redis server (``redis://127.0.0.1:6379/0``) through which several `hallq run` processes serve one hall on
    #: PostgreSQL: calls and snapshots reach the screens of every process, the background jobs run once among
    #: them, the kiosks' and logins' limits are shared (docs/deployment.md). Empty: one process, as ever. The
    #: environment's HALLQ_MESSAGE_QUEUE, when set, wins
    message_queue: matching(MESSAGE_QUEUE_PATTERN, "must be empty or a redis:// (rediss://, unix://) address, "
                            "e.g. redis://127.0.0.1:6379/0") = ""


# ---------------------------------------------------------------- [district]


def _web_address(url: str) -> str:
    url = url.rstrip("/")
    if url and not re.fullmatch(r"https?://[^/\s?#]+(/[^\s?#]*)?", url):
        raise refuse(f"{url!r}: an http:// or https:// address")
    return url


#: an http:// or https:// address (a trailing / dropped), or empty
WebAddress = Annotated[Text, AfterValidator(_web_address)]

#: a hall's code at the district (district/replica.py makes its replica's schema of it)
DISTRICT_CODE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"


@config_table
class DistrictLink:
    """config.toml ``[district]``: the district server this hall ships its event log to (server/shipper.py); no
    url: the hall ships nothing. The token is the hall's password at the district: never logged nor shown."""

    url: WebAddress = ""
    token: Text = field(default="", repr=False)
    code: matching(DISTRICT_CODE_PATTERN, "{shown}: the hall's code at the district: lower-case letters, digits, "
                   "- and _ (at most 32)") = ""
    #: events in one batch at most
    batch_events: between(1, 5000, "events in one batch") = 500
    #: a batch (the current rows, when no event happened) is sent at least this often
    interval_seconds: between(1, 300, "seconds between two batches at most") = 5

    @model_validator(mode="after")
    def _named_and_admitted(self) -> DistrictLink:
        if self.url and not self.token:
            raise refuse("is required with url: the token the district issued to this hall", "token")
        if self.url and not self.code:
            raise refuse("is required with url: the hall's code at the district", "code")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.url)


# ---------------------------------------------------------------- [hall] and the whole file


def _zone(name: Any) -> Any:
    if isinstance(name, ZoneInfo):
        return name
    if not isinstance(name, str):
        raise refuse(f"must be a string, not {kind_name(type(name))}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise refuse(f"unknown time zone {name!r}") from None


#: an IANA time zone, written as its name (Asia/Shanghai)
Zone = Annotated[ZoneInfo, BeforeValidator(_zone), WithJsonSchema({"type": "string"})]


@config_table
class HallTable:
    """config.toml ``[hall]``: what the hall is called and says."""

    name: Text
    notice: Text = ""
    timezone: Zone = ZoneInfo("Asia/Shanghai")
    announcement: Text = "请{number}号到{window}办理"
    #: the hall's address as residents' phones reach it (the ticket's QR code); empty: the address it runs on
    public_url: WebAddress = ""
    #: 投诉电话, printed on the ticket, the notices and the tracking page; empty: not printed
    complaint_phone: PhoneNumber = ""
    #: 咨询电话 of the hall, shown in the kiosk's 办事指南 of an item without its own ``phone``; empty: not shown
    phone: PhoneNumber = ""

    @field_validator("announcement")
    @classmethod
    def _names_number_and_window(cls, announcement: str) -> str:
        if "{number}" not in announcement or "{window}" not in announcement:
            raise refuse("must contain {number} and {window}")
        return announcement



@config_table
class HallConfig:
    """The whole of config.toml: one field a table. The checks across tables are here, written once."""

    #: config.toml's top level: its tables (``[[printers]]`` are kept in ``printing``)
    KEYS: ClassVar[tuple[str, ...]] = ("hall", "queue", "services", "windows", "printing", "printers", "displays",
                                       "voice", "calendar", "appointments", "evaluation", "cases", "complaints",
                                       "assessment", "server", "district")

    hall: HallTable
    services: tuple[Service, ...]
    windows: tuple[Window, ...]
    queue: QueueRules = QueueRules()
    printing: PrintingConfig = PrintingConfig()
    displays: tuple[Display, ...] = ()
    voice: VoiceSettings = VoiceSettings()
    calendar: CalendarConfig = CalendarConfig()
    appointments: AppointmentRules = AppointmentRules()
    evaluation: EvaluationConfig = EvaluationConfig()
    cases: CasesConfig = CasesConfig()
    complaints: ComplaintsConfig = ComplaintsConfig()
    assessment: AssessmentConfig = AssessmentConfig()
    server: ServerConfig = ServerConfig()
    district: DistrictLink = DistrictLink()
    #: the file read, for messages (not a key of config.toml)
    source: str = field(default="config.toml", init=False)

    @model_validator(mode="before")
    @classmethod
    def _printers_into_printing(cls, data: Any) -> Any:
        """``[[printers]]`` sit at config.toml's top level; the printing settings hold them."""
        if not isinstance(data, dict) or not isinstance(data.get("printing", {}), dict):
            return data
        printing = data.get("printing", {})
        if "printers" in printing:  # named as written: the models' path printing.printers is config's [[printers]]
            raise _refuse_as_written(f"unknown key; one of {', '.join(PrintingConfig.KEYS)} (printers are "
                                     "[[printers]] tables)", "printing", "printers")
        if "printers" not in data:
            return data
        rest = {key: value for key, value in data.items() if key != "printers"}
        return {**rest, "printing": {**printing, "printers": data["printers"]}}

    @field_validator("services")
    @classmethod
    def _services_apart(cls, services: tuple[Service, ...]) -> tuple[Service, ...]:
        if not services:
            raise refuse("at least one service is required")
        prefixes: dict[str, str] = {}
        for i, service in enumerate(services):
            if any(s.code == service.code for s in services[:i]):
                raise refuse(f"duplicate service code {service.code!r}", i, "code")
            if service.prefix in prefixes:
                raise refuse(f"duplicate prefix {service.prefix!r} (already used by {prefixes[service.prefix]!r})",
                             i, "prefix")
            prefixes[service.prefix] = service.code
        return services

    @field_validator("windows")
    @classmethod
    def _windows_apart(cls, windows: tuple[Window, ...]) -> tuple[Window, ...]:
        if not windows:
            raise refuse("at least one window is required")
        for i, window in enumerate(windows):
            if any(w.id == window.id for w in windows[:i]):
                raise refuse(f"duplicate window id {window.id}", i, "id")
        return windows

    @model_validator(mode="after")
    def _tables_agree(self) -> HallConfig:
        codes = {s.code for s in self.services}
        for i, window in enumerate(self.windows):
            for code in window.services:
                if code not in codes:
                    raise refuse(f"unknown service {code!r}", "windows", i, "services")
        unserved = codes - {code for w in self.windows for code in w.services}
        if unserved:
            raise refuse(f"no window serves {', '.join(sorted(unserved))}", "windows")
        self._refuse_unknown_zones()
        window_ids = {w.id for w in self.windows}
        for i, evaluator in enumerate(self.evaluation.evaluators):
            if evaluator.window not in window_ids:
                raise refuse(f"no window with id {evaluator.window}", "evaluation", "evaluators", i, "window")
        self._refuse_slots_when_closed()
        return self

    def _refuse_unknown_zones(self) -> None:
        zones = {w.zone for w in self.windows if w.zone}
        for i, display in enumerate(self.displays):
            if any(d.name == display.name for d in self.displays[:i]):
                raise refuse(f"display {display.name!r} is listed twice", "displays", i, "name")
            unknown = [z for z in display.zones if z not in zones]
            if not display.zones or unknown:
                known = "、".join(sorted(zones)) or "none set"
                raise refuse(f"zones of the windows: {known}" + (f" (not {unknown[0]!r})" if unknown else ""),
                             "displays", i, "zones")

    def _refuse_slots_when_closed(self) -> None:
        """A slot must lie inside the opening hours of every day it is offered."""
        sessions = self.calendar.sessions
        for i, slot in enumerate(self.appointments.slots):
            for day in slot.days:
                if not any(day in s.days and s.start <= slot.start and minute_of(slot.end) <= minute_of(s.end)
                           for s in sessions):
                    raise refuse(f"{slot.label} on {WEEKDAY_NAMES[day]} is outside the [calendar] sessions of that "
                                 "day", "appointments", "slots", i, "start")

    @property
    def name(self) -> str:
        return self.hall.name

    @property
    def timezone(self) -> ZoneInfo:
        return self.hall.timezone

    @property
    def notice(self) -> str:
        return self.hall.notice

    @property
    def announcement(self) -> str:
        return self.hall.announcement

    @property
    def public_url(self) -> str:
        return self.hall.public_url

    @property
    def rules(self) -> QueueRules:
        """``[queue]``: the rules of calling."""
        return self.queue

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
            line = None if start is None else self._key_line(table, start, end, rest)
            if line is not None:
                return line
        return None

    def end_of(self, path: tuple[str | int, ...]) -> int | None:
        """The last line of the table that holds the key (the line before the next table's header)."""
        for table, index, _ in self._splits(path):
            start, end = self._table_span(table, index)
            if start is not None:
                return end
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
        """Where the key may be: in a nested array of tables ([[calendar.sessions]]) first, then as usual; a key of
        the top level may be a table's header ([apointments])."""
        nested = []
        if len(path) >= 3 and isinstance(path[0], str) and isinstance(path[1], str) and isinstance(path[2], int):
            nested.append((f"{path[0]}.{path[1]}", path[2], path[3:]))
        header = [(path[0], None, ())] if len(path) == 1 and isinstance(path[0], str) else []
        return [*nested, cls._split(path), *header]

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


# ---------------------------------------------------------------- reading the file; errors by key and line


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
    hall = parse_toml(text, source, HallConfig)
    object.__setattr__(hall, "source", source)
    return hall


M = typing.TypeVar("M")


def parse_toml(text: str, source: str, root: type[M]) -> M:
    """A TOML file validated by ``root`` (a config table), its errors by key and line: config.toml's, and the
    district server's district.toml (district/config.py)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise ConfigError(source, "(syntax)", int(match.group(1)) if match else None,
                          f"invalid TOML: {exc}") from None
    model, problems = _validated(data, root)
    if problems or model is None:
        raise _first_in_file(problems, text, source)
    return model


def config_from_data(data: dict[str, Any], source: str) -> HallConfig:
    """A hall's config shipped as JSON data (the district's copy of each hall's rules): the same validation as
    config.toml, the first problem named by its key."""
    hall, problems = _validated(data, HallConfig)
    if problems or hall is None:
        path, message = problems[0]
        raise ConfigError(source, _key(path), None, message)
    object.__setattr__(hall, "source", source)
    return hall


@functools.cache
def _adapter(root: type[M]) -> TypeAdapter[M]:
    """Built once a model: building one takes longer than validating a file."""
    return TypeAdapter(root)


def _validated(data: dict[str, Any], root: type[M]) -> tuple[M | None, list[tuple[tuple[str | int, ...], str]]]:
    try:
        model = _adapter(root).validate_python(data)
    except ValidationError as exc:
        return None, [_problem(error, root) for error in exc.errors(include_url=False)]
    return model, [(path, "must not be empty") for path in _empty_strings(data, ())]


def _first_in_file(problems: list[tuple[tuple[str | int, ...], str]], text: str, source: str) -> ConfigError:
    """The problem met first reading the file: a missing key after the other keys of its table, a missing table
    and a key without a line last (a misspelt key or table, named, is the likelier cause)."""
    locator = _Locator(text)

    def place(problem: tuple[tuple[str | int, ...], str]) -> tuple[int, int]:
        path, message = problem
        missing = message == "is required"
        line = locator.end_of(path) if missing and len(path) > 1 else None if missing else locator.line_of(path)
        return (len(locator.lines) + 1 if line is None else line, missing)

    path, message = min(problems, key=place)
    return ConfigError(source, _key(path), locator.line_of(path), message)


def _empty_strings(table: dict[str, Any], path: tuple[str | int, ...]) -> list[tuple[str | int, ...]]:
    """A key whose string is empty or blank, in any table: such a value is a slip, never a setting."""
    found: list[tuple[str | int, ...]] = []
    for name, value in table.items():
        if isinstance(value, str) and not value.strip():
            found.append((*path, name))
        elif isinstance(value, dict):
            found += _empty_strings(value, (*path, name))
        elif isinstance(value, list):
            for i, entry in enumerate(value):
                if isinstance(entry, dict):
                    found += _empty_strings(entry, (*path, name, i))
    return found


def _key(path: tuple[str | int, ...]) -> str:
    key = ""
    for part in path:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else part)
    return key or "(top)"


#: pydantic's error types of a value of the wrong type, and what config.toml's errors call the type wanted
_WANTED = {"int_type": int, "string_type": str, "bool_type": bool, "float_type": float, "tuple_type": list,
           "list_type": list, "frozen_set_type": list, "set_type": list, "dataclass_type": dict, "dict_type": dict,
           "model_type": dict}
_OUT_OF_RANGE = ("greater_than_equal", "less_than_equal", "greater_than", "less_than", "finite_number")


def _problem(error: Any, root: Any) -> tuple[tuple[str | int, ...], str]:
    """A pydantic error as config.toml's key path and wording."""
    loc = tuple(error["loc"])
    kind, value = error["type"], error["input"]
    if kind == REFUSED:
        key = error["ctx"]["key"]
        return (key if error["ctx"].get("as_written") else _toml_path((*loc, *key))), error["ctx"]["message"]
    path = _toml_path(loc)
    if kind in ("missing", "missing_argument"):
        return path, "is required"
    if kind in ("unexpected_keyword_argument", "extra_forbidden"):
        return path, f"unknown key; one of {', '.join(_keys_of(_model_at(root, loc[:-1])))}"
    says = _says_of(root, loc)
    if kind in _OUT_OF_RANGE and says.range:
        return path, says.range
    if kind == "literal_error" and says.choice:
        return path, says.choice.format(shown=shown(value))
    if kind == "string_pattern_mismatch" and says.pattern:
        return path, says.pattern.format(shown=shown(value))
    if kind in _WANTED:
        if kind in ("dataclass_type", "model_type") and path and isinstance(path[-1], int):
            return path, f"must be a table ([[{'.'.join(str(p) for p in path if isinstance(p, str))}]])"
        return path, says.kind or f"must be {kind_name(_WANTED[kind])}, not {kind_name(type(value))}"
    return path, error["msg"]


def _refuse_as_written(message: str, *key: str | int) -> PydanticCustomError:
    """``refuse`` from the top level, with config.toml's own key path."""
    return PydanticCustomError(REFUSED, "{message}", {"message": message, "key": key, "as_written": True})


def _toml_path(loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """The models' path → config.toml's: printers and the ticket layout are moved, a printer's connection flat."""
    if loc[:2] == ("printing", "printers"):
        loc = loc[1:]
    elif loc[:2] == ("printing", "layout"):
        loc = ("printing", *loc[2:])
    if len(loc) >= 4 and loc[0] == "printers" and loc[2] == "connection":
        return (*loc[:3], *loc[4:]) if loc[3] == "kind" else (*loc[:2], *loc[3:])
    return loc


def _model_at(root: Any, loc: tuple[str | int, ...]) -> Any:
    """The model (a settings class) that holds the value at ``loc``: ``root`` for the top level."""
    model: Any = root
    for part in loc:
        hint = _bare(typing.get_type_hints(model, include_extras=True)[part]) if isinstance(part, str) else model
        model = _bare(typing.get_args(hint)[0]) if typing.get_origin(hint) is tuple else hint
    return model


def _bare(hint: Any) -> Any:
    """A type without its Annotated metadata and without ``| None``."""
    while True:
        if typing.get_origin(hint) is Annotated:
            hint = typing.get_args(hint)[0]
        elif typing.get_origin(hint) in (Union, types.UnionType):
            hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
        else:
            return hint


def _keys_of(model: Any) -> tuple[str, ...]:
    keys = getattr(model, "KEYS", None)
    return keys or tuple(spec.name for spec in dataclasses.fields(model) if spec.init)


def _says_of(root: Any, loc: tuple[str | int, ...]) -> Says:
    """The wording a model declares for the key at ``loc`` (none for a list's entries)."""
    if not loc or not isinstance(loc[-1], str):
        return Says()
    try:
        hint = typing.get_type_hints(_model_at(root, loc[:-1]), include_extras=True)[loc[-1]]
    except (KeyError, TypeError, IndexError):
        return Says()
    return next(_metadata(hint), Says())


def _metadata(hint: Any) -> Any:
    if typing.get_origin(hint) is Annotated:
        yield from (m for m in hint.__metadata__ if isinstance(m, Says))
        yield from _metadata(typing.get_args(hint)[0])
    elif typing.get_origin(hint) in (Union, types.UnionType):
        for arg in typing.get_args(hint):
            yield from _metadata(arg)
