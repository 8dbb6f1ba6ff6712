"""A hall with [district] ships its events from a background task as they happen (issue 19), and /api/health says
how far behind the district is, never the token; the request that made the events never waits for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from server.clock import ManualClock
from tests.api.conftest import HallApp, open_hall_app
from tests.live import free_port
from tests.printing.test_handover import eventually
from tests.unit.test_shipper import CODE, TOKEN, linked
from tests.wire_district import WireDistrict


@pytest.fixture
def district() -> Iterator[WireDistrict]:
    served = WireDistrict({TOKEN: CODE})
    yield served
    served.close()


@pytest.fixture
def linked_hall(tmp_path: Path, database_url: str, clock: ManualClock, district: WireDistrict) -> Iterator[HallApp]:
    yield from open_hall_app(tmp_path, database_url, clock, linked(district.url))


@pytest.fixture
def cut_off_hall(tmp_path: Path, database_url: str, clock: ManualClock) -> Iterator[HallApp]:
    """A hall whose district is down: nothing listens at its address."""
    yield from open_hall_app(tmp_path, database_url, clock, linked(f"http://127.0.0.1:{free_port()}"))


def test_events_reach_the_district_as_they_happen_and_health_says_so(linked_hall: HallApp,
                                                                     district: WireDistrict) -> None:
    issued = linked_hall.kiosk().post("/api/tickets", json={"service": "id-card"})
    assert issued.status_code == 201
    copy = district.copies[CODE]
    eventually(lambda: len(copy.events) == 1, "the issued event reaches the district")
    admin = linked_hall.staff("admin")
    eventually(lambda: admin.get("/api/health").json["district"]["behind_events"] == 0, "nothing behind")
    answer = admin.get("/api/health")
    assert answer.json["district"] == {
        "url": district.url, "code": CODE, "ships": True, "through": max(copy.events), "behind_events": 0,
        "behind_seconds": 0, "last_shipped_at": linked_hall.clock.now().isoformat(), "last_error": None}
    assert TOKEN not in answer.get_data(as_text=True)


def test_a_district_that_is_down_leaves_the_hall_working(cut_off_hall: HallApp) -> None:
    kiosk = cut_off_hall.kiosk()
    for _ in range(3):
        assert kiosk.post("/api/tickets", json={"service": "id-card"}).status_code == 201
    shipper = cut_off_hall.app.extensions["hallq_shipper"]
    eventually(lambda: shipper.last_error is not None, "the failure is noted")
    health = cut_off_hall.staff("admin").get("/api/health")
    link = health.json["district"]
    assert link["last_error"] == "无法连接区级服务器（ConnectionError）" and link["through"] is None
    assert TOKEN not in health.get_data(as_text=True)


def test_a_hall_without_a_district_ships_nothing(hall_app: HallApp) -> None:
    assert hall_app.app.extensions["hallq_shipper"] is None
    assert hall_app.staff("admin").get("/api/health").json["district"] is None
