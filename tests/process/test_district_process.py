"""Issue 19 on several processes: two real `hallq run` processes of one hall (PostgreSQL and Redis) ship its event
log to a district on a free port (tests/wire_district.py) from exactly one of them (job "district"), whichever
process took the tickets; the shipping process killed (SIGKILL), the other takes the job over and ships the rest.
The district holds every event once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cluster import Cluster, hall_cluster
from tests.live import ROOT, LiveHall
from tests.process.test_cluster import database_rows
from tests.process.test_printing_process import eventually
from tests.unit.test_shipper import CODE, TOKEN, district_table
from tests.wire_district import WireDistrict

pytestmark = pytest.mark.slow


def district_of(cluster: Cluster, process: LiveHall) -> dict[str, Any]:
    answer = cluster.admin(process).get(f"{process.url}/api/health", timeout=10)
    answer.raise_for_status()
    return answer.json()["district"]


def shippers(cluster: Cluster) -> list[LiveHall]:
    """The processes that ship: one at most, ever."""
    shipping = [p for p in cluster.processes if district_of(cluster, p)["ships"]]
    assert len(shipping) <= 1, "two processes ship"
    return shipping


def test_one_process_ships_and_another_takes_over_when_it_dies(tmp_path: Path) -> None:
    district = WireDistrict({TOKEN: CODE})
    config = tmp_path / "hall.toml"
    config.write_text((ROOT / "config.toml").read_text(encoding="utf-8") + district_table(district.url),
                      encoding="utf-8")
    try:
        with hall_cluster(tmp_path, processes=2, config=config) as cluster:
            copy = district.copies[CODE]

            def issue(count: int) -> list[int]:
                """``count`` tickets, spread over the processes; the hall's event ids once they all reached
                the district."""
                for i in range(count):
                    process = cluster.spread(i)
                    cluster.kiosk(i).post(f"{process.url}/api/tickets", json={"service": "hukou-id"},
                                          timeout=10).raise_for_status()
                ids = [row[0] for row in database_rows(cluster, "SELECT id FROM ticket_events ORDER BY id")]
                eventually(lambda: copy.through == ids[-1], "every event shipped", timeout=20)
                return ids

            ids = issue(6)
            assert list(copy.events) == ids == copy.sent  # each once: one process shipped
            [leader] = shippers(cluster)
            other = next(p for p in cluster.processes if p is not leader)
            assert district_of(cluster, leader)["behind_events"] == 0
            idle = district_of(cluster, other)
            assert not idle["ships"] and idle["through"] is None  # it has not asked the district: not its job
            cluster.kill(leader)
            eventually(lambda: shippers(cluster) == [other], "the other process ships", timeout=20)
            ids = issue(4)
            assert list(copy.events) == ids and sorted(set(copy.sent)) == ids
            assert district_of(cluster, other)["behind_events"] == 0
    finally:
        district.close()
