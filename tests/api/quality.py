"""A hall with rating tablets, a calendar with a holiday and a 调休 day, and helpers to serve residents."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from server.clock import ManualClock
from tests.api.conftest import HallApp, open_hall_app
from tests.conftest import SMALL_HALL

#: Monday 2026-11-30 (the tests' opening day); Thursday 2026-12-03 a holiday, Saturday 2026-12-05 a 调休 day
RATING_HALL = SMALL_HALL.replace("daily_cap = 5\n", "") + """
[evaluation]
prompt_seconds = 60
followup_working_days = 3
phone_days = 2

[[evaluation.evaluators]]
device = "rate-1"
window = 1

[[evaluation.evaluators]]
device = "rate-2"
window = 2

[cases]
promised_working_days = 4
approval_working_days = 2

[calendar]
holidays = [2026-12-03]
workdays = [2026-12-05]

[[calendar.sessions]]
name = "全天"
start = "00:00"
end = "24:00"
"""


class RatingHall:
    def __init__(self, hall_app: HallApp):
        self.h = hall_app
        accounts = hall_app.hall.accounts
        self.tokens = {name: accounts.add_device(name, "evaluator") for name in ("rate-1", "rate-2", "rate-9")}
        accounts.add_user("clerk1", "clerk", "clerk1-secret-pw", display_name="王小红", staff_no="1001")

    def tablet(self, name: str = "rate-1") -> FlaskClient:
        return self.h.device(self.tokens[name])

    def take(self, service: str = "id-card") -> dict[str, Any]:
        answer = self.h.kiosk().post("/api/tickets", json={"service": service})
        assert answer.status_code == 201, answer.json
        return answer.json["ticket"]

    def serve(self, clerk: FlaskClient, window: int, service: str = "id-card",
              case: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """A resident takes a number, is called at ``window`` and finished: (the ticket, the finish answer)."""
        ticket = self.take(service)
        called = clerk.post(f"/api/windows/{window}/call-next").json["ticket"]
        assert called["id"] == ticket["id"], called
        answer = clerk.post(f"/api/windows/{window}/finish", json=case)
        assert answer.status_code == 200, answer.json
        return ticket, answer.json


def err(answer: Any, status: int, code: str) -> None:
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.json["error"]["code"] == code, answer.json


@pytest.fixture
def rating_hall(tmp_path: Path, database_url: str, clock: ManualClock) -> Iterator[RatingHall]:
    for hall_app in open_hall_app(tmp_path, database_url, clock, RATING_HALL):
        yield RatingHall(hall_app)
