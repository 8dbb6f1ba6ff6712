"""The OpenAPI 3 document served at /api/openapi.json (docs/api.md is its readable companion)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

import track
from server import accounts_api, announcer, api, cases_api, evaluation_api, guide_api, operations, stats_api

#: the document's own route: it imports every module that declares operations, so the document has them all
bp = Blueprint("openapi", __name__, url_prefix="/api")
#: the modules whose operations the document describes
DECLARING = (api, accounts_api, announcer, cases_api, evaluation_api, guide_api, stats_api, track)


@bp.get("/openapi.json")
def openapi() -> Any:
    return jsonify(openapi_document())

_ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    names = {400: "Malformed request", 401: "Not logged in / bad token", 403: "Role not allowed",
             404: "Not found", 409: "Refused by the hall's rules", 415: "A change not typed application/json",
             422: "Invalid field",
             429: "Too many attempts or requests: try again after the Retry-After header's seconds",
             503: "Voice unavailable"}
    return {str(code): {"description": names[code], **_json(_ERROR)} for code in codes}


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
    nullable_str = {"type": ["string", "null"]}
    ticket_id = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
    issued = {"type": "object", "properties": {"ticket": {"$ref": "#/components/schemas/Ticket"},
                                               "print": {"$ref": "#/components/schemas/PrintPlan"}}}
    paths: dict[str, Any] = {
        "/api/auth/login": {"post": {
            "summary": "Staff login; sets the session cookie", "tags": ["auth"],
            "requestBody": {"required": True, **_json({"type": "object", "required": ["username", "password"],
                                                       "properties": {"username": {"type": "string"},
                                                                      "password": {"type": "string"}}})},
            "responses": {"200": {"description": "Logged in", **_json({"type": "object", "properties": {
                "user": {"$ref": "#/components/schemas/User"}}})}, **_errors(400, 401, 403, 422, 429)}}},
        "/api/auth/logout": {"post": {"summary": "End every session of the account (other browsers too)",
                                      "tags": ["auth"], "responses": {"200": {"description": "Logged out"}}}},
        "/api/auth/password": {"post": {
            "summary": "Change one's own password; every other session of the account ends", "tags": ["auth"],
            "security": [{"session": []}],
            "requestBody": {"required": True, **_json({"type": "object", "required": ["old", "new"],
                                                       "properties": {"old": {"type": "string"},
                                                                      "new": {"type": "string", "minLength": 8}}})},
            "responses": {"200": {"description": "Changed; this browser stays logged in"},
                          **_errors(400, 401, 403, 422, 429)}}},
        "/api/auth/me": {"get": {"summary": "The logged-in staff member", "tags": ["auth"],
                                 "security": [{"session": []}],
                                 "responses": {"200": {"description": "OK"}, **_errors(401, 403)}}},
        "/api/services": {"get": {
            "summary": "Services with the number waiting", "tags": ["queue"],
            "security": [{"device": []}, {"session": []}],
            "responses": {"200": {"description": "OK", **_json({"type": "object", "properties": {
                "services": {"type": "array", "items": {"$ref": "#/components/schemas/Service"}}}})},
                **_errors(401, 403)}}},
        "/api/windows": {"get": {
            "summary": "Windows with status and current number", "tags": ["queue"],
            "security": [{"device": []}, {"session": []}],
            "responses": {"200": {"description": "OK", **_json({"type": "object", "properties": {
                "windows": {"type": "array", "items": {"$ref": "#/components/schemas/Window"}}}})},
                **_errors(401, 403)}}},
        "/api/tickets/{id}": {"get": {
            "summary": "One ticket (track_url for guide/admin only)", "tags": ["queue"],
            "security": [{"device": []}, {"session": []}], "parameters": [ticket_id],
            "responses": {"200": {"description": "OK", **_json({"type": "object", "properties": {
                "ticket": {"$ref": "#/components/schemas/Ticket"}}})}, **_errors(401, 403, 404)}}},
        "/api/tickets/{id}/reprint": {"post": {
            "summary": "Reprint a ticket (补打), guide/admin; on the printer named, else the desk's printer",
            "tags": ["printing"], "security": [{"session": []}], "parameters": [ticket_id],
            "requestBody": {"required": False, **_json({"type": "object", "properties": {
                "printer": {"type": "string"}}})},
            "responses": {"202": {"description": "Queued; the outcome follows as Socket.IO `printed`",
                                  **_json(issued)}, **_errors(400, 401, 403, 404, 409, 422)}}},
        "/api/tickets/{id}/move": {"post": {
            "summary": "Send a waiting resident to another window (admin; 延时服务 coordination)", "tags": ["queue"],
            "security": [{"session": []}], "parameters": [ticket_id],
            "requestBody": {"required": True, **_json({"type": "object", "required": ["window"],
                                                       "properties": {"window": {"type": "integer"}}})},
            "responses": {"200": {"description": "Moved", **_json({"type": "object", "properties": {
                "ticket": {"$ref": "#/components/schemas/Ticket"}}})}, **_errors(400, 401, 403, 404, 409, 422)}}},
        "/api/extended-service": {"get": {
            "summary": "延时服务 records and totals for ?month=YYYY-MM or ?from=&to= (admin)", "tags": ["admin"],
            "security": [{"session": []}],
            "parameters": [{"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
                           for name in ("month", "from", "to")],
            "responses": {"200": {"description": "OK", **_json({"type": "object", "properties": {
                "records": {"type": "array"}, "days": {"type": "integer"}, "sessions": {"type": "integer"},
                "served": {"type": "integer"}, "minutes": {"type": "number"}, "anomalies": {"type": "integer"},
                "text": {"type": "string"}}})}, **_errors(401, 403, 422)}}},
        "/api/hall/status": {"get": {
            "summary": "Open or closed now, the session, when the hall opens next", "tags": ["queue"],
            "security": [{"device": []}, {"session": []}],
            "responses": {"200": {"description": "OK", **_json({"type": "object", "properties": {
                "state": {"type": "string", "enum": ["open", "closed", "extended"]},
                "accepting": {"type": "boolean"}, "business_date": {"type": "string", "format": "date"},
                "session": {"type": ["object", "null"]}, "next_open": nullable_str,
                "next_open_text": {"type": "string"},
                "extended": {"type": ["object", "null"]}}})}, **_errors(401, 403)}}},
        "/api/health": {"get": {
            "summary": "What works and why not (staff): voice, printers, database", "tags": ["admin"],
            "security": [{"session": []}],
            "responses": {"200": {"description": "OK", **_json({"type": "object", "properties": {
                "voice": {"type": "object", "properties": {"ok": {"type": "boolean"}, "error": nullable_str}},
                "printers": {"type": "object", "properties": {"ok": {"type": "boolean"},
                                                              "faults": {"type": "array"}}},
                "database": {"type": "object", "properties": {"ok": {"type": "boolean"}, "error": nullable_str}},
            }})}, **_errors(401, 403)}}},
        "/api/announcements": {"post": _operation(
            "Calls waiting at a display read briskly, together if several (display)", "display", "200",
            {"type": "object", "properties": {
                "audio": {"type": "string", "description": "/audio/<name>.wav"},
                "starts_ms": {"type": "array", "items": {"type": "integer"},
                              "description": "where each call's part starts in the WAV"}}},
            (401, 403, 422, 503), security=[{"device": []}],
            body={"type": "object", "required": ["calls"], "properties": {"calls": {
                "type": "array", "minItems": 1, "maxItems": 8, "items": {"type": "object", "properties": {
                    "number": {"type": "string"}, "window": {"type": "integer"}}}}}})},
        "/api/printers": {"get": {
            "summary": "Printers and their live status (staff)", "tags": ["printing"],
            "security": [{"session": []}],
            "responses": {"200": {"description": "OK", **_json({"type": "object", "properties": {
                "printers": {"type": "array", "items": {"$ref": "#/components/schemas/Printer"}}}})},
                **_errors(401, 403)}}},
    }
    paths.update(_account_paths())
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
            "schemas": {**_schemas(), **ACCOUNT_SCHEMAS},
        },
    }


def _schemas() -> dict[str, Any]:
    nullable_str = {"type": ["string", "null"]}
    return {
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
        "User": {"type": "object", "properties": {"username": {"type": "string"}, "role": {"type": "string"},
                                                  "name": {"type": "string"}}},
        "Service": {"type": "object", "properties": {
            "code": {"type": "string"}, "name": {"type": "string"}, "category": {"type": "string"},
            "prefix": {"type": "string"}, "waiting": {"type": "integer"},
            "open_windows": {"type": "array", "items": {"type": "integer"}, "description":
                             "the windows serving it with a clerk signed in now (open or paused); empty: the kiosk "
                             "says 暂无窗口办理, and still issues"}}},
        "Window": {"type": "object", "properties": {
            "id": {"type": "integer"}, "name": {"type": "string"}, "label": {"type": "string"},
            "zone": {"type": "string"}, "services": {"type": "array", "items": {"type": "string"}},
            "status": {"type": "string", "enum": ["closed", "open", "paused"]},
            "clerk": {"type": ["object", "null"]},
            "current": {"type": ["object", "null"], "description": "the ticket at the window: id, number, status, "
                        "service, appointment, transferred_from (the window it was transferred from, 转入, or null)"}}},
        "Ticket": {"type": "object", "properties": {
            "id": {"type": "integer"}, "number": {"type": "string"}, "service": {"type": "string"},
            "service_name": {"type": "string"},
            "status": {"type": "string", "enum": ["waiting", "called", "serving", "done", "no_show", "transferred"]},
            "priority": nullable_str,
            "waiting_ahead": {"type": "integer", "description": "前面还有 N 人: residents who will be called before "
                              "this one under the calling rule at the windows at work now"},
            "estimated_wait_minutes": {"type": ["integer", "null"], "description": "minutes until the call, from "
                                       "the day's observed pace; null when it cannot be known (no window open, "
                                       "nobody served yet today)"},
            "issued_at": {"type": "string", "format": "date-time"},
            "called_at": {"type": ["string", "null"], "format": "date-time"},
            "window": {"type": ["integer", "null"]}, "recalls": {"type": "integer"},
            "channel": {"type": "string", "enum": ["kiosk", "desk"]},
            "appointment": {"type": "boolean", "description": "issued at the check-in of an appointment (预约): "
                            "called before the walk-ins at its windows (within priority_bound); printed with the "
                            "tag 预约"},
            "windows_text": {"type": "string", "description": "where to go (办理窗口): 1号窗口、6号窗口; with the zone "
                             "when the hall's windows are in more than one: 1号窗口（一楼）；4号窗口（二楼）"},
            "no_open_window": {"type": "boolean", "description": "waiting, and no window that may call it has a "
                               "clerk signed in now"},
            "window_notice": {"type": ["string", "null"], "description": "what to tell the resident about that, or "
                              "about its windows all being paused (暂停), in Chinese; null: nothing"},
            "transferred_from_window": {"type": ["integer", "null"], "description": "the window that transferred "
                                        "the resident here (转入)"},
            "track_url": {"type": "string", "description": "the resident's tracking page (the ticket's QR code); "
                          "only in answers to the kiosk or desk that issued it and to guide/admin"}}},
        "PrintPlan": {"type": "object", "properties": {
            "status": {"type": "string", "enum": ["queued", "none"]}, "printer": nullable_str,
            "printer_status": nullable_str, "message": {"type": "string"}}},
        "Printer": {"type": "object", "properties": {
            "name": {"type": "string"}, "status": {"type": "string"}, "message": {"type": "string"},
            "ok": {"type": "boolean"}, "last_error": {"type": ["object", "null"]},
            "checked_at": {"type": ["string", "null"], "format": "date-time"},
            "mode": {"type": "string", "enum": ["text", "image"]}, "paper_width": {"type": "integer"},
            "kiosks": {"type": "array", "items": {"type": "string"}}, "via_agent": {"type": "boolean"}}},
    }


# ---------------------------------------------------------------- the hand-written descriptions' helpers

def _get(summary: str, tag: str, security: str, result: dict[str, Any], parameters: list[dict[str, Any]],
         errors: tuple[int, ...] = (401, 403)) -> dict[str, Any]:
    return _operation(summary, tag, "200", result, errors, parameters=parameters, security=[{security: []}])


def _post(summary: str, tag: str, security: str, result: dict[str, Any], parameters: list[dict[str, Any]],
          body: dict[str, Any] | None = None) -> dict[str, Any]:
    return _operation(summary, tag, "200", result, (400, 401, 403, 404, 409, 422), body=body,
                      parameters=parameters, security=[{security: []}])


_DESK_ONLY = [{"session": []}]


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


# ---------------------------------------------------------------- the admin's account screens: staff and devices

ACCOUNT_SCHEMAS: dict[str, Any] = {
    "StaffMember": {"type": "object", "properties": {
        "username": {"type": "string"}, "name": {"type": "string", "description": "display name (王小红)"},
        "staff_no": {"type": "string", "description": "工号"}, "role": {"type": "string",
                                                                         "enum": ["admin", "guide", "clerk"]},
        "disabled": {"type": "boolean"}, "disabled_at": {"type": ["string", "null"], "format": "date-time"},
        "locked": {"type": "boolean", "description": "logins with this username are being delayed a few seconds "
                   "after many wrong passwords (someone may be guessing); never a lock"}}},
    "DeviceEntry": {"type": "object", "properties": {
        "name": {"type": "string"}, "kind": {"type": "string", "enum": ["kiosk", "display", "evaluator"]},
        "last_seen_at": {"type": ["string", "null"], "format": "date-time"}, "revoked": {"type": "boolean"},
        "revoked_at": {"type": ["string", "null"], "format": "date-time"},
        "window": {"type": ["integer", "null"],
                   "description": "a rating tablet's window ([[evaluation.evaluators]])"}}},
    "IssuedToken": {"type": "object", "description": "shown once: only its digest is stored", "properties": {
        "device": {"type": "object", "properties": {"name": {"type": "string"}, "kind": {"type": "string"}}},
        "token": {"type": "string"},
        "address": {"type": ["string", "null"], "description": "the device's screen with #token=…; null for a "
                    "rating tablet no window is bound to"},
        "qr": {"type": ["string", "null"], "description": "data:image/svg+xml;base64 QR code of address"}}},
}


def _account_paths() -> dict[str, Any]:
    member = {"type": "object", "properties": {"staff": {"$ref": "#/components/schemas/StaffMember"}}}
    issued = {"$ref": "#/components/schemas/IssuedToken"}
    username = [{"name": "username", "in": "path", "required": True, "schema": {"type": "string"}}]
    name = [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]
    card = {"name": {"type": "string", "maxLength": 64}, "staff_no": {"type": "string", "maxLength": 32},
            "role": {"type": "string", "enum": ["admin", "guide", "clerk"]}}
    new_member = {"type": "object", "required": ["username", "role", "password"], "properties": {
        "username": {"type": "string", "maxLength": 64}, "password": {"type": "string", "minLength": 8}, **card}}
    new_device = {"type": "object", "required": ["name", "kind"], "properties": {
        "name": {"type": "string", "maxLength": 64}, "kind": {"type": "string",
                                                              "enum": ["kiosk", "display", "evaluator"]}}}
    return {
        "/api/staff": {
            "get": _get("Every staff account, disabled ones too (admin)", "accounts", "session", {
                "type": "object", "properties": {"staff": {"type": "array", "items": {
                    "$ref": "#/components/schemas/StaffMember"}}}}, []),
            "post": _operation("Add a staff account (admin); 409 username_taken", "accounts", "201", member,
                               (400, 401, 403, 409, 422), body=new_member)},
        "/api/staff/{username}": {"patch": _operation(
            "Correct name, 工号 or role (admin); 409 last_admin: the hall keeps an enabled admin", "accounts", "200",
            member, (400, 401, 403, 404, 409, 422), body={"type": "object", "properties": card},
            parameters=username)},
        "/api/staff/{username}/password": {"post": _post(
            "Reset the password (admin): the member's sessions end", "accounts", "session",
            member, username, {"type": "object", "required": ["password"], "properties": {
                "password": {"type": "string", "minLength": 8}}})},
        "/api/staff/{username}/disable": {"post": _post(
            "Disable (admin): no login, sessions end, records stay; 409 disable_self", "accounts", "session", member,
            username)},
        "/api/staff/{username}/enable": {"post": _post("Enable a disabled account (admin)", "accounts", "session",
                                                       member, username)},
        "/api/devices": {
            "get": _get("Every device with last seen, revoked and a rating tablet's window (admin)", "accounts",
                        "session", {"type": "object", "properties": {"devices": {"type": "array", "items": {
                            "$ref": "#/components/schemas/DeviceEntry"}}}}, []),
            "post": _operation("Register a device (admin): its token once, with the screen's address and QR code; "
                               "409 device_taken", "accounts", "201", issued, (400, 401, 403, 409, 422),
                               body=new_device)},
        "/api/devices/{name}/replace": {"post": _post(
            "A new token (admin): the old one stops working; a revoked device works again", "accounts", "session",
            issued, name)},
        "/api/devices/{name}/revoke": {"post": _post(
            "Revoke (admin): the token stops working and its connections close; the row stays", "accounts",
            "session", {"type": "object", "properties": {"device": {"$ref": "#/components/schemas/DeviceEntry"}}},
            name)},
    }
