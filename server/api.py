"""The REST API: parse the request, ask the engine, serialise the answer. Every error is JSON."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request, session
from werkzeug.exceptions import HTTPException

from server.auth import Principal, allowed
from server.calendar import calendar_day
from server.events import TicketView
from server.hall import Hall
from server.openapi import openapi_document
from server.printing.settings import PrinterConfig
from server.printing.spooler import Spooler
from server.queue import DomainError, QueueEngine
from server.throttle import DeviceLimits, Throttled

bp = Blueprint("api", __name__, url_prefix="/api")

_STATUS = {"bad_request": 400, "unauthorized": 401, "forbidden": 403, "not_found": 404, "conflict": 409,
           "unsupported": 415, "invalid": 422, "too_many": 429, "unavailable": 503}
READERS = ("admin", "guide", "clerk", "kiosk", "display")
ISSUERS = ("kiosk", "guide", "admin")
OPERATORS = ("clerk", "admin")
STAFF = ("admin", "guide", "clerk")
DESK = ("guide", "admin")
#: a 429 is answered this much later (at most; under gevent only, where waiting costs a greenlet, not a thread):
#: a client looping on refusals then costs the hall one request a second, not hundreds
THROTTLED_PAUSE = 1.0
#: the largest id or count the database's INTEGER columns hold (PostgreSQL: 4 bytes); a larger one overflows there
INT_MAX = 2**31 - 1
#: the deepest a request body may nest (the API's deepest is 3): deeper is refused, not parsed into a RecursionError
MAX_DEPTH = 16
#: the days the hall reckons with: far ones overflow at its time zone (0001-01-01 less a day) or mean nothing
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)


def hall() -> Hall:
    return current_app.extensions["hallq"]


def spooler() -> Spooler:
    return current_app.extensions["hallq_spooler"]


def limits() -> DeviceLimits:
    return current_app.extensions["hallq_limits"]


def error(status: int, code: str, message: str, detail: dict[str, Any] | None = None) -> tuple[Response, int]:
    """``detail``: facts for the screen's next step (the item of a forfeited appointment, say)."""
    return jsonify({"error": {"code": code, "message": message, **({"detail": detail} if detail else {})}}), status


def principal() -> Principal | None:
    """The device named by a Bearer token, else the staff member of the session cookie."""
    header = request.headers.get("Authorization", "")
    token = None
    if header:
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise DomainError("unauthorized", "bad_token", "Authorization 头应为 'Bearer <令牌>'")
    who = hall().accounts.identify(token, session.get("staff"), session.get("epoch", 0))
    if token and who is None:
        raise DomainError("unauthorized", "bad_token", "设备令牌无效")
    return who


def require(*roles: str) -> Principal:
    who = principal()
    allowed(who, roles)
    assert who is not None
    return who


def storable(text: str) -> bool:
    """Text the databases and the log can keep: no NUL (PostgreSQL refuses it) and no lone surrogate (a JSON
    escape like \\ud800 that has no UTF-8 form)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def body() -> dict[str, Any]:
    """The JSON object of the request; a 400 bad_json for anything else, too deep or with text that cannot be kept."""
    if not request.get_data(cache=True):
        return {}
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        raise DomainError("bad_request", "bad_json", f"请求体嵌套过深（最多 {MAX_DEPTH} 层）") from None
    if not isinstance(data, dict):
        raise DomainError("bad_request", "bad_json", "请求体必须是 JSON 对象")
    _check_json(data, 1)
    return data


def _check_json(value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise DomainError("bad_request", "bad_json", f"请求体嵌套过深（最多 {MAX_DEPTH} 层）")
    if isinstance(value, str) and not storable(value):
        raise DomainError("bad_request", "bad_json", "请求体含有无法保存的字符（NUL 或孤立的 \\ud800 类转义）")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_json(key, depth)
            _check_json(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_json(item, depth + 1)


def field(data: dict[str, Any], name: str, kind: type, required: bool = True) -> Any:
    value = data.get(name)
    if value is None:
        if required:
            raise DomainError("invalid", "missing_field", f"缺少字段 {name}")
        return None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise DomainError("invalid", "bad_field", f"字段 {name} 应为 {kind.__name__}")
    if kind is int and not -INT_MAX <= value <= INT_MAX:
        raise DomainError("invalid", "bad_field", f"字段 {name} 超出范围")
    return value


def parse_day(value: str, name: str, code: str = "bad_date", form: str = "YYYY-MM-DD，例如 2026-11-30") -> date:
    """A YYYY-MM-DD the hall can reckon with (FIRST_DAY to LAST_DAY), else a 422 naming the parameter."""
    day = calendar_day(value)
    if day is None:
        raise DomainError("invalid", code, f"{name} 应为 {form}")
    if not FIRST_DAY <= day <= LAST_DAY:
        raise DomainError("invalid", code, f"{name} 应在 {FIRST_DAY} 到 {LAST_DAY} 之间")
    return day


# ---------------------------------------------------------------- auth

@bp.post("/auth/login")
def login() -> Any:
    data = body()
    who = hall().accounts.login(field(data, "username", str), field(data, "password", str), address())
    session.clear()
    sign_session(who.name, who.epoch)
    return jsonify({"user": {"username": who.name, "role": who.role, "name": who.display_name}})


def address() -> str:
    """The client's address (the proxy's word for it when trusted: [server] trusted_proxies)."""
    return request.remote_addr or ""


def sign_session(username: str, epoch: int) -> None:
    """The cookie names the staff member and the epoch it was signed in; a raised epoch ends it."""
    session["staff"], session["epoch"] = username, epoch
    session.permanent = True


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
    return jsonify({"ticket": _tracked(view) if who.role in DESK else view.to_json()})


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
    first, last = _period(request.args)
    return jsonify(hall().engine.extended_records(first, last))


def _period(args: Any) -> tuple[date, date]:
    if "month" in args:
        first = parse_day(f"{args['month']}-01", "month", "bad_period", "YYYY-MM，例如 2026-11")
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        return first, following - timedelta(days=1)
    if "from" not in args or "to" not in args:
        raise DomainError("invalid", "bad_period", "请用 month=YYYY-MM，或 from=YYYY-MM-DD&to=YYYY-MM-DD")
    first, last = parse_day(args["from"], "from", "bad_period"), parse_day(args["to"], "to", "bad_period")
    if last < first or (last - first).days > 366:
        raise DomainError("invalid", "bad_period", "to 不能早于 from，且跨度不超过一年")
    return first, last


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
    return jsonify({"ticket": _tracked(view), "print": _print_plan(spooler().printer_for(who.actor))}), 201


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
    return jsonify({"ticket": _tracked(view), "print": _print_plan(printer)}), 202


def _tracked(view: TicketView) -> dict[str, Any]:
    """The ticket with its tracking page, for whoever hands the paper to the resident."""
    return {**view.to_json(), "track_url": spooler().track_url(view.track_token)}


def _print_plan(printer: PrinterConfig | None) -> dict[str, Any]:
    """What happens to the paper: queued on a printer (its outcome follows as a `printed` event), or none."""
    if printer is None:
        return {"status": "none", "printer": None, "printer_status": None, "message": "本机未配置打印机"}
    state = spooler().states[printer.name].status
    return {"status": "queued", "printer": printer.name, "printer_status": state.code, "message": state.message}


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


# ---------------------------------------------------------------- odd input and errors

def guard_input(app: Flask) -> None:
    """Refuse, in one place, what no /api view can use: query strings that are not UTF-8, arguments with text the
    databases cannot keep, path ids past INT_MAX (they name nothing; the database would overflow)."""

    @app.before_request
    def _check_arguments() -> None:
        if not request.path.startswith("/api/"):
            return
        try:
            arguments = list(request.args.items(multi=True))
        except UnicodeDecodeError:
            raise DomainError("bad_request", "bad_query", "查询参数不是有效的 UTF-8") from None
        for name, value in (request.view_args or {}).items():
            if isinstance(value, int) and value > INT_MAX:
                raise DomainError("not_found", "not_found", f"没有编号为 {value} 的记录")
            arguments.append((name, str(value)))
        for name, value in arguments:
            if not storable(name) or not storable(value):
                raise DomainError("bad_request", "bad_query", f"参数 {name!r} 含有无法处理的字符")


def register_errors(app: Flask) -> None:
    """JSON errors for /api, whatever went wrong; never an HTML page or a bare 500 for bad input."""

    @app.errorhandler(DomainError)
    def _domain(exc: DomainError) -> Any:
        answer, status = error(_STATUS.get(exc.kind, 400), exc.code, exc.message, exc.detail)
        if isinstance(exc, Throttled):
            answer.headers["Retry-After"] = str(exc.retry_after)
            current_app.extensions["hallq_pause"](min(THROTTLED_PAUSE, exc.retry_after))
        return answer, status

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        if not request.path.startswith("/api/"):
            return exc
        codes = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 415: "unsupported_media"}
        status = exc.code or 400
        return error(status, codes.get(status, "bad_request"), exc.description or exc.name)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return error(500, "internal", "服务器内部错误，请联系管理员")
