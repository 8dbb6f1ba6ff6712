"""The REST API: parse the request, ask the engine, serialise the answer. Every error is JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, jsonify, request, session

from server.events import TicketView
from server.openapi import openapi_document
from server.queue import DomainError, QueueEngine
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


@bp.get("/openapi.json")
def openapi() -> Any:
    return jsonify(openapi_document())


# ---------------------------------------------------------------- issuing

@bp.post("/tickets")
def issue() -> Any:
    who = require(*ISSUERS)
    data = body()
    channel = "kiosk" if who.kind == "device" else "desk"
    if who.kind == "device":  # the guide desk is not counted: it is the channel when the kiosk refuses
        limits().ticket(who.name)
    view = hall().engine.issue(field(data, "service", str), field(data, "priority", str, required=False),
                               who.actor, channel)
    return jsonify({"ticket": tracked(view), "print": print_plan(spooler().printer_for(who.actor))}), 201


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

def _ticket(view: TicketView | None) -> dict[str, Any]:
    return {"ticket": view.to_json() if view else None}


def _finish(engine: QueueEngine, window: int, staff: str, data: dict[str, Any]) -> dict[str, Any]:
    """办结 with the case type the clerk chose (五件制; none: 即办件), checked before anything changes."""
    case = hall().cases.parse(data)
    view = engine.finish(window, staff, case)
    return {"ticket": view.to_json(), "case": hall().cases.of_ticket(view.id)}


Action = Callable[[QueueEngine, int, str, dict[str, Any]], dict[str, Any]]
_WINDOW_ACTIONS: dict[str, Action] = {
    "sign-in": lambda engine, window, staff, _: {"window": engine.sign_in(window, staff)},
    "sign-out": lambda engine, window, staff, _: {"window": engine.sign_out(window, staff)},
    "pause": lambda engine, window, staff, _: {"window": engine.pause(window, staff)},
    "resume": lambda engine, window, staff, _: {"window": engine.resume(window, staff)},
    "call-next": lambda engine, window, staff, _: _ticket(engine.call_next(window, staff)),
    "recall": lambda engine, window, staff, _: _ticket(engine.recall(window, staff)),
    "no-show": lambda engine, window, staff, _: _ticket(engine.no_show(window, staff)),
    "start": lambda engine, window, staff, _: _ticket(engine.start(window, staff)),
    "finish": lambda engine, window, staff, data: _finish(engine, window, staff, data),
    "call": lambda engine, window, staff, data: _ticket(
        engine.call_number(window, staff, field(data, "number", str))),
    "transfer": lambda engine, window, staff, data: _ticket(engine.transfer(
        window, staff, field(data, "service", str, required=False), field(data, "window", int, required=False))),
}


@bp.post("/windows/<int:window_id>/<action>")
def window_action(window_id: int, action: str) -> Any:
    who = require(*OPERATORS)
    handler = _WINDOW_ACTIONS.get(action)
    if handler is None:
        raise DomainError("not_found", "unknown_action", f"没有窗口操作 {action!r}")
    return jsonify(handler(hall().engine, window_id, who.name, body()))


