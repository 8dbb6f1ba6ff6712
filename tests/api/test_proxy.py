"""Behind nginx with HTTPS the session cookie is Secure; X-Forwarded-* are believed from a configured proxy only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from server.clock import ManualClock
from server.config import ConfigError, parse_config
from tests.api.conftest import HallApp, open_hall_app, password
from tests.conftest import SMALL_HALL

BEHIND_NGINX = SMALL_HALL + "\n[server]\ntrusted_proxies = 1\n"


@pytest.fixture
def proxied_hall(tmp_path: Path, database_url: str, clock: ManualClock) -> Iterator[HallApp]:
    yield from open_hall_app(tmp_path, database_url, clock, BEHIND_NGINX)


def login_cookie(hall_app: HallApp, headers: dict[str, str]) -> str:
    """The Set-Cookie header of a clerk's login sent with ``headers``."""
    answer = hall_app.app.test_client().post("/api/auth/login", headers=headers,
                                             json={"username": "clerk1", "password": password("clerk1")})
    assert answer.status_code == 200, answer.json
    return answer.headers["Set-Cookie"]


def cookie_flags(cookie: str) -> set[str]:
    return {part.strip().lower() for part in cookie.split(";")[1:]}


def test_without_a_trusted_proxy_a_forwarded_https_is_ignored(hall_app: HallApp) -> None:
    flags = cookie_flags(login_cookie(hall_app, {"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.9.9.9"}))
    assert "secure" not in flags and "httponly" in flags and "samesite=lax" in flags


def test_behind_a_trusted_proxy_an_https_login_gets_a_secure_cookie(proxied_hall: HallApp) -> None:
    assert "secure" in cookie_flags(login_cookie(proxied_hall, {"X-Forwarded-Proto": "https"}))
    assert "secure" not in cookie_flags(login_cookie(proxied_hall, {"X-Forwarded-Proto": "http"}))
    assert "secure" not in cookie_flags(login_cookie(proxied_hall, {}))


def test_behind_a_trusted_proxy_the_secure_session_works(proxied_hall: HallApp) -> None:
    """The Secure cookie is sent back over https and keeps the clerk logged in."""
    client = proxied_hall.app.test_client()
    https = {"X-Forwarded-Proto": "https"}
    assert client.post("/api/auth/login", headers=https, base_url="https://hall.example",
                       json={"username": "clerk1", "password": password("clerk1")}).status_code == 200
    me = client.get("/api/auth/me", headers=https, base_url="https://hall.example")
    assert me.status_code == 200 and me.json["user"]["username"] == "clerk1"


@pytest.mark.parametrize(("value", "fragment"), [
    ("-1", "must be between 0 and 5"), ("6", "must be between 0 and 5"), ("true", "must be an integer"),
    ('"1"', "must be an integer")])
def test_a_bad_trusted_proxies_names_the_key(value: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=rf"server\.trusted_proxies: {fragment}"):
        parse_config(SMALL_HALL + f"\n[server]\ntrusted_proxies = {value}\n")


def test_an_unknown_server_key_is_named() -> None:
    with pytest.raises(ConfigError, match=r"server\.proxy: unknown key; one of trusted_proxies"):
        parse_config(SMALL_HALL + "\n[server]\nproxy = true\n")
    assert parse_config(SMALL_HALL).server.trusted_proxies == 0
