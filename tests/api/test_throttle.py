"""Issue 14: failed logins slow down (per address, per typed name) instead of locking anyone out; hashes are
bounded; weak passwords are refused; a kiosk token cannot use up the day nor try appointment codes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from server.clock import ManualClock
from server.config import ConfigError, parse_config
from tests.api.conftest import HallApp, open_hall_app, password
from tests.api.test_api import err, take
from tests.api.test_appointments_api import MONDAY, PHONE, book, local
from tests.api.test_appointments_api import hall_app as appointment_hall  # noqa: F401 - the fixture
from tests.conftest import SMALL_HALL, scratch_postgres
from tests.unit.test_throttle import REDIS

RIGHT = {"username": "clerk2", "password": password("clerk2")}


@pytest.fixture(params=["one process", "several processes"])
def hall_app(request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock,
             caplog: pytest.LogCaptureFixture) -> Iterator[HallApp]:
    """The hall's only process (SQLite, its limits in memory), or one of several (PostgreSQL, its limits in the
    hall's Redis: a scratch database is a scratch channel, so no test sees another's counts)."""
    if request.param == "one process":
        yield from open_hall_app(tmp_path, f"sqlite:///{tmp_path / 'hallq.db'}", clock)
        return
    with scratch_postgres() as url:
        yield from open_hall_app(tmp_path, url, clock, message_queue=REDIS)
    assert not [r for r in caplog.get_records("call") if r.name == "server.throttle"], "counted without Redis"


def client_at(hall_app: HallApp, address: str) -> FlaskClient:
    client = hall_app.app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def attempt(client: FlaskClient, username: str, secret: str = "a-wrong-guess") -> Any:
    return client.post("/api/auth/login", json={"username": username, "password": secret})


def counting_hashes(hall_app: HallApp) -> list[int]:
    """Every password hash the accounts run goes through the injected runner: count them."""
    ran: list[int] = []

    def run(job: Callable[[], Any]) -> Any:
        ran.append(1)
        return job()

    hall_app.hall.accounts.hashes.run_blocking = run
    return ran


# ---------------------------------------------------------------- no lock, a short delay per typed name

def test_wrong_passwords_delay_the_name_for_seconds_and_never_lock_it(hall_app: HallApp) -> None:
    for i in range(5):  # from five addresses: the name's own limit, not an address's
        err(attempt(client_at(hall_app, f"10.0.1.{i}"), "clerk2"), 401, "bad_credentials")
    late = attempt(client_at(hall_app, "10.0.2.1"), "clerk2", RIGHT["password"])
    err(late, 429, "too_many_attempts")
    assert late.headers["Retry-After"] == "3" and "秒后再试" in late.json["error"]["message"]
    hall_app.clock.advance(seconds=3)  # not 15 minutes: whoever knows the password is in a moment later
    assert client_at(hall_app, "10.0.2.1").post("/api/auth/login", json=RIGHT).status_code == 200


def test_an_unknown_name_is_answered_like_an_existing_one(hall_app: HallApp) -> None:
    ran = counting_hashes(hall_app)
    answers = {}
    for name in ("clerk2", "no-such-user"):
        for i in range(5):
            answer = attempt(client_at(hall_app, f"10.0.3.{i}"), name)
            assert (answer.status_code, answer.json) == (401, {"error": {
                "code": "bad_credentials", "message": "用户名或密码错误"}})
        throttled = attempt(client_at(hall_app, "10.0.4.1"), name)
        answers[name] = (throttled.status_code, throttled.json, throttled.headers["Retry-After"])
    assert answers["clerk2"] == answers["no-such-user"] and answers["clerk2"][0] == 429
    assert len(ran) == 10  # one hash for every wrong password and unknown name alike, none when throttled
    hall_app.hall.accounts.set_disabled("clerk1", True, actor="admin")
    err(attempt(client_at(hall_app, "10.0.5.1"), "clerk1"), 401, "bad_credentials")  # disabled: the same
    assert len(ran) == 11


def test_failed_logins_from_one_address_slow_that_address_down(hall_app: HallApp) -> None:
    guesser = client_at(hall_app, "10.0.6.6")
    for i in range(10):
        err(attempt(guesser, f"guess-{i}"), 401, "bad_credentials")
    err(attempt(guesser, "clerk1", password("clerk1")), 429, "too_many_attempts")
    assert client_at(hall_app, "10.0.6.7").post("/api/auth/login", json=RIGHT).status_code == 200  # others not
    hall_app.clock.advance(seconds=30)  # the count decays: one more try every 30 s
    assert attempt(guesser, "clerk1", password("clerk1")).status_code == 200
    err(attempt(guesser, "guess-x"), 401, "bad_credentials")
    err(attempt(guesser, "guess-y"), 429, "too_many_attempts")


def test_a_flood_from_ever_new_addresses_and_names_hashes_at_most_four_a_second(hall_app: HallApp) -> None:
    ran = counting_hashes(hall_app)
    for i in range(20):  # each from an address and for a name of its own: neither limit of theirs answers
        err(attempt(client_at(hall_app, f"10.1.0.{i}"), f"guess-{i}"), 401, "bad_credentials")
    busy = attempt(client_at(hall_app, "10.1.1.1"), "clerk1", password("clerk1"))
    err(busy, 429, "login_busy")  # the same for the right password: nothing is hashed, nothing told
    assert busy.headers["Retry-After"] == "1" and len(ran) == 20
    hall_app.clock.advance(seconds=1)  # four more wrong passwords a second, for everyone together
    for i in range(4):
        err(attempt(client_at(hall_app, f"10.1.2.{i}"), f"guess-late-{i}"), 401, "bad_credentials")
    err(attempt(client_at(hall_app, "10.1.3.1"), "guess-more"), 429, "login_busy")
    hall_app.clock.advance(seconds=1)
    assert client_at(hall_app, "10.1.3.1").post("/api/auth/login", json=RIGHT).status_code == 200
    assert len(ran) == 25


def test_a_wrong_old_password_counts_as_a_failed_login(hall_app: HallApp) -> None:
    clerk = hall_app.staff("clerk1")
    for _ in range(5):
        err(clerk.post("/api/auth/password", json={"old": "not-mine-1", "new": "a-new-clerk1-pw"}), 422,
            "wrong_password")
    err(clerk.post("/api/auth/password", json={"old": password("clerk1"), "new": "a-new-clerk1-pw"}), 429,
        "too_many_attempts")


def test_the_admin_list_shows_a_name_being_guessed(hall_app: HallApp) -> None:
    admin = hall_app.staff("admin")
    for i in range(5):
        attempt(client_at(hall_app, f"10.0.7.{i}"), "clerk2")
    locked = {s["username"]: s["locked"] for s in admin.get("/api/staff").json["staff"]}
    assert locked == {"admin": False, "clerk1": False, "clerk2": True, "guide": False}
    hall_app.clock.advance(seconds=3)
    assert not any(s["locked"] for s in admin.get("/api/staff").json["staff"])


# ---------------------------------------------------------------- hashes: off the caller, bounded

def test_hashes_in_flight_are_bounded_and_one_more_is_refused_at_once(hall_app: HallApp) -> None:
    release, started = threading.Event(), threading.Semaphore(0)

    def slow(job: Callable[[], Any]) -> Any:
        started.release()
        release.wait(10)
        return job()

    hall_app.hall.accounts.hashes.run_blocking = slow
    answers: list[int] = []
    waiting = [threading.Thread(target=lambda i=i: answers.append(
        attempt(client_at(hall_app, f"10.0.8.{i}"), f"flood-{i}").status_code)) for i in range(4)]
    for thread in waiting:
        thread.start()
    for _ in waiting:
        assert started.acquire(timeout=10)
    busy = attempt(client_at(hall_app, "10.0.8.9"), "clerk1", password("clerk1"))
    err(busy, 429, "login_busy")
    assert busy.headers["Retry-After"] == "1"
    release.set()
    for thread in waiting:
        thread.join(10)
    assert answers == [401] * 4
    assert client_at(hall_app, "10.0.8.9").post("/api/auth/login", json=RIGHT).status_code == 200


# ---------------------------------------------------------------- passwords

@pytest.mark.parametrize("weak", ["12345678", "87654321", "1234567890", "aaaaaaaa", "abcdefgh", "password1",
                                  "QWERTYUIOP", "woaini1314", "Clerk-Three"])
def test_common_and_trivial_passwords_are_refused(hall_app: HallApp, weak: str) -> None:
    admin = hall_app.staff("admin")
    answer = admin.post("/api/staff", json={"username": "clerk-three", "role": "clerk", "password": weak})
    err(answer, 422, "weak_password")
    assert "太常见或太简单" in answer.json["error"]["message"]
    if weak != "Clerk-Three":  # that one is weak only for its own name
        err(admin.post("/api/staff/clerk1/password", json={"password": weak}), 422, "weak_password")
        clerk = hall_app.staff("clerk1")
        err(clerk.post("/api/auth/password", json={"old": password("clerk1"), "new": weak}), 422, "weak_password")


def test_a_password_may_contain_a_word_or_the_name(hall_app: HallApp) -> None:
    admin = hall_app.staff("admin")
    for name, secret in (("clerk3", "clerk3-at-2026"), ("clerk4", "my-password-is-long")):
        assert admin.post("/api/staff", json={"username": name, "role": "clerk", "password": secret}).status_code == 201


# ---------------------------------------------------------------- a kiosk token

def test_a_kiosk_cannot_take_numbers_faster_than_a_kiosk_prints(hall_app: HallApp) -> None:
    kiosk = hall_app.kiosk()
    for _ in range(20):  # a crowded morning's rush at one kiosk
        take(kiosk)
    refused = kiosk.post("/api/tickets", json={"service": "id-card"})
    err(refused, 429, "too_many_requests")
    assert refused.headers["Retry-After"] == "10" and "导询台" in refused.json["error"]["message"]
    assert take(hall_app.staff("guide"))["number"] == "A021"  # the guide desk is never throttled
    hall_app.clock.advance(seconds=10)
    assert take(kiosk)["number"] == "A022"
    err(kiosk.post("/api/tickets", json={"service": "id-card"}), 429, "too_many_requests")


def test_appointment_codes_cannot_be_tried_one_after_another(appointment_hall: HallApp) -> None:  # noqa: F811
    hall_app = appointment_hall
    code = book(hall_app)["code"]
    wrong = [f"{n:06d}" for n in range(10) if f"{n:06d}" != code][:10]
    kiosk = hall_app.kiosk()
    for guess in wrong:
        err(kiosk.post("/api/appointments/check-in", json={"code": guess}), 404, "appointment_not_found")
    refused = kiosk.post("/api/appointments/check-in", json={"code": code})
    err(refused, 429, "too_many_requests")
    assert code not in str(refused.json) and refused.headers["Retry-After"] == "30"
    take(kiosk)  # plain tickets still come out
    err(kiosk.post("/api/appointments/check-in", json={"phone": PHONE}), 429, "too_many_requests")
    desk = hall_app.staff("guide").post("/api/appointments/check-in", json={"code": code})
    assert desk.json["error"]["code"] == "appointment_not_today"  # the desk is not throttled


def test_check_in_by_phone_tells_the_kiosk_nothing_of_the_appointment(appointment_hall: HallApp) -> None:  # noqa: F811
    hall_app = appointment_hall
    book(hall_app)  # Tuesday 09:00; it is Monday
    hall_app.clock.set(local(MONDAY, 9))
    by_phone = hall_app.kiosk().post("/api/appointments/check-in", json={"phone": PHONE})
    unknown = hall_app.kiosk().post("/api/appointments/check-in", json={"phone": "13999999999"})
    assert (by_phone.status_code, by_phone.json) == (unknown.status_code, unknown.json)
    err(by_phone, 404, "appointment_not_found")
    assert "明天" not in by_phone.json["error"]["message"] and "09:00" not in by_phone.json["error"]["message"]
    desk = hall_app.staff("guide").post("/api/appointments/check-in", json={"phone": PHONE})
    assert desk.json["error"]["code"] == "appointment_not_today"  # staff are told


@pytest.mark.parametrize(("key", "value", "fragment"), [
    ("kiosk_burst", "0", "must be between 1 and 100000"),
    ("kiosk_per_minute", "100001", "must be between 1 and 100000"),
    ("kiosk_per_minute", '"6"', "must be an integer")])
def test_a_bad_kiosk_limit_names_the_key(key: str, value: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=rf"server\.{key}: {fragment}"):
        parse_config(SMALL_HALL + f"\n[server]\n{key} = {value}\n")
    limits = parse_config(SMALL_HALL + "\n[server]\nkiosk_burst = 50\nkiosk_per_minute = 12\n").server
    assert (limits.kiosk_burst, limits.kiosk_per_minute) == (50, 12)
