"""Issue 14 (3, 7): another site on the hall's Wi-Fi cannot make a logged-in browser change anything, and every
answer carries the browser-hardening headers; personal data is never kept in a cache."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.routing import IntegerConverter

from server.clock import ManualClock
from tests.api.conftest import HallApp, open_hall_app
from tests.api.test_api import err, take
from tests.api.test_appointments_api import book
from tests.api.test_proxy import proxied_hall  # noqa: F401  (a fixture)
from tests.unit.test_appointments import APPOINTMENT_HALL

#: the shapes a page of another origin can send without a CORS preflight: a <form> or a `no-cors` fetch
FORM_SHAPES = [
    {"data": "x=1", "content_type": "application/x-www-form-urlencoded"},
    {"data": '{"reason": "x"}', "content_type": "text/plain"},
    {"data": "--b\r\n\r\n--b--", "content_type": "multipart/form-data; boundary=b"},
    {},  # no body, no type: a bodyless form post or fetch
]


def window_status(client: FlaskClient, window: int) -> str:
    return next(w["status"] for w in client.get("/api/windows").json["windows"] if w["id"] == window)


@pytest.mark.parametrize("shape", FORM_SHAPES, ids=["urlencoded", "text-plain", "multipart", "no-body"])
def test_a_form_shaped_post_with_a_clerks_cookie_pauses_nothing(hall_app: HallApp, shape: dict[str, Any]) -> None:
    clerk = hall_app.staff("clerk1", window=1)
    forged = hall_app.app.test_client()
    forged.set_cookie("session", clerk.get_cookie("session").value)  # the browser adds the cookie by itself
    err(forged.post("/api/windows/1/pause", **shape), 415, "json_required")
    assert window_status(clerk, 1) == "open"


@pytest.fixture
def appointment_hall(tmp_path: Path, database_url: str, clock: ManualClock) -> Iterator[HallApp]:
    yield from open_hall_app(tmp_path, database_url, clock, APPOINTMENT_HALL)


def test_a_no_cors_fetch_with_the_guides_cookie_cancels_no_appointment(appointment_hall: HallApp) -> None:
    guide = appointment_hall.staff("guide")
    booked = book(appointment_hall, guide)
    forged = appointment_hall.app.test_client()
    forged.set_cookie("session", guide.get_cookie("session").value)
    err(forged.post(f"/api/appointments/{booked['id']}/cancel", data='{"reason": "x"}', content_type="text/plain"),
        415, "json_required")
    listed = guide.get(f"/api/appointments?date={booked['date']}").json["appointments"]
    assert [a["status"] for a in listed if a["id"] == booked["id"]] == ["booked"]


@pytest.mark.parametrize("origin", ["http://localhost:8080", "https://localhost", "http://evil.example", "null"])
def test_a_json_post_from_another_origin_is_refused(hall_app: HallApp, origin: str) -> None:
    clerk = hall_app.staff("clerk1", window=1)
    err(clerk.post("/api/windows/1/pause", headers={"Origin": origin}), 403, "cross_origin")
    assert window_status(clerk, 1) == "open"


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_a_post_the_browser_says_came_from_another_site_is_refused(hall_app: HallApp, site: str) -> None:
    clerk = hall_app.staff("clerk1", window=1)
    err(clerk.post("/api/windows/1/pause", headers={"Sec-Fetch-Site": site}), 403, "cross_origin")


@pytest.mark.parametrize("origin", ["http://localhost", "http://LOCALHOST:80"])
def test_the_halls_own_origin_and_json_work(hall_app: HallApp, origin: str) -> None:
    clerk = hall_app.staff("clerk1", window=1)
    paused = clerk.post("/api/windows/1/pause", headers={"Origin": origin, "Sec-Fetch-Site": "same-origin"})
    assert paused.status_code == 200, paused.json
    assert window_status(clerk, 1) == "paused"


def test_the_residents_rating_must_be_json_too(hall_app: HallApp) -> None:
    token = take(hall_app.kiosk())["track_url"].rsplit("/", 1)[1]
    err(hall_app.app.test_client().post(f"/t/{token}/rate", data="level=satisfied",
                                        content_type="application/x-www-form-urlencoded"), 415, "json_required")


def test_behind_the_proxy_the_origin_is_the_forwarded_https_one(proxied_hall: HallApp) -> None:  # noqa: F811
    """nginx speaks https to the browser and http to hallq: the browser's Origin is https://, and is ours."""
    clerk = proxied_hall.staff("clerk1", window=1)
    https = {"X-Forwarded-Proto": "https"}
    own = clerk.post("/api/windows/1/pause", headers={**https, "Origin": "https://localhost"})
    assert own.status_code == 200, own.json
    err(clerk.post("/api/windows/1/resume", headers={**https, "Origin": "http://localhost"}), 403, "cross_origin")
    err(clerk.post("/api/windows/1/resume", headers={**https, "Origin": "https://localhost:8443"}), 403,
        "cross_origin")


def test_without_a_trusted_proxy_a_forwarded_https_does_not_make_an_origin_ours(hall_app: HallApp) -> None:
    clerk = hall_app.staff("clerk1", window=1)
    err(clerk.post("/api/windows/1/pause", headers={"X-Forwarded-Proto": "https", "Origin": "https://localhost"}),
        403, "cross_origin")


# ---------------------------------------------------------------- headers

HARDENING = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def every_get_url(hall_app: HallApp) -> dict[str, str]:
    """endpoint -> a URL of every GET route of the app, its variables filled in (a file for the static folders)."""
    urls = {}
    for rule in hall_app.app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()):
            continue
        values: dict[str, Any] = {name: 1 if isinstance(converter, IntegerConverter) else "x"
                                  for name, converter in rule._converters.items()}
        if rule.endpoint.endswith("static"):
            values["filename"] = "hallq.js" if rule.endpoint == "static" else f"{rule.endpoint.split('.')[0]}.js"
        urls[rule.endpoint] = rule.build(values)[1]
    return urls


def test_every_page_and_answer_has_the_hardening_headers(hall_app: HallApp) -> None:
    guide = hall_app.staff("guide")
    urls = every_get_url(hall_app)
    assert {"caller.page", "guide.register", "track.page", "api.services", "static", "kiosk.static"} <= set(urls)
    for endpoint, url in urls.items():
        answer = guide.get(url)
        assert answer.status_code < 500, (url, answer.status_code)
        for name, value in HARDENING.items():
            assert answer.headers.get(name) == value, (url, name, answer.headers.get(name))
        policy = answer.headers.get("Content-Security-Policy", "")
        for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'",
                          "base-uri 'none'", "frame-ancestors 'none'"):
            assert directive in policy, (url, policy)
        assert "unsafe" not in policy
        cacheable = endpoint == "static" or endpoint.endswith(".static") or endpoint == "audio.audio"
        assert (answer.headers.get("Cache-Control") == "no-store") != cacheable, (url, answer.headers)


def test_personal_data_is_never_cached(appointment_hall: HallApp) -> None:
    guide = appointment_hall.staff("guide")
    booked = book(appointment_hall, guide)
    day = booked["date"]
    for url in (f"/api/appointments?date={day}", f"/api/appointments/register.xlsx?date={day}",
                f"/guide/register?date={day}", f"/api/duty-log?date={day}", f"/api/enquiries?date={day}",
                "/guide", "/api/auth/me"):
        answer = guide.get(url)
        assert answer.status_code == 200, url
        assert answer.headers["Cache-Control"] == "no-store", (url, answer.headers.get("Cache-Control"))


def test_errors_carry_the_headers_too(hall_app: HallApp) -> None:
    for answer in (hall_app.app.test_client().get("/api/nowhere"), hall_app.app.test_client().get("/api/windows"),
                   hall_app.app.test_client().post("/api/windows/1/pause")):
        assert answer.status_code in (401, 404, 415)
        assert answer.headers["X-Frame-Options"] == "DENY" and answer.headers["Cache-Control"] == "no-store"
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
