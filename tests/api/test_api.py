"""Every endpoint, with its 4xx paths; every error is {"error": {"code", "message"}}."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from server.clock import ManualClock
from server.events import TicketView
from tests.api.conftest import HallApp, open_hall_app, password
from tests.conftest import SMALL_HALL

TICKET_FIELDS = {"id", "number", "service", "service_name", "status", "priority", "waiting_ahead", "issued_at",
                 "called_at", "window"}


def err(answer: Any, status: int, code: str) -> None:
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.is_json, answer.get_data(as_text=True)
    assert answer.json["error"]["code"] == code
    assert answer.json["error"]["message"]


def take(client: FlaskClient, service: str = "id-card", priority: str | None = None) -> dict[str, Any]:
    answer = client.post("/api/tickets", json={"service": service, "priority": priority})
    assert answer.status_code == 201, answer.json
    return answer.json["ticket"]


# ---------------------------------------------------------------- auth

def test_login_me_logout(hall_app: HallApp) -> None:
    client = hall_app.app.test_client()
    answer = client.post("/api/auth/login", json={"username": "clerk1", "password": password("clerk1")})
    assert answer.status_code == 200
    assert answer.json["user"] == {"username": "clerk1", "role": "clerk", "name": "clerk1"}
    assert "HttpOnly" in answer.headers["Set-Cookie"]
    assert client.get("/api/auth/me").json == {"user": {"username": "clerk1", "role": "clerk", "name": "clerk1"},
                                               "window": None}
    client.post("/api/windows/2/sign-in", json={})
    assert client.get("/api/auth/me").json["window"] == 2
    assert client.post("/api/auth/logout", json={}).status_code == 200
    err(client.get("/api/auth/me"), 401, "unauthorized")


def test_login_refusals(hall_app: HallApp) -> None:
    client = hall_app.app.test_client()
    err(client.post("/api/auth/login", json={"username": "clerk1", "password": "wrong"}), 401, "bad_credentials")
    err(client.post("/api/auth/login", json={"username": "nobody", "password": "x"}), 401, "bad_credentials")
    err(client.post("/api/auth/login", json={"username": "clerk1"}), 422, "missing_field")
    err(client.post("/api/auth/login", json={"username": 5, "password": "x"}), 422, "bad_field")
    err(client.post("/api/auth/login", data="username=clerk1", content_type="application/json"), 400, "bad_json")
    err(client.post("/api/auth/login", json=["clerk1"]), 400, "bad_json")


def test_device_tokens(hall_app: HallApp) -> None:
    for client in (hall_app.kiosk(), hall_app.display()):
        assert client.get("/api/services").status_code == 200
    err(hall_app.app.test_client().get("/api/services"), 401, "unauthorized")
    err(hall_app.device("not-a-token").get("/api/services"), 401, "bad_token")
    basic = hall_app.app.test_client()
    err(basic.get("/api/windows", headers={"Authorization": "Basic abc"}), 401, "bad_token")


def test_rotating_a_device_token_revokes_the_old_one(hall_app: HallApp) -> None:
    old = hall_app.kiosk()
    new_token = hall_app.hall.accounts.add_device("kiosk-1", "kiosk")
    err(old.get("/api/services"), 401, "bad_token")
    assert hall_app.device(new_token).get("/api/services").status_code == 200


# ---------------------------------------------------------------- reading

def test_services_and_windows(hall_app: HallApp) -> None:
    kiosk = hall_app.kiosk()
    take(kiosk)
    take(kiosk)
    services = kiosk.get("/api/services").json["services"]
    assert services[0] == {"code": "id-card", "name": "居民身份证核发", "category": "户籍管理", "prefix": "A",
                           "waiting": 2, "open_windows": []}
    hall_app.staff("clerk1", window=1).post("/api/windows/1/call-next")
    windows = {w["id"]: w for w in kiosk.get("/api/windows").json["windows"]}
    assert windows[1]["status"] == "open" and windows[1]["current"]["number"] == "A001"
    assert windows[1]["services"] == ["id-card", "hukou"] and windows[2]["current"] is None
    assert {"id", "name", "services", "status", "current"} <= set(windows[1])


def test_get_ticket(hall_app: HallApp) -> None:
    ticket = take(hall_app.kiosk())
    assert ticket["track_url"].startswith("http://127.0.0.1:5000/t/")
    public = {k: v for k, v in ticket.items() if k != "track_url"}
    # the tracking page is a key to the resident's ticket: screens never see it, the desk does
    assert hall_app.display().get(f"/api/tickets/{ticket['id']}").json["ticket"] == public
    assert hall_app.kiosk().get(f"/api/tickets/{ticket['id']}").json["ticket"] == public
    assert hall_app.staff("guide").get(f"/api/tickets/{ticket['id']}").json["ticket"] == ticket
    err(hall_app.kiosk().get("/api/tickets/999"), 404, "ticket_not_found")
    err(hall_app.kiosk().get("/api/tickets/abc"), 404, "not_found")


# ---------------------------------------------------------------- issuing

def test_kiosk_issues_a_ticket(hall_app: HallApp) -> None:
    answer = hall_app.kiosk().post("/api/tickets", json={"service": "id-card", "priority": None})
    assert answer.status_code == 201
    ticket = answer.json["ticket"]
    assert set(ticket) >= TICKET_FIELDS
    assert (ticket["number"], ticket["service_name"], ticket["status"], ticket["waiting_ahead"],
            ticket["channel"]) == ("A001", "居民身份证核发", "waiting", 0, "kiosk")
    assert take(hall_app.kiosk())["waiting_ahead"] == 1


def test_guide_and_admin_issue_at_the_desk_with_priority(hall_app: HallApp) -> None:
    ticket = take(hall_app.staff("guide"), priority="military")
    assert (ticket["channel"], ticket["priority"]) == ("desk", "military")
    assert take(hall_app.staff("admin"))["number"] == "A002"


def test_who_may_not_issue(hall_app: HallApp) -> None:
    body = {"service": "id-card"}
    err(hall_app.display().post("/api/tickets", json=body), 403, "forbidden")
    err(hall_app.staff("clerk1").post("/api/tickets", json=body), 403, "forbidden")
    err(hall_app.app.test_client().post("/api/tickets", json=body), 401, "unauthorized")


def test_issue_validation(hall_app: HallApp) -> None:
    kiosk = hall_app.kiosk()
    err(kiosk.post("/api/tickets", json={}), 422, "missing_field")
    err(kiosk.post("/api/tickets", json={"service": 3}), 422, "bad_field")
    err(kiosk.post("/api/tickets", json={"service": "nope"}), 404, "service_not_found")
    err(kiosk.post("/api/tickets", json={"service": "id-card", "priority": "vip"}), 422, "bad_priority")
    err(kiosk.post("/api/tickets", data="{not json", content_type="application/json"), 400, "bad_json")


def test_daily_cap_is_a_409_at_the_kiosk(hall_app: HallApp) -> None:
    for _ in range(5):
        take(hall_app.kiosk(), "pension")
    err(hall_app.kiosk().post("/api/tickets", json={"service": "pension"}), 409, "cap_reached")
    assert take(hall_app.staff("guide"), "pension")["number"] == "L006"


# ---------------------------------------------------------------- window actions

def test_a_full_day_at_one_window(hall_app: HallApp) -> None:
    kiosk = hall_app.kiosk()
    first, second, third = take(kiosk), take(kiosk), take(kiosk)
    clerk = hall_app.staff("clerk1", window=1)
    act = lambda action, **body: clerk.post(f"/api/windows/1/{action}", json=body or None)  # noqa: E731

    called = act("call-next").json["ticket"]
    assert (called["number"], called["status"], called["window"]) == ("A001", "called", 1)
    assert act("recall").json["ticket"]["recalls"] == 1
    assert act("start").json["ticket"]["status"] == "serving"
    assert act("finish").json["ticket"]["status"] == "done"
    assert act("call-next").json["ticket"]["id"] == second["id"]
    assert act("no-show").json["ticket"]["status"] == "no_show"
    assert act("call-next").json["ticket"]["id"] == third["id"]
    moved = act("transfer", service="hukou").json["ticket"]
    assert (moved["number"], moved["service"], moved["status"]) == ("A003", "hukou", "waiting")
    assert act("call", number="A002").json["ticket"]["number"] == "A002"
    act("finish")
    assert act("call-next").json["ticket"]["number"] == "A003"
    act("finish")
    assert act("call-next").json == {"ticket": None}
    assert act("pause").json["window"]["status"] == "paused"
    err(act("call-next"), 409, "window_paused")
    assert act("resume").json["window"]["status"] == "open"
    assert act("sign-out").json["window"]["status"] == "closed"
    err(act("call-next"), 403, "not_signed_in")
    assert hall_app.kiosk().get(f"/api/tickets/{first['id']}").json["ticket"]["status"] == "done"


def test_window_action_permissions(hall_app: HallApp) -> None:
    take(hall_app.kiosk())
    hall_app.staff("clerk1", window=1)
    err(hall_app.staff("clerk2").post("/api/windows/1/call-next"), 403, "not_signed_in")
    err(hall_app.staff("clerk2").post("/api/windows/1/sign-in"), 409, "window_taken")
    err(hall_app.kiosk().post("/api/windows/1/call-next"), 403, "forbidden")
    err(hall_app.display().post("/api/windows/1/call-next"), 403, "forbidden")
    err(hall_app.staff("guide").post("/api/windows/1/call-next"), 403, "forbidden")
    err(hall_app.app.test_client().post("/api/windows/1/call-next", json={}), 401, "unauthorized")
    admin = hall_app.staff("admin", window=2)
    assert admin.post("/api/windows/2/call-next").json == {"ticket": None}


def test_window_action_validation(hall_app: HallApp) -> None:
    clerk = hall_app.staff("clerk1", window=1)
    err(clerk.post("/api/windows/1/dance"), 404, "not_found")  # each action has its own route (issue 15)
    err(clerk.post("/api/windows/99/sign-in"), 404, "window_not_found")
    err(clerk.post("/api/windows/1/call", json={}), 422, "missing_field")
    err(clerk.post("/api/windows/1/recall"), 409, "no_current_ticket")
    take(hall_app.kiosk())
    clerk.post("/api/windows/1/call-next")
    err(clerk.post("/api/windows/1/transfer", json={"window": "3"}), 422, "bad_field")
    err(clerk.post("/api/windows/1/transfer", json={}), 422, "transfer_target")
    err(clerk.post("/api/windows/1/call", json={"number": "Z999"}), 404, "number_not_found")


def test_unknown_routes_and_methods_answer_json(hall_app: HallApp) -> None:
    client = hall_app.kiosk()
    err(client.get("/api/nothing-here"), 404, "not_found")
    err(client.delete("/api/tickets"), 405, "method_not_allowed")


@pytest.mark.parametrize("payload", ['"text"', "42", "[1, 2]", "null", '{"service": {"a": 1}}',
                                     '{"service": ["id-card"]}', '{"number": 1.5, "window": true}', "\u0000"])
def test_no_payload_gives_a_server_error(hall_app: HallApp, payload: str) -> None:
    clerk = hall_app.staff("clerk1", window=1)
    for url in ["/api/tickets", "/api/auth/login", *(f"/api/windows/1/{a}" for a in
                ("call-next", "recall", "no-show", "start", "finish", "transfer", "call", "pause", "resume"))]:
        client = hall_app.kiosk() if url == "/api/tickets" else clerk
        answer = client.post(url, data=payload, content_type="application/json")
        assert answer.status_code < 500 and answer.is_json, (url, payload, answer.get_data(as_text=True))


# ---------------------------------------------------------------- OpenAPI

def test_openapi_documents_every_api_route(hall_app: HallApp) -> None:
    """Every route and method under /api is in the document (each window action its own path: issue 15), and
    everything documented is a route (the tracking page's JSON routes, /t/..., too)."""
    document = hall_app.app.test_client().get("/api/openapi.json").json
    assert document["openapi"].startswith("3.")
    documented = {(re.sub(r"{\w+}", "{}", path), method.upper())
                  for path, item in document["paths"].items() for method in item}
    routes = {(re.sub(r"<(?:\w+:)?\w+>", "{}", rule.rule), method) for rule in hall_app.app.url_map.iter_rules()
              if rule.rule != "/api/openapi.json"
              for method in rule.methods or () if method not in ("HEAD", "OPTIONS")}
    assert {route for route in routes if route[0].startswith("/api/")} - documented == set()
    assert documented - routes == set()
    assert {("/t/{}/state", "GET"), ("/t/{}/rate", "POST")} <= documented


def test_ticket_json_has_the_documented_fields(hall_app: HallApp) -> None:
    schemas = hall_app.app.test_client().get("/api/openapi.json").json["components"]["schemas"]
    fields = set(TicketView.__dataclass_fields__) - {"track_token"}
    assert set(schemas["Ticket"]["properties"]) == fields
    assert set(schemas["TrackedTicket"]["properties"]) == fields | {"track_url"}


def test_outside_hours_the_kiosk_is_told_when_to_come_back_and_the_desk_can_still_issue(
        tmp_path: Path, database_url: str, clock: ManualClock) -> None:
    from tests.unit.test_hours import WEEK

    for hall_app in open_hall_app(tmp_path, database_url, clock, WEEK):
        clock.set(clock.now().replace(hour=4, minute=30))  # 12:30 in Shanghai: lunch
        status = hall_app.kiosk().get("/api/hall/status").json
        assert (status["state"], status["accepting"], status["next_open_text"]) == ("closed", False, "今天 14:00")
        answer = hall_app.kiosk().post("/api/tickets", json={"service": "id-card"})
        assert answer.status_code == 409 and answer.json["error"]["code"] == "hall_closed"
        assert "下次开放：今天 14:00" in answer.json["error"]["message"]
        assert hall_app.staff("guide").post("/api/tickets", json={"service": "id-card"}).status_code == 201
        assert hall_app.app.test_client().get("/api/hall/status").status_code == 401


def test_extended_service_figures_and_moving_residents_are_for_the_admin(hall_app: HallApp) -> None:
    ticket = take(hall_app.kiosk())
    admin = hall_app.staff("admin")
    assert hall_app.staff("clerk1").post(f"/api/tickets/{ticket['id']}/move", json={"window": 3}).status_code == 403
    moved = admin.post(f"/api/tickets/{ticket['id']}/move", json={"window": 3})
    assert moved.status_code == 200 and moved.json["ticket"]["status"] == "waiting"
    err(admin.post(f"/api/tickets/{ticket['id']}/move", json={"window": 99}), 404, "window_not_found")
    err(admin.post(f"/api/tickets/{ticket['id']}/move", json={}), 422, "missing_field")
    month = admin.get("/api/extended-service?month=2026-11")
    assert month.status_code == 200 and month.json == {"from": "2026-11-01", "to": "2026-11-30", "records": [],
                                                       "days": 0, "sessions": 0, "served": 0, "minutes": 0,
                                                       "anomalies": 0, "text": "延时服务 0 天 0 次，服务群众 0 件"}
    assert admin.get("/api/extended-service?from=2026-12-01&to=2026-12-31").json["to"] == "2026-12-31"
    err(admin.get("/api/extended-service?month=2026-13"), 422, "bad_period")
    err(admin.get("/api/extended-service"), 422, "bad_period")
    assert hall_app.staff("guide").get("/api/extended-service?month=2026-11").status_code == 403


# ---------------------------------------------------------------- the hall's clock

def test_every_screen_page_names_the_halls_time_zone(tmp_path: Path, database_url: str, clock: ManualClock) -> None:
    """Screens show times in `[hall] timezone`, never the device's: each page says which zone from its first paint."""
    for hall_app in open_hall_app(tmp_path, database_url, clock,
                                  SMALL_HALL.replace("[hall]\n", '[hall]\ntimezone = "Asia/Urumqi"\n', 1)):
        client = hall_app.app.test_client()
        for path in ("/kiosk", "/display", "/caller", "/guide", "/window/1", "/rate/1", "/admin/stats",
                     "/admin/followups"):
            assert '<html lang="zh-CN" data-hall-zone="Asia/Urumqi">' in client.get(path).get_data(as_text=True), path
        assert hall_app.hall.engine.snapshot()["hall"]["timezone"] == "Asia/Urumqi"
