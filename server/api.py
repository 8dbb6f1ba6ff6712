"""The REST API: parse the request, ask the engine, serialise the answer. Every error is JSON."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Literal

from flask import Blueprint, current_app, session
from pydantic import Field

from server import cluster
from server.auth import Principal, StaffRole
from server.events import TicketView
from server.kiosk_guide import guides
from server.operations import Answer, Body, Count, operation
from server.printing.settings import MODES
from server.queue import DomainError, QueueEngine
from server.schemas import (
    Case,
    CaseChoice,
    Issued,
    OneTicket,
    Period,
    Ticket,
    TicketOrNone,
    TrackedTicket,
    Window,
    WindowAnswer,
)
from server.web import (
    DESK,
    ISSUERS,
    OPERATORS,
    READERS,
    STAFF,
    address,
    hall,
    limits,
    period_of,
    print_plan,
    sign_session,
    spooler,
    tracked,
)

bp = Blueprint("api", __name__, url_prefix="/api")

#: 补打 refused at a desk without a printer: what the desk can do instead (its staff cannot edit config.toml)
NO_DESK_PRINTER = "导询台没有号票打印机，不能补打：请把号码和办理窗口写在纸上交给群众"
#: the same, for the admin on the health answer: what it costs and how to change it
DESK_WITHOUT_PRINTER = ("导询台没有号票打印机：导询台代取号、绿色通道和预约签到不出号票，也不能补打；"
                        "在 config.toml 的 [printing] 中设置 desk_printer")

# ---------------------------------------------------------------- auth


class Login(Body):
    username: str
    password: str


class User(Answer):
    username: str
    role: StaffRole
    #: the name the screens show (王小红)
    name: str


class LoggedIn(Answer):
    user: User


class Ok(Answer):
    ok: bool


class PasswordChange(Body):
    #: the password now
    old: str
    #: the new one: at least 8 characters, not a common one (else 422 weak_password)
    new: str


class Me(Answer):
    user: User
    #: the window the staff member is signed in to, if any
    window: int | None


def _user(who: Principal) -> dict[str, Any]:
    return {"username": who.name, "role": who.role, "name": who.display_name}


@operation(bp, "post", "/auth/login", summary="Staff login; sets the session cookie", tag="auth", roles=None,
           body=Login, answer=LoggedIn, errors=(401, 403, 429))
def login(data: Login) -> dict[str, Any]:
    who = hall().accounts.login(data.username, data.password, address())
    session.clear()
    sign_session(who.name, who.epoch)
    return {"user": _user(who)}


@operation(bp, "post", "/auth/logout", summary="End every session of the account (other browsers too)", tag="auth",
           roles=None, answer=Ok)
def logout() -> dict[str, Any]:
    """Ends every session of the account (other browsers too), not only this cookie."""
    username = session.get("staff")
    if username and hall().accounts.staff(username, session.get("epoch", 0)):  # an ended one ends nothing more
        hall().accounts.end_sessions(username)
    session.clear()
    return {"ok": True}


@operation(bp, "post", "/auth/password", summary="Change one's own password; every other session of the account "
           "ends, this browser stays logged in", tag="auth", roles=STAFF, body=PasswordChange, answer=Ok,
           errors=(429,))
def change_password(who: Principal, data: PasswordChange) -> dict[str, Any]:
    """The staff member's own change; every other session ends, this browser stays signed in."""
    epoch = hall().accounts.change_password(who.name, data.old, data.new, address())
    sign_session(who.name, epoch)
    return {"ok": True}


@operation(bp, "get", "/auth/me", summary="The logged-in staff member and the window they are signed in to",
           tag="auth", roles=STAFF, answer=Me)
def me(who: Principal) -> dict[str, Any]:
    return {"user": _user(who), "window": hall().engine.window_of(who.name)}


# ---------------------------------------------------------------- reading

class Service(Answer):
    #: the item's code (config.toml [[services]] code)
    code: str
    name: str
    category: str
    #: the letter(s) of its numbers: A012
    prefix: str
    #: residents waiting for it today
    waiting: int
    #: the windows serving it with a clerk signed in now (open or paused); empty: the kiosk says 暂无窗口办理, and
    #: still issues
    open_windows: list[int]


class Services(Answer):
    services: list[Service]


class Windows(Answer):
    windows: list[Window]


class AnyTicket(Answer):
    """The ticket; with its tracking page (track_url) for guide/admin only."""

    ticket: TrackedTicket | Ticket


@operation(bp, "get", "/services", summary="Services with the number waiting", tag="queue", roles=READERS,
           answer=Services)
def services() -> dict[str, Any]:
    return {"services": hall().engine.services()}


class ServiceGuide(Answer):
    """One item's 办事指南 (服务行为标准 1.2), as config.toml [[services]] gives it."""

    code: str
    name: str
    category: str
    #: pinyin initials residents type on the kiosk's letter keys (JMSFZHF), the reading of the words first
    initials: list[str]
    #: 申请材料
    materials: str
    #: 办理流程
    steps: str
    #: 承诺时限
    time_limit: str
    #: 收费标准 and 收费依据
    fees: str
    fee_basis: str
    #: 设立依据
    basis: str
    #: 办理窗口, with their zone when the hall has more than one (「1号窗口、6号窗口（一楼）」)
    windows: str
    #: 咨询电话 (the item's, else the hall's) and 投诉电话; empty: not configured
    phone: str
    complaint_phone: str


class ServiceGuides(Answer):
    services: list[ServiceGuide]


@operation(bp, "get", "/kiosk/guide", summary="Every item's 办事指南 for the kiosk (kiosk token)", tag="queue",
           roles=("kiosk",), answer=ServiceGuides)
def service_guides() -> dict[str, Any]:
    engine = hall().engine
    return {"services": guides(engine.config, engine.wayfinding)}


@operation(bp, "get", "/windows", summary="Windows with status and current number", tag="queue", roles=READERS,
           answer=Windows)
def windows() -> dict[str, Any]:
    return {"windows": hall().engine.windows()}


@operation(bp, "get", "/tickets/<int:ticket_id>", summary="One ticket (track_url for guide/admin only)",
           tag="queue", roles=READERS, answer=AnyTicket, errors=(404,))
def ticket(ticket_id: int, who: Principal) -> dict[str, Any]:
    view = hall().engine.ticket(ticket_id)
    return {"ticket": tracked(view) if who.role in DESK else view.to_json()}


class Move(Body):
    #: the window the resident is sent to
    window: Count


@operation(bp, "post", "/tickets/<int:ticket_id>/move", summary="Send a waiting resident to another window (admin; "
           "延时服务 coordination)", tag="queue", roles=("admin",), body=Move, answer=OneTicket, errors=(404, 409))
def move(ticket_id: int, who: Principal, data: Move) -> dict[str, Any]:
    """The admin sends a waiting resident to another window (延时服务: coordinating the windows)."""
    return {"ticket": hall().engine.move(ticket_id, data.window, who.actor).to_json()}


class ExtendedRecord(Answer):
    """One 延时服务: after the session it followed, until the last waiting resident was served."""

    business_date: date
    #: the session it followed (上午, 下午); null for a ticket left open on a day the calendar had no session
    session: str | None
    #: the session's scheduled end
    started_at: datetime
    ended_at: datetime | None
    minutes: float | None
    waiting_at_start: int
    served: int
    #: the windows that called or served during it
    windows: list[int]
    #: the staff usernames that called or served during it
    clerks: list[str]
    #: numbers of the tickets still open when the next business day began
    anomalies: list[str]


class ExtendedRecords(Answer):
    first: date = Field(alias="from")
    to: date
    records: list[ExtendedRecord]
    days: int
    sessions: int
    served: int
    minutes: float
    anomalies: int
    #: the totals as the report says them: 延时服务 3 天 4 次，服务群众 17 件
    text: str


@operation(bp, "get", "/extended-service", summary="延时服务 records and totals for ?month=YYYY-MM or ?from=&to= "
           "(admin)", tag="admin", roles=("admin",), query=Period, answer=ExtendedRecords)
def extended_service(query: Period) -> dict[str, Any]:
    """延时服务 records and totals: ?month=2026-11, or ?from=2026-11-01&to=2026-11-30."""
    first, last = period_of(query)
    return hall().engine.extended_records(first, last)


class SessionSpan(Answer):
    name: str
    start: datetime
    end: datetime
    #: the kiosk stops issuing then
    cutoff: datetime


class WindowWaiting(Answer):
    id: int
    name: str
    #: waiting residents this window could call: 「延时服务：还有 N 人等候」
    waiting: int


class ExtendedNow(ExtendedRecord):
    """The 延时服务 under way, with who still waits and where."""

    #: each window and how many waiting residents it could call (not the ids of a record's windows)
    windows: list[WindowWaiting]  # type: ignore[assignment]
    #: residents waiting now
    waiting: int


class HallStatus(Answer):
    state: Literal["open", "closed", "extended"]
    #: whether the kiosk issues now
    accepting: bool
    business_date: date
    #: the session under way; null between sessions
    session: SessionSpan | None
    next_open: datetime | None
    #: when it opens next as the screens say it: 今天 14:00
    next_open_text: str
    extended: ExtendedNow | None


@operation(bp, "get", "/hall/status", summary="Open or closed now, the session, when the hall opens next",
           tag="queue", roles=READERS, answer=HallStatus)
def hall_status() -> dict[str, Any]:
    return hall().engine.status()


class PrintFault(Answer):
    code: str
    message: str
    at: datetime


class Printer(Answer):
    name: str
    #: the printer's state: ok, paper_near_end, unknown, offline, paper_out, cover_open …
    status: str
    message: str
    #: it can print now (near-end paper still prints)
    ok: bool
    #: the last job that failed
    last_error: PrintFault | None
    checked_at: datetime | None
    mode: Literal[MODES]  # type: ignore[valid-type]
    paper_width: int
    #: the kiosks it prints for
    kiosks: list[str]
    #: driven by a `hallq printer-agent` on its kiosk
    via_agent: bool


class Printers(Answer):
    printers: list[Printer]


class VoiceHealth(Answer):
    #: announcements can be made now
    ok: bool
    #: why not, for the admin
    error: str | None
    #: turned off in config.toml is reported as not ok, with enabled false
    enabled: bool
    #: the voice espeak really uses
    voice: str | None
    #: the last failed announcement (does not by itself make the voice unhealthy)
    last_error: str | None


class PrinterProblem(Answer):
    name: str
    status: str
    message: str


class PrintersHealth(Answer):
    ok: bool
    faults: list[PrinterProblem]
    #: the guide desk's printer ([printing] desk_printer); null: the desk hands out no paper and cannot reprint
    desk_printer: str | None
    #: what that means and how to change it, for the admin; null when the desk has a printer
    desk_note: str | None


class DatabaseHealth(Answer):
    ok: bool
    error: str | None


class CallDelivery(Answer):
    """How the calls reached the displays since the server started."""

    #: sent straight onto the socket
    direct: int
    #: queued behind a slow socket
    queued: int
    #: dropped: the socket was too far behind
    dropped: int


class ProcessHealth(Answer):
    """This server process among the hall's (several with [server] message_queue: docs/deployment.md)."""

    #: host:pid of the process that answered
    process: str
    #: "one", or "several" (PostgreSQL and Redis)
    processes: str
    #: the background jobs this process runs (ticker, snapshot, printer:<name>); "all" when it is the only one
    leads: list[str] | str


class DistrictHealth(Answer):
    """How far behind the district's copy of the hall's event log is ([district] in config.toml; never the token)."""

    url: str
    #: the hall's code at the district
    code: str
    #: whether this process ships (it leads job "district"); another process of the hall does otherwise
    ships: bool
    #: the last event the district holds; null until it answered (since this process took the job)
    through: int | None
    #: events not shipped yet, and the age of the oldest of them in seconds (null while through is)
    behind_events: int | None
    behind_seconds: int | None
    #: when a batch with events was last taken by the district
    last_shipped_at: str | None
    #: why the last try failed, in Chinese; null when it did not
    last_error: str | None


class Health(Answer):
    voice: VoiceHealth
    printers: PrintersHealth
    database: DatabaseHealth
    realtime: CallDelivery
    cluster: ProcessHealth
    #: null when config.toml has no [district] url
    district: DistrictHealth | None


@operation(bp, "get", "/health", summary="What works and why not (staff): voice, printers, database, calls to the "
           "displays", tag="admin", roles=STAFF, answer=Health)
def health() -> dict[str, Any]:
    """What works and what does not, with the reason: for the admin (voice, printers, database)."""
    printers = spooler().printers()
    desk = hall().config.printing.desk_printer
    try:
        hall().engine.services()
        database: dict[str, Any] = {"ok": True, "error": None}
    except Exception as exc:  # reported, not raised: this is the page that says what is broken
        database = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    shipper = current_app.extensions["hallq_shipper"]
    leadership = current_app.extensions["hallq_leadership"]
    district = shipper and {**shipper.state(), "ships": leadership.holds(cluster.DISTRICT)}
    return {"voice": current_app.extensions["hallq_announcer"].voice.health(),
            "printers": {"ok": all(p["ok"] for p in printers),
                         "faults": [{"name": p["name"], "status": p["status"], "message": p["message"]}
                                    for p in printers if not p["ok"]],
                         "desk_printer": desk, "desk_note": None if desk else DESK_WITHOUT_PRINTER},
            "database": database,
            "realtime": current_app.extensions["hallq_realtime"].fanout.counts.to_json(),
            "cluster": leadership.to_json(), "district": district}


@operation(bp, "get", "/printers", summary="Printers and their live status (staff)", tag="printing", roles=STAFF,
           answer=Printers)
def printers() -> dict[str, Any]:
    return {"printers": spooler().printers()}


# ---------------------------------------------------------------- issuing

class IssueRequest(Body):
    #: the item's code (config.toml [[services]] code)
    service: str
    #: 绿色通道: elderly, disabled, military, pregnant; none for a regular ticket
    priority: str | None = None


@operation(bp, "post", "/tickets", summary="Take a number (kiosk token, or guide/admin session)", tag="queue",
           roles=ISSUERS, body=IssueRequest, answer=Issued, status=201, errors=(404, 409, 429),
           description="Issued; the paper follows (its outcome: the Socket.IO event `printed`).")
def issue(who: Principal, data: IssueRequest) -> dict[str, Any]:
    channel = "kiosk" if who.kind == "device" else "desk"
    if who.kind == "device":  # the guide desk is not counted: it is the channel when the kiosk refuses
        limits().ticket(who.name)
    view = hall().engine.issue(data.service, data.priority, who.actor, channel)
    return {"ticket": tracked(view), "print": print_plan(spooler().printer_for(who.actor))}


class Reprint(Body):
    #: the printer to use; none: the guide desk's ([printing] desk_printer)
    printer: str | None = None


@operation(bp, "post", "/tickets/<int:ticket_id>/reprint", summary="Reprint a ticket (补打), guide/admin; on the "
           "printer named, else the desk's printer", tag="printing", roles=DESK, body=Reprint, body_required=False,
           answer=Issued, status=202, errors=(404, 409),
           description="Queued; the outcome follows as the Socket.IO event `printed`.")
def reprint(ticket_id: int, who: Principal, data: Reprint) -> dict[str, Any]:
    """补打 at the guide desk: on the printer asked for, else the desk's own."""
    hall().engine.ticket(ticket_id)  # an unknown ticket is a 404 whatever the printers
    printer = spooler().printer_for(who.actor, data.printer)
    if printer is None:
        if data.printer is not None:
            raise DomainError("not_found", "printer_not_found", f"没有名为 {data.printer!r} 的打印机")
        raise DomainError("conflict", "no_printer", NO_DESK_PRINTER)
    view = hall().engine.request_reprint(ticket_id, who.actor, printer.name)
    return {"ticket": tracked(view), "print": print_plan(printer)}


# ---------------------------------------------------------------- window actions

def _window(rule: str, summary: str, answer: type[Answer] = TicketOrNone, body: type[Body] | None = None,
            errors: tuple[int, ...] = (404, 409)) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A window action (clerk or admin at the window): its own route, answered with the ticket or the window."""
    return operation(bp, "post", f"/windows/<int:window_id>/{rule}", summary=summary, tag="windows",
                     roles=OPERATORS, body=body, answer=answer, errors=errors)


def _ticket(view: TicketView | None) -> dict[str, Any]:
    return {"ticket": view.to_json() if view else None}


@_window("sign-in", "Sign in to the window (clerk/admin)", WindowAnswer)
def sign_in(window_id: int, who: Principal) -> dict[str, Any]:
    return {"window": engine().sign_in(window_id, who.name)}


@_window("sign-out", "Sign out (refused while a ticket is open)", WindowAnswer)
def sign_out(window_id: int, who: Principal) -> dict[str, Any]:
    return {"window": engine().sign_out(window_id, who.name)}


@_window("pause", "Pause the window (暂停)", WindowAnswer)
def pause(window_id: int, who: Principal) -> dict[str, Any]:
    return {"window": engine().pause(window_id, who.name)}


@_window("resume", "Resume the window", WindowAnswer)
def resume(window_id: int, who: Principal) -> dict[str, Any]:
    return {"window": engine().resume(window_id, who.name)}


@_window("call-next", "Call the next resident (呼叫下一位); finishes the one being served")
def call_next(window_id: int, who: Principal) -> dict[str, Any]:
    return _ticket(engine().call_next(window_id, who.name))


@_window("recall", "Recall the current ticket (重呼), up to the configured limit")
def recall(window_id: int, who: Principal) -> dict[str, Any]:
    return _ticket(engine().recall(window_id, who.name))


@_window("no-show", "Mark the current ticket as no-show (过号)")
def no_show(window_id: int, who: Principal) -> dict[str, Any]:
    return _ticket(engine().no_show(window_id, who.name))


@_window("start", "Start serving the called ticket (开始办理)")
def start(window_id: int, who: Principal) -> dict[str, Any]:
    return _ticket(engine().start(window_id, who.name))


class SpecialCall(Body):
    #: the number called out of turn (特呼), as printed: A012
    number: str


@_window("call", "Call a specific number (特呼)", body=SpecialCall)
def call_number(window_id: int, who: Principal, data: SpecialCall) -> dict[str, Any]:
    return _ticket(engine().call_number(window_id, who.name, data.number))


class Transfer(Body):
    #: the item to send the resident to (转办); none: the same item
    service: str | None = None
    #: the window to send the resident to; none: any window serving the item
    window: Count | None = None


@_window("transfer", "Transfer the current ticket to another service or window (转移); 409 window_closed when that "
         "window has no clerk signed in", body=Transfer)
def transfer(window_id: int, who: Principal, data: Transfer) -> dict[str, Any]:
    return _ticket(engine().transfer(window_id, who.name, data.service, data.window))


class Finished(Answer):
    ticket: Ticket
    #: the case recorded at this 办结
    case: Case


@operation(bp, "post", "/windows/<int:window_id>/finish", summary="Finish the current ticket (办结), recording its "
           "case type (五件制; no body: 即办件)", tag="windows", roles=OPERATORS, body=CaseChoice, body_required=False,
           answer=Finished, errors=(404, 409))
def finish(window_id: int, who: Principal, data: CaseChoice) -> dict[str, Any]:
    """办结 with the case type the clerk chose, checked before anything changes."""
    case = hall().cases.parse(data.model_dump(exclude_unset=True))
    view = engine().finish(window_id, who.name, case)
    return {"ticket": view.to_json(), "case": hall().cases.of_ticket(view.id)}


def engine() -> QueueEngine:
    return hall().engine


