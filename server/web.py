"""What every /api view shares: the hall and its services, who is asking, the request's JSON, the error answer and
the one map from a domain error's kind to its HTTP status. Views import from here, never from each other."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, current_app, jsonify, request, session
from socketio.exceptions import ConnectionRefusedError as SocketRefused
from werkzeug.exceptions import HTTPException

from server.auth import Principal, allowed
from server.clock import calendar_day
from server.events import TicketView
from server.hall import Hall
from server.printing.settings import PrinterConfig
from server.printing.spooler import Spooler
from server.queue import DomainError
from server.throttle import DeviceLimits, Throttled

if TYPE_CHECKING:  # server.schemas imports this module (through server.operations)
    from server.schemas import Period

#: the one map from a refusal's kind to its HTTP status: the API's answers, the printable pages, refused sockets
STATUS = {"bad_request": 400, "unauthorized": 401, "forbidden": 403, "not_found": 404, "conflict": 409,
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


def status_of(refusal: DomainError) -> int:
    """The HTTP status of a refusal, by STATUS."""
    return STATUS.get(refusal.kind, 400)


def refused_socket(refusal: DomainError) -> SocketRefused:
    """A Socket.IO connection refused as the API refuses a request: the error's code as the message a screen's
    connect_error gets, and the API's error body with its HTTP status as the data."""
    return SocketRefused(refusal.code, {"status": status_of(refusal),
                                        "error": {"code": refusal.code, "message": refusal.message}})


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


def parse_day(value: str, name: str, code: str = "bad_date", form: str = "YYYY-MM-DD，例如 2026-11-30") -> date:
    """A YYYY-MM-DD the hall can reckon with (FIRST_DAY to LAST_DAY), else a 422 naming the parameter."""
    day = calendar_day(value)
    if day is None:
        raise DomainError("invalid", code, f"{name} 应为 {form}")
    if not FIRST_DAY <= day <= LAST_DAY:
        raise DomainError("invalid", code, f"{name} 应在 {FIRST_DAY} 到 {LAST_DAY} 之间")
    return day


def address() -> str:
    """The client's address (the proxy's word for it when trusted: [server] trusted_proxies)."""
    return request.remote_addr or ""


def sign_session(username: str, epoch: int) -> None:
    """The cookie names the staff member and the epoch it was signed in; a raised epoch ends it."""
    session["staff"], session["epoch"] = username, epoch
    session.permanent = True


def period_of(asked: Period) -> tuple[date, date]:
    """The days of ?month=, ?quarter= or ?year= (at most one of them), or of ?from=&to=; else 422 bad_period."""
    named = [(name, value) for name, value in (("month", asked.month), ("quarter", asked.quarter),
                                               ("year", asked.year)) if value is not None]
    if len(named) > 1:
        raise DomainError("invalid", "bad_period", "month、quarter、year 只能给一个")
    if named:
        return _named_period(*named[0])
    if asked.first is None or asked.last is None:
        raise DomainError("invalid", "bad_period", "请用 month=YYYY-MM、quarter=YYYY-Qn、year=YYYY，"
                                                   "或 from=YYYY-MM-DD&to=YYYY-MM-DD")
    first, last = parse_day(asked.first, "from", "bad_period"), parse_day(asked.last, "to", "bad_period")
    if last < first or (last - first).days > 366:
        raise DomainError("invalid", "bad_period", "to 不能早于 from，且跨度不超过一年")
    return first, last


def _named_period(name: str, value: str) -> tuple[date, date]:
    """A month (YYYY-MM), a quarter (YYYY-Qn: 季度, months 3n-2 to 3n) or a year (YYYY) as its first and last day."""
    forms = {"month": (r"(\d{4})-(\d{2})", "YYYY-MM，例如 2026-11"),
             "quarter": (r"(\d{4})-Q([1-4])", "YYYY-Qn（n 为 1 到 4），例如 2026-Q4"),
             "year": (r"(\d{4})", "YYYY，例如 2026")}
    pattern, form = forms[name]
    found = re.fullmatch(pattern, value)
    if found is None:
        raise DomainError("invalid", "bad_period", f"{name} 应为 {form}")
    year = int(found[1])
    if name == "year":
        first_month, last_month = 1, 12
    elif name == "quarter":
        first_month, last_month = 3 * int(found[2]) - 2, 3 * int(found[2])
    else:
        first_month = last_month = int(found[2])
    first = parse_day(f"{year:04d}-{first_month:02d}-01", name, "bad_period", form)
    return first, date(year + last_month // 12, last_month % 12 + 1, 1) - timedelta(days=1)


def tracked(view: TicketView) -> dict[str, Any]:
    """The ticket with its tracking page, for whoever hands the paper to the resident."""
    return {**view.to_json(), "track_url": spooler().track_url(view.track_token)}


def print_plan(printer: PrinterConfig | None) -> dict[str, Any]:
    """What happens to the paper: queued on a printer (its outcome follows as a `printed` event), or none."""
    if printer is None:
        return {"status": "none", "printer": None, "printer_status": None, "message": "本机未配置打印机"}
    state = spooler().states[printer.name].status
    return {"status": "queued", "printer": printer.name, "printer_status": state.code, "message": state.message}


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


def register_errors(app: Flask, api: str = "/api/") -> None:
    """JSON errors for the API under ``api`` (the district server's: /district/api/), whatever went wrong; never an
    HTML page or a bare 500 for bad input."""

    @app.errorhandler(DomainError)
    def _domain(exc: DomainError) -> Any:
        answer, status = error(status_of(exc), exc.code, exc.message, exc.detail)
        if isinstance(exc, Throttled):
            answer.headers["Retry-After"] = str(exc.retry_after)
            current_app.extensions["hallq_pause"](min(THROTTLED_PAUSE, exc.retry_after))
        return answer, status

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        if not request.path.startswith(api):
            return exc
        codes = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 415: "unsupported_media"}
        status = exc.code or 400
        plain = {404: f"没有这个接口：{request.method} {request.path}", 405: f"{request.path} 不接受 {request.method}",
                 413: "请求体过大"}
        return error(status, codes.get(status, "bad_request"), plain.get(status) or exc.description or exc.name)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return error(500, "internal", "服务器内部错误，请联系管理员")
