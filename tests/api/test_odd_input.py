"""The odd input of issue 14 (finding 8), each once a 500 with a traceback in the log: now a 4xx with the error
body, on SQLite and on PostgreSQL (which refuses NUL in text and ids past 4 bytes)."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.api.conftest import HallApp
from tests.api.quality import err

LONE_SURROGATE = '"\\ud800"'  # a JSON escape that json.loads keeps and no UTF-8 encoder takes


def raw_json(client: FlaskClient, path: str, text: str) -> Any:
    return client.post(path, data=text, content_type="application/json")


def test_statistics_of_a_day_the_hall_cannot_reckon_with(hall_app: HallApp) -> None:
    """0001-01-01 at the hall's time zone overflowed; 9999-12-31 and such mean nothing to a hall either."""
    admin = hall_app.staff("admin")
    for query, named in [("date=0001-01-01", "date"), ("date=9999-12-31", "date"), ("month=0001-01", "month"),
                         ("from=0001-01-01&to=2026-01-02", "from"), ("from=2026-11-01&to=9999-12-31", "to")]:
        for path in ("/api/stats", "/api/stats.csv", "/api/stats.xlsx", "/api/extended-service"):
            if path == "/api/extended-service" and named == "date":
                continue
            answer = admin.get(f"{path}?{query}")
            err(answer, 422, "bad_period")
            assert answer.json["error"]["message"].startswith(f"{named} "), (path, query, answer.json)


def test_desk_lists_of_a_far_day(hall_app: HallApp) -> None:
    guide = hall_app.staff("guide")
    for path in ("/api/duty-log", "/api/enquiries", "/api/appointments", "/api/appointments/register.xlsx",
                 "/api/appointments/slots?service=id-card&"):
        answer = guide.get(f"{path}{'' if path.endswith('&') else '?'}date=0001-01-01")
        err(answer, 422, "bad_date")
        assert answer.json["error"]["message"].startswith("date "), (path, answer.json)


def test_login_nested_a_thousand_deep_without_logging_in(hall_app: HallApp) -> None:
    deep = "[" * 1000 + "]" * 1000
    err(raw_json(hall_app.app.test_client(), "/api/auth/login", f'{{"username": {deep}, "password": "x"}}'),
        400, "bad_json")
    err(raw_json(hall_app.app.test_client(), "/api/auth/login", f'{{"username": "a", "x": {"[" * 30}{"]" * 30}}}'),
        400, "bad_json")


def test_text_no_database_can_keep(hall_app: HallApp) -> None:
    """A lone surrogate failed at encoding (SQLite, psycopg, the log); NUL is refused by PostgreSQL."""
    guide = hall_app.staff("guide")
    for text in (LONE_SURROGATE, '"a\\u0000b"'):
        for client, path, fields in [
            (hall_app.app.test_client(), "/api/auth/login", '"username": {s}, "password": "x"'),
            (guide, "/api/duty-log", '"text": {s}'),
            (guide, "/api/enquiries", '"channel": "phone", "subject": {s}'),
            (guide, "/api/appointments", '"service": "id-card", "date": "2026-12-01", "slot": "09:00", '
                                         '"channel": "phone", "name": "张三", "phone": "13800138000", "notes": {s}'),
        ]:
            err(raw_json(client, path, "{" + fields.format(s=text) + "}"), 400, "bad_json")


def test_query_strings_that_are_not_utf8_or_carry_nul(hall_app: HallApp) -> None:
    guide = hall_app.staff("guide")
    err(guide.get("/api/tickets", environ_overrides={"QUERY_STRING": "number=\xff"}), 400, "bad_query")
    answer = guide.get("/api/tickets?number=%00")
    err(answer, 400, "bad_query")
    assert "number" in answer.json["error"]["message"]
    err(guide.get("/api/tickets?number=%FF"), 404, "number_not_found")  # kept as the text "%FF": no such number


def test_ids_past_the_database_integer(hall_app: HallApp) -> None:
    admin = hall_app.staff("admin")
    err(admin.get("/api/tickets/99999999999999999999"), 404, "not_found")
    err(admin.post("/api/tickets/99999999999999999999/move", json={"window": 1}), 404, "not_found")
    err(admin.post("/api/windows/1/transfer", json={"window": 2**40}), 422, "bad_field")
