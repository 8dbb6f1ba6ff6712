"""The OpenAPI 3 document served at /api/openapi.json (docs/api.md is its readable companion)."""

from __future__ import annotations

import functools
from typing import Any

from flask import Blueprint, current_app

from server import accounts_api, announcer, api, cases_api, evaluation_api, guide_api, operations, stats_api

#: the document's own route: it imports every module that declares operations, so the document has them all
bp = Blueprint("openapi", __name__, url_prefix="/api")
#: the modules whose operations the document describes
DECLARING = (api, accounts_api, announcer, cases_api, evaluation_api, guide_api, stats_api)


@bp.get("/openapi.json")
def openapi() -> Any:
    return current_app.response_class(_served(), mimetype="application/json")


@functools.cache
def _served() -> str:
    """The document as served, made at the first request and kept: the declarations do not change while the
    server runs, and the schemas of every model take a while to write out."""
    return current_app.json.dumps(openapi_document()) + "\n"

_ERROR = {"$ref": "#/components/schemas/Error"}
_TICKET_OR_NULL = {"type": "object", "properties": {"ticket": {"oneOf": [{"$ref": "#/components/schemas/Ticket"},
                                                                           {"type": "null"}]}}}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    names = {400: "Malformed request", 401: "Not logged in / bad token", 403: "Role not allowed",
             404: "Not found", 409: "Refused by the hall's rules", 415: "A change not typed application/json",
             422: "Invalid field",
             429: "Too many attempts or requests: try again after the Retry-After header's seconds",
             503: "Voice unavailable"}
    return {str(code): {"description": names[code], **_json(_ERROR)} for code in codes}


def _window_action(summary: str, body: dict[str, Any] | None = None, result: dict[str, Any] | None = None,
                   ) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary, "tags": ["windows"], "security": [{"session": []}],
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "responses": {"200": {"description": "OK", **_json(result or _TICKET_OR_NULL)},
                      **_errors(400, 401, 403, 404, 409, 422)},
    }
    if body:
        operation["requestBody"] = {"required": True, **_json(body)}
    return {"post": operation}


def openapi_document() -> dict[str, Any]:
    """The document generated from the declared operations (server/operations.py), with the hand-written
    descriptions of the operations not declared yet."""
    document = operations.openapi_document()
    written = _written()
    for path, item in written["paths"].items():
        for method, described in item.items():
            document["paths"].setdefault(path, {}).setdefault(method, described)
    for name, schema in written["components"]["schemas"].items():
        document["components"]["schemas"].setdefault(name, schema)
    return document


def _written() -> dict[str, Any]:
    actions = {
        "finish": _finish_action(),
    }
    paths: dict[str, Any] = {}
    for action, item in actions.items():
        paths[f"/api/windows/{{id}}/{action}"] = item
    paths.update(_quality_paths())
    paths["/api/tickets"] = {"get": _ticket_by_number()}
    paths.update(_guide_paths())
    for item in paths.values():  # any query string, path argument or body may be unusable: 400 bad_query, bad_json
        for method, operation in item.items():
            operation["responses"].setdefault("400", _errors(400)["400"])
            if method != "get":  # server/web_guard.py: 403 cross_origin, 415 json_required
                for code, answer in _errors(403, 415).items():
                    operation["responses"].setdefault(code, answer)
    return {
        "openapi": "3.1.0",
        "info": {"title": "hallq API", "version": "1", "description": "Queue and kiosk system for service halls. "
                 "Every error is {\"error\": {\"code\", \"message\"}}. A POST without a Bearer token must be "
                 "Content-Type: application/json (else 415 json_required); an Origin not the hall's own is 403 "
                 "cross_origin."},
        "paths": paths,
        "components": {
            "securitySchemes": {"device": {"type": "http", "scheme": "bearer",
                                           "description": "kiosk/display/evaluator token"},
                                "session": {"type": "apiKey", "in": "cookie", "name": "session"}},
            "schemas": {**_guide_schemas(), **QUALITY_SCHEMAS},
        },
    }


# ---------------------------------------------------------------- 一次一评, 五件制, statistics

_CASE = {"$ref": "#/components/schemas/Case"}


def _finish_action() -> dict[str, Any]:
    """办结 with an optional case type (五件制); without a body the case is 即办件."""
    operation = _window_action("Finish the current ticket (办结), recording its case type (五件制; default 即办件)",
                               result={"type": "object", "properties": {
                                   "ticket": {"$ref": "#/components/schemas/Ticket"}, "case": _CASE}})
    operation["post"]["requestBody"] = {"required": False, **_json({"type": "object", "properties": {
        "case": {"type": "string", "enum": ["immediate", "promised", "supplement", "returned", "approval"]},
        "due": {"type": "string", "format": "date", "description": "promised / approval: the date"},
        "working_days": {"type": "integer", "description": "promised / approval: instead of due"},
        "materials": {"type": "array", "items": {"type": "string"}, "description": "supplement: all of them"},
        "reason": {"type": "string", "description": "returned: why"}}})}
    return operation


def _get(summary: str, tag: str, security: str, result: dict[str, Any], parameters: list[dict[str, Any]],
         errors: tuple[int, ...] = (401, 403)) -> dict[str, Any]:
    return _operation(summary, tag, "200", result, errors, parameters=parameters, security=[{security: []}])


def _post(summary: str, tag: str, security: str, result: dict[str, Any], parameters: list[dict[str, Any]],
          body: dict[str, Any] | None = None) -> dict[str, Any]:
    return _operation(summary, tag, "200", result, (400, 401, 403, 404, 409, 422), body=body,
                      parameters=parameters, security=[{security: []}])


# ---------------------------------------------------------------- the guide desk: appointments, duty log, enquiries

_DATE_ARG = {"name": "date", "in": "query", "required": False, "description": "YYYY-MM-DD; today when absent",
             "schema": {"type": "string", "format": "date"}}
_APPOINTMENT_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
_ONE_APPOINTMENT = {"type": "object", "properties": {"appointment": {"$ref": "#/components/schemas/Appointment"}}}
_DESK_ONLY = [{"session": []}]
_AT = {"type": "string", "description": "HH:MM today, when it happened; now when absent"}


def _operation(summary: str, tag: str, ok: str, result: dict[str, Any], codes: tuple[int, ...], *,
               body: dict[str, Any] | None = None, parameters: list[dict[str, Any]] | None = None,
               security: list[dict[str, Any]] | None = None, media: str = "application/json") -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary, "tags": [tag], "security": security or _DESK_ONLY,
        "responses": {ok: {"description": "OK", "content": {media: {"schema": result}}}, **_errors(*codes)}}
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = {"required": True, **_json(body)}
    return operation


def _quality_paths() -> dict[str, Any]:
    path_id = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]
    period = [{"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
              for name in ("date", "month", "from", "to")]
    rating = {"type": "object", "properties": {"rating": {"type": "object", "properties": {
        "ticket": {"type": "integer"}, "level": {"type": "string"}, "label": {"type": "string"}}}}}
    rate_body = {"type": "object", "required": ["ticket", "level"], "properties": {
        "ticket": {"type": "integer"},
        "level": {"type": "string", "enum": ["very_satisfied", "satisfied", "basic", "dissatisfied",
                                             "very_dissatisfied"]},
        "reason": {"type": "string", "description": "required for dissatisfied / very_dissatisfied, from the list"},
        "comment": {"type": "string", "maxLength": 200}}}
    followup = {"type": "object", "properties": {"followup": {"$ref": "#/components/schemas/FollowUp"}}}
    stats = {"type": "object", "description": "the figures (docs/api.md, Statistics)"}
    download = {"type": "string", "format": "binary"}
    return {
        "/api/rate/{id}": {
            "get": _get("The rating tablet's state at window {id}: levels, reasons, the prompt open now (evaluator "
                        "token bound to that window)", "evaluation", "device", {"type": "object"}, path_id,
                        (401, 403, 404)),
            "post": _post("Rate the ticket finished at window {id} (evaluator token bound to that window)",
                          "evaluation", "device", rating, path_id, rate_body)},
        "/api/followups": {"get": _get("整改: follow-ups of poor ratings (admin); ?status=open|closed|all",
                                       "evaluation", "session", {"type": "object", "properties": {
                                           "followups": {"type": "array", "items": {
                                               "$ref": "#/components/schemas/FollowUp"}}}},
                                       [{"name": "status", "in": "query", "required": False,
                                         "schema": {"type": "string", "enum": ["open", "closed", "all"]}}],
                                       (401, 403, 422))},
        "/api/followups/{id}/close": {"post": _post("Close a follow-up with the resolution note (admin)",
                                                    "evaluation", "session", followup, path_id, {
                                                        "type": "object", "required": ["note"],
                                                        "properties": {"note": {"type": "string"}}})},
        "/api/cases": {"get": _get("Open 承诺件 and 报批件, overdue flagged (those the caller handles)", "cases",
                                   "session", {"type": "object", "properties": {
                                       "cases": {"type": "array", "items": _CASE}}}, [])},
        "/api/cases/options": {"get": _get("What the caller's case-type choice proposes", "cases", "session",
                                           {"type": "object"}, [])},
        "/api/cases/{id}": {"get": _get("One case record (its clerk or admin)", "cases", "session", {
            "type": "object", "properties": {"case": _CASE}}, path_id, (401, 403, 404))},
        "/api/cases/{id}/close": {"post": _post("承诺件 completed / 报批件 reply received (the clerk who took it in, "
                                                "or admin)", "cases", "session", {
                                                    "type": "object", "properties": {"case": _CASE}}, path_id)},
        "/api/stats": {"get": _get("Statistics for ?date=, ?month= or ?from=&to= (admin)", "statistics", "session",
                                   stats, period, (401, 403, 422))},
        "/api/stats.csv": {"get": _get("The same figures as CSV (UTF-8 with BOM)", "statistics", "session",
                                       download, period, (401, 403, 422))},
        "/api/stats.xlsx": {"get": _get("The same figures as XLSX", "statistics", "session", download, period,
                                        (401, 403, 422))},
    }


QUALITY_SCHEMAS: dict[str, Any] = {
    "Case": {"type": "object", "properties": {
        "id": {"type": "integer"}, "ticket": {"type": "integer"}, "number": {"type": "string"},
        "service": {"type": "string"}, "service_name": {"type": "string"}, "window": {"type": "integer"},
        "window_name": {"type": "string"}, "clerk": {"type": "object"},
        "type": {"type": "string", "enum": ["immediate", "promised", "supplement", "returned", "approval"]},
        "type_name": {"type": "string"}, "due": {"type": ["string", "null"], "format": "date"},
        "materials": {"type": "array", "items": {"type": "string"}}, "reason": {"type": ["string", "null"]},
        "recorded_at": {"type": "string", "format": "date-time"},
        "closed_at": {"type": ["string", "null"], "format": "date-time"}, "closed_by": {"type": ["string", "null"]},
        "open": {"type": "boolean"}, "overdue": {"type": "boolean"},
        "working_days_left": {"type": ["integer", "null"]}, "notice": {"type": ["string", "null"]},
        "notice_name": {"type": ["string", "null"]}}},
    "FollowUp": {"type": "object", "properties": {
        "id": {"type": "integer", "description": "the ticket"}, "number": {"type": "string"},
        "service_name": {"type": "string"}, "window": {"type": "integer"}, "window_name": {"type": "string"},
        "clerk": {"type": "object"}, "level": {"type": "string"}, "level_name": {"type": "string"},
        "reason": {"type": "string"}, "comment": {"type": ["string", "null"]},
        "rated_at": {"type": "string", "format": "date-time"}, "due": {"type": "string", "format": "date"},
        "working_days_left": {"type": ["integer", "null"]}, "overdue": {"type": "boolean"},
        "closed": {"type": "boolean"}, "closed_at": {"type": ["string", "null"]},
        "closed_by": {"type": ["string", "null"]}, "note": {"type": ["string", "null"]}}},
}


def _ticket_by_number() -> dict[str, Any]:
    return _operation("Today's ticket of a paper number, for the guide desk (guide/admin)", "queue", "200",
                      {"type": "object", "properties": {"ticket": {"$ref": "#/components/schemas/Ticket"}}},
                      (401, 403, 404, 422), parameters=[{"name": "number", "in": "query", "required": True,
                                                         "schema": {"type": "string"}, "example": "A012"}])


def _guide_paths() -> dict[str, Any]:
    string, text = {"type": "string"}, {"type": ["string", "null"]}
    booking = {"type": "object", "required": ["service", "date", "slot", "channel", "name", "phone"], "properties": {
        "service": string, "date": {"type": "string", "format": "date"},
        "slot": {"type": "string", "description": "HH:MM: a slot's start for kind window; the agreed time for home "
                 "and holiday"},
        "kind": {"type": "string", "enum": ["window", "home", "holiday"], "default": "window"},
        "channel": {"type": "string", "enum": ["phone", "letter", "desk", "online"]},
        "name": string, "phone": {"type": "string", "description": "11-digit mobile or landline with area code"},
        "id_last6": text, "notes": text,
        "assigned_to": {"type": ["string", "null"], "description": "staff username; required for home and holiday"}}}
    lists = {"type": "object", "properties": {"date": {"type": "string", "format": "date"}, "appointments": {
        "type": "array", "items": {"$ref": "#/components/schemas/Appointment"}}}}
    checked_in = {"type": "object", "properties": {
        "ticket": {"$ref": "#/components/schemas/Ticket"}, "print": {"$ref": "#/components/schemas/PrintPlan"},
        "appointment": {"$ref": "#/components/schemas/Appointment"}}}
    entries = {"type": "object", "properties": {"date": {"type": "string", "format": "date"},
                                                "entries": {"type": "array"}}}
    reason = {"type": "object", "properties": {"reason": string}}
    return {
        "/api/appointments": {
            "post": _operation("Register an appointment (guide/admin; phone, letter, desk, a future online channel); "
                               "409 slot_full, duplicate_appointment, no_such_slot, slot_started, hall_open_that_day, "
                               "bad_date", "appointments", "201", _ONE_APPOINTMENT, (400, 401, 403, 404, 409, 422),
                               body=booking),
            "get": _operation("The day's appointments in full (guide/admin; anyone else 403)", "appointments", "200",
                              lists, (401, 403, 422), parameters=[_DATE_ARG])},
        "/api/appointments/setup": {"get": _operation(
            "What the desk's form offers: kinds, channels, reject reasons, staff, each item's 办事指南", "appointments",
            "200", {"type": "object"}, (401, 403))},
        "/api/appointments/slots": {"get": _operation(
            "The slots of a day for an item, with places left", "appointments", "200", {"type": "object"},
            (401, 403, 404, 422), parameters=[_DATE_ARG, {"name": "service", "in": "query", "required": True,
                                                          "schema": string}])},
        "/api/appointments/assigned": {"get": _operation(
            "Home-visit and holiday appointments: one's own (any staff; masked for clerks), or everyone's with "
            "?all=1 (guide/admin)", "appointments", "200", lists, (401, 403),
            parameters=[{"name": "all", "in": "query", "required": False, "schema": {"type": "string",
                                                                                     "enum": ["1"]}}])},
        "/api/appointments/register.xlsx": {"get": _operation(
            "《中心预约服务登记表》 of a day as an XLSX file (guide/admin)", "appointments", "200",
            {"type": "string", "format": "binary"}, (401, 403, 422), parameters=[_DATE_ARG],
            media="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")},
        "/api/appointments/{id}/cancel": {"post": _operation(
            "Cancel a booked appointment (guide/admin)", "appointments", "200", _ONE_APPOINTMENT,
            (400, 401, 403, 404, 409, 422), body=reason, parameters=[_APPOINTMENT_ID])},
        "/api/appointments/{id}/reject": {"post": _operation(
            "不予预约, with the reason told to the resident (guide/admin)", "appointments", "200", _ONE_APPOINTMENT,
            (400, 401, 403, 404, 409, 422), body={**reason, "required": ["reason"]}, parameters=[_APPOINTMENT_ID])},
        "/api/appointments/{id}/outcome": {"post": _operation(
            "A home or holiday visit done or not done (the staff assigned, or guide/admin)", "appointments", "200",
            _ONE_APPOINTMENT, (400, 401, 403, 404, 409, 422), parameters=[_APPOINTMENT_ID],
            body={"type": "object", "required": ["done"], "properties": {"done": {"type": "boolean"},
                                                                         "note": string}})},
        "/api/appointments/check-in": {"post": _operation(
            "Check in with the 6-digit code or the 11-digit phone (kiosk; guide/admin at the desk): a ticket tagged "
            "预约. 404 appointment_not_found; 409 appointment_not_today, appointment_too_early, "
            "appointment_checked_in, appointment_forfeited, appointment_cancelled, appointment_rejected, "
            "appointment_not_in_hall (error.detail: number, service, date, from); 422 bad_code, bad_phone; "
            "a kiosk checking in by phone gets only 404 appointment_not_found; 429 too_many_requests (kiosk)",
            "appointments", "201", checked_in, (400, 401, 403, 404, 409, 422, 429),
            security=[{"device": []}, {"session": []}],
            body={"type": "object", "properties": {"code": {"type": "string", "pattern": "^[0-9]{6}$"},
                                                   "phone": {"type": "string", "pattern": "^1[0-9]{10}$"}}})},
        "/api/tickets/{id}/appointment": {"get": _operation(
            "The appointment behind a 预约 ticket: in full for guide/admin, masked for clerks", "appointments", "200",
            _ONE_APPOINTMENT, (401, 403, 404), parameters=[_APPOINTMENT_ID])},
        "/api/duty-log": {
            "get": _operation("The day's 值班记录 (guide/admin)", "desk", "200", entries, (401, 403, 422),
                              parameters=[_DATE_ARG]),
            "post": _operation("Add to today's 值班记录 (guide/admin)", "desk", "201", {"type": "object"},
                               (400, 401, 403, 422), body={"type": "object", "required": ["text"], "properties": {
                                   "kind": {"type": "string", "enum": ["general", "emergency", "major"]},
                                   "text": string, "at": _AT}})},
        "/api/enquiries": {
            "get": _operation("The day's 来电来访登记 (guide/admin)", "desk", "200", entries, (401, 403, 422),
                              parameters=[_DATE_ARG]),
            "post": _operation("Register a call, letter or walk-in enquiry (guide/admin)", "desk", "201",
                               {"type": "object"}, (400, 401, 403, 422), body={
                                   "type": "object", "required": ["channel", "subject"], "properties": {
                                       "channel": {"type": "string", "enum": ["phone", "visit", "letter"]},
                                       "subject": string, "answer": string, "who": string, "contact": string,
                                       "referred_to": string, "at": _AT}})},
    }


def _guide_schemas() -> dict[str, Any]:
    nullable = {"type": ["string", "null"]}
    return {"Appointment": {"type": "object", "description": "In full (code, name, phone, id_last6, notes, reason, "
                            "booked_by…) only for guide/admin; others get name 张*三, phone 138****1234, id_last6 "
                            "****5X and no code, notes or reason", "properties": {
        "id": {"type": "integer"}, "code": {"type": "string"}, "service": {"type": "string"},
        "service_name": {"type": "string"}, "date": {"type": "string", "format": "date"}, "slot": {"type": "string"},
        "slot_end": nullable, "kind": {"type": "string", "enum": ["window", "home", "holiday"]},
        "kind_text": {"type": "string"}, "channel": {"type": "string", "enum": ["phone", "letter", "desk", "online"]},
        "channel_text": {"type": "string"}, "name": {"type": "string"}, "phone": {"type": "string"},
        "id_last6": nullable, "notes": {"type": "string"}, "reason": nullable,
        "status": {"type": "string", "enum": ["booked", "checked_in", "forfeited", "cancelled", "rejected", "done",
                                              "not_done"]},
        "status_text": {"type": "string"}, "assigned_to": nullable, "assigned_name": nullable,
        "booked_by": {"type": "string"}, "booked_by_name": {"type": "string"},
        "booked_at": {"type": "string", "format": "date-time"},
        "ticket": {"type": ["object", "null"], "properties": {"id": {"type": "integer"},
                                                              "number": {"type": "string"}}},
        "check_in_from": {"type": ["string", "null"], "format": "date-time"},
        "forfeit_at": {"type": ["string", "null"], "format": "date-time"}}}}
