"""The OpenAPI 3 document served at /api/openapi.json (docs/api.md is its readable companion)."""

from __future__ import annotations

from typing import Any

_ERROR = {"$ref": "#/components/schemas/Error"}
_TICKET_OR_NULL = {"type": "object", "properties": {"ticket": {"oneOf": [{"$ref": "#/components/schemas/Ticket"},
                                                                           {"type": "null"}]}}}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    names = {400: "Malformed request", 401: "Not logged in / bad token", 403: "Role not allowed",
             404: "Not found", 409: "Refused by the hall's rules", 422: "Invalid field"}
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
    window_result = {"type": "object", "properties": {"window": {"$ref": "#/components/schemas/Window"}}}
    actions = {
        "sign-in": _window_action("Sign in to the window (clerk/admin)", result=window_result),
        "sign-out": _window_action("Sign out (refused while a ticket is open)", result=window_result),
        "pause": _window_action("Pause the window (暂停)", result=window_result),
        "resume": _window_action("Resume the window", result=window_result),
        "call-next": _window_action("Call the next resident (呼叫下一位); finishes the one being served"),
        "recall": _window_action("Recall the current ticket (重呼), up to the configured limit"),
        "no-show": _window_action("Mark the current ticket as no-show (过号)"),
        "start": _window_action("Start serving the called ticket (开始办理)"),
        "finish": _finish_action(),
        "transfer": _window_action("Transfer the current ticket to another service or window (转移)", {
            "type": "object", "properties": {"service": {"type": "string"}, "window": {"type": "integer"}}}),
        "call": _window_action("Call a specific number (特呼)", {
            "type": "object", "required": ["number"], "properties": {"number": {"type": "string"}}}),
    }
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
                "user": {"$ref": "#/components/schemas/User"}}})}, **_errors(400, 401, 422)}}},
        "/api/auth/logout": {"post": {"summary": "End the session", "tags": ["auth"],
                                      "responses": {"200": {"description": "Logged out"}}}},
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
        "/api/tickets": {"post": {
            "summary": "Take a number (kiosk token, or guide/admin session)", "tags": ["queue"],
            "security": [{"device": []}, {"session": []}],
            "requestBody": {"required": True, **_json({"type": "object", "required": ["service"], "properties": {
                "service": {"type": "string"},
                "priority": {"type": ["string", "null"], "enum": ["elderly", "disabled", "military", "pregnant",
                                                                  None]}}})},
            "responses": {"201": {"description": "Issued; the paper follows (outcome: Socket.IO `printed`)",
                                  **_json(issued)}, **_errors(400, 401, 403, 404, 409, 422)}}},
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
                "records": {"type": "array"}, "days": {"type": "integer"}, "served": {"type": "integer"},
                "minutes": {"type": "number"}, "anomalies": {"type": "integer"}}})}, **_errors(401, 403, 422)}}},
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
        "/api/printers": {"get": {
            "summary": "Printers and their live status (staff)", "tags": ["printing"],
            "security": [{"session": []}],
            "responses": {"200": {"description": "OK", **_json({"type": "object", "properties": {
                "printers": {"type": "array", "items": {"$ref": "#/components/schemas/Printer"}}}})},
                **_errors(401, 403)}}},
    }
    for action, item in actions.items():
        paths[f"/api/windows/{{id}}/{action}"] = item
    paths.update(_quality_paths())
    return {
        "openapi": "3.1.0",
        "info": {"title": "hallq API", "version": "1", "description": "Queue and kiosk system for service halls. "
                 "Every error is {\"error\": {\"code\", \"message\"}}."},
        "paths": paths,
        "components": {
            "securitySchemes": {"device": {"type": "http", "scheme": "bearer",
                                           "description": "kiosk/display/evaluator token"},
                                "session": {"type": "apiKey", "in": "cookie", "name": "session"}},
            "schemas": {**_schemas(), **QUALITY_SCHEMAS},
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
            "prefix": {"type": "string"}, "waiting": {"type": "integer"}}},
        "Window": {"type": "object", "properties": {
            "id": {"type": "integer"}, "name": {"type": "string"}, "label": {"type": "string"},
            "zone": {"type": "string"}, "services": {"type": "array", "items": {"type": "string"}},
            "status": {"type": "string", "enum": ["closed", "open", "paused"]},
            "clerk": {"type": ["object", "null"]}, "current": {"type": ["object", "null"]}}},
        "Ticket": {"type": "object", "properties": {
            "id": {"type": "integer"}, "number": {"type": "string"}, "service": {"type": "string"},
            "service_name": {"type": "string"},
            "status": {"type": "string", "enum": ["waiting", "called", "serving", "done", "no_show", "transferred"]},
            "priority": nullable_str, "waiting_ahead": {"type": "integer"},
            "issued_at": {"type": "string", "format": "date-time"},
            "called_at": {"type": ["string", "null"], "format": "date-time"},
            "window": {"type": ["integer", "null"]}, "recalls": {"type": "integer"},
            "channel": {"type": "string", "enum": ["kiosk", "desk"]},
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
    return {"summary": summary, "tags": [tag], "security": [{security: []}], "parameters": parameters,
            "responses": {"200": {"description": "OK", **_json(result)}, **_errors(*errors)}}


def _post(summary: str, tag: str, security: str, result: dict[str, Any], parameters: list[dict[str, Any]],
          body: dict[str, Any] | None = None) -> dict[str, Any]:
    operation = _get(summary, tag, security, result, parameters, (400, 401, 403, 404, 409, 422))
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
                                         "schema": {"type": "string", "enum": ["open", "closed", "all"]}}])},
        "/api/followups/{id}/close": {"post": _post("Close a follow-up with the resolution note (admin)",
                                                    "evaluation", "session", followup, path_id, {
                                                        "type": "object", "required": ["note"],
                                                        "properties": {"note": {"type": "string"}}})},
        "/api/cases": {"get": _get("Open 承诺件 and 报批件, overdue flagged (a clerk's own; all for admin)", "cases",
                                   "session", {"type": "object", "properties": {
                                       "cases": {"type": "array", "items": _CASE}}}, [])},
        "/api/cases/options": {"get": _get("What the caller's case-type choice proposes", "cases", "session",
                                           {"type": "object"}, [])},
        "/api/cases/{id}": {"get": _get("One case record", "cases", "session", {
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
