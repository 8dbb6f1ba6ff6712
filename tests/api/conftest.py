"""A Flask app over a real database (SQLite and PostgreSQL), with staff and devices."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.app import create_app
from server.clock import ManualClock
from server.hall import Hall, Settings
from server.operations import check_answers
from tests.conftest import SMALL_HALL

STAFF = {"clerk1": "clerk", "clerk2": "clerk", "guide": "guide", "admin": "admin"}


def password(name: str) -> str:
    return f"{name}-secret-pw"


@dataclass
class HallApp:
    app: Flask
    hall: Hall
    clock: ManualClock
    kiosk_token: str
    display_token: str

    def device(self, token: str) -> FlaskClient:
        client = self.app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        return client

    def kiosk(self) -> FlaskClient:
        return self.device(self.kiosk_token)

    def display(self) -> FlaskClient:
        return self.device(self.display_token)

    def staff(self, name: str, window: int | None = None) -> FlaskClient:
        client = self.app.test_client()
        client.environ_base["CONTENT_TYPE"] = "application/json"  # as the screens' hallq.api() sends every call
        answer = client.post("/api/auth/login", json={"username": name, "password": password(name)})
        assert answer.status_code == 200, answer.json
        if window is not None:
            assert client.post(f"/api/windows/{window}/sign-in").status_code == 200
        return client


def open_hall_app(tmp_path: Path, database_url: str, clock: ManualClock, config_text: str = SMALL_HALL,
                  message_queue: str | None = None) -> Iterator[HallApp]:
    """A HallApp over ``config_text``, torn down (printer workers stopped, database closed) afterwards;
    ``message_queue``: one of several processes of the hall (PostgreSQL only)."""
    config = tmp_path / "hall.toml"
    config.write_text(config_text, encoding="utf-8")
    app = create_app(Settings(config, tmp_path / "instance", database_url, clock, message_queue=message_queue),
                     async_mode="threading")
    check_answers(app)
    hall: Hall = app.extensions["hallq"]
    for name, role in STAFF.items():
        hall.accounts.add_user(name, role, password(name), display_name=name)
    yield HallApp(app, hall, clock, hall.accounts.add_device("kiosk-1", "kiosk"),
                  hall.accounts.add_device("display-1", "display"))
    app.extensions["hallq_stop"]()
    hall.storage.dispose()


@pytest.fixture
def hall_app(tmp_path: Path, database_url: str, clock: ManualClock) -> Iterator[HallApp]:
    yield from open_hall_app(tmp_path, database_url, clock)


from tests.api.quality import rating_hall  # noqa: E402, F401 - a hall with rating tablets (tests of issue 7)
