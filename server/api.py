"""The REST API: parse the request, ask the engine, serialise the answer. Every error is JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, jsonify, request, session

from server.auth import Principal
from server.events import TicketView
from server.operations import Answer, Body, Count, operation
from server.queue import DomainError, QueueEngine
from server.schemas import Case, CaseChoice, Issued, Ticket, TicketOrNone, WindowAnswer
from server.web import (
    DESK,
    ISSUERS,
    OPERATORS,
    READERS,
    STAFF,
    address,
    body,
    field,
    hall,
    limits,
    period_of,
    print_plan,
    require,
    sign_session,
    spooler,
    tracked,
)

bp = Blueprint("api", __name__, url_prefix="/api")

# ---------------------------------------------------------------- auth

@bp.post("/auth/login")
def login() -> Any:
    data = body()
    who = hall().accounts.login(field(data, "username", str), field(data, "password", str), address())
    session.clear()
    sign_session(who.name, who.epoch)
    return jsonify({"user": {"username": who.name, "role": who.role, "name": who.display_name}})


@bp.post("/auth/logout")
def logout() -> Any:
    """Ends every session of the account (other browsers too), not only this cookie."""
    username = session.get("staff")
    if username and hall().accounts.staff(username, session.get("epoch", 0)):  # an ended one ends nothing more
        hall().accounts.end_sessions(username)
    session.clear()
    return jsonify({"ok": True})


@bp.post("/auth/password")
def change_password() -> Any:
    """The staff member's own change; every other session ends, this browser stays signed in."""
    who = require(*STAFF)
    data = body()
    epoch = hall().accounts.change_password(who.name, field(data, "old", str), field(data, "new", str), address())
    sign_session(who.name, epoch)
    return jsonify({"ok": True})


@bp.get("/auth/me")
def me() -> Any:
    who = require("admin", "guide", "clerk")
    return jsonify({"user": {"username": who.name, "role": who.role, "name": who.display_name},
                    "window": hall().engine.window_of(who.name)})


# ---------------------------------------------------------------- reading

@bp.get("/services")
def services() -> Any:
    require(*READERS)
    return jsonify({"services": hall().engine.services()})


@bp.get("/windows")
def windows() -> Any:
    require(*READERS)
    return jsonify({"windows": hall().engine.windows()})


@bp.get("/tickets/<int:ticket_id>")
def ticket(ticket_id: int) -> Any:
    who = require(*READERS)
    view = hall().engine.ticket(ticket_id)
    return jsonify({"ticket": tracked(view) if who.role in DESK else view.to_json()})


@bp.post("/tickets/<int:ticket_id>/move")
def move(ticket_id: int) -> Any:
    """The admin sends a waiting resident to another window (延时服务: coordinating the windows)."""
    who = require("admin")
    view = hall().engine.move(ticket_id, field(body(), "window", int), who.actor)
    return jsonify({"ticket": view.to_json()})


@bp.get("/extended-service")
def extended_service() -> Any:
    """延时服务 records and totals: ?month=2026-11, or ?from=2026-11-01&to=2026-11-30."""
    require("admin")
    first, last = period_of(request.args)
    return jsonify(hall().engine.extended_records(first, last))


@bp.get("/hall/status")
def hall_status() -> Any:
    require(*READERS)
    return jsonify(hall().engine.status())


@bp.get("/health")
def health() -> Any:
    """What works and what does not, with the reason: for the admin (voice, printers, database)."""
    require(*STAFF)
    printers = spooler().printers()
    try:
        hall().engine.services()
        database: dict[str, Any] = {"ok": True, "error": None}
    except Exception as exc:  # reported, not raised: this is the page that says what is broken
        database = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return jsonify({"voice": current_app.extensions["hallq_announcer"].voice.health(),
                    "printers": {"ok": all(p["ok"] for p in printers),
                                 "faults": [{"name": p["name"], "status": p["status"], "message": p["message"]}
                                            for p in printers if not p["ok"]]},
                    "database": database,
                    "realtime": current_app.extensions["hallq_realtime"].fanout.counts.to_json()})


@bp.get("/printers")
def printers() -> Any:
    require(*STAFF)
    return jsonify({"printers": spooler().printers()})


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


@bp.post("/tickets/<int:ticket_id>/reprint")
def reprint(ticket_id: int) -> Any:
    """补打 at the guide desk: on the printer asked for, else the desk's own."""
    who = require(*DESK)
    requested = field(body(), "printer", str, required=False)
    hall().engine.ticket(ticket_id)  # an unknown ticket is a 404 whatever the printers
    printer = spooler().printer_for(who.actor, requested)
    if printer is None:
        if requested is not None:
            raise DomainError("not_found", "printer_not_found", f"没有名为 {requested!r} 的打印机")
        raise DomainError("conflict", "no_printer",
                          "导询台没有设置打印机：请指定 printer，或在 config.toml 的 [printing] 中设置 desk_printer")
    view = hall().engine.request_reprint(ticket_id, who.actor, printer.name)
    return jsonify({"ticket": tracked(view), "print": print_plan(printer)}), 202


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


