"""Issue 19 on several processes: two real `hallq run` processes of one hall (PostgreSQL and Redis) ship its event
log to the real district server on a free port (tests/live_district.py) from exactly one of them (job "district"),
whichever process took the tickets; the other says the position the district last confirmed to the shipping one
(the instance folder's district.json); the shipping process killed (SIGKILL), the other takes the job over and ships
the rest. The district holds every event once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cluster import Cluster, hall_cluster
from tests.live import ROOT, LiveHall
from tests.live_district import LiveDistrict
from tests.live_district import district_database as district_database  # the fixture: one database a module
from tests.process.test_cluster import database_rows
from tests.process.test_printing_process import eventually
from tests.unit.test_shipper import district_table

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


def test_one_process_ships_and_another_takes_over_when_it_dies(tmp_path: Path, district_database: str) -> None:
    district = LiveDistrict(district_database).start()
    config = tmp_path / "hall.toml"
    config.write_text((ROOT / "config.toml").read_text(encoding="utf-8")
                      + district_table(district.url, code=district.hall.code, token=district.hall.token),
                      encoding="utf-8")
    try:
        with hall_cluster(tmp_path, processes=2, config=config) as cluster:

            def issue(count: int) -> list[int]:
                """``count`` tickets, spread over the processes; the hall's event ids once they all reached
                the district."""
                for i in range(count):
                    process = cluster.spread(i)
                    cluster.kiosk(i).post(f"{process.url}/api/tickets", json={"service": "hukou-id"},
                                          timeout=10).raise_for_status()
                ids = [row[0] for row in database_rows(cluster, "SELECT id FROM ticket_events ORDER BY id")]
                # the tap notes a batch once the district's answer starts, just after the district's commit
                eventually(lambda: district.position()[0] == ids[-1] and district.sent()[-1:] == ids[-1:],
                           "every event shipped", timeout=20)
                return ids

            ids = issue(6)
            assert district.events() == ids == district.sent()  # each once: one process shipped
            [leader] = shippers(cluster)
            other = next(p for p in cluster.processes if p is not leader)
            # the district committed before it answered: the leader knows once that answer is read
            eventually(lambda: district_of(cluster, leader)["behind_events"] == 0, "the leader caught up")
            idle = district_of(cluster, other)
            assert not idle["ships"] and idle["last_known_at"] is not None  # it has not asked the district: not its job
            eventually(lambda: district_of(cluster, other)["through"] == ids[-1], "the confirmed position shown")
            cluster.kill(leader)
            eventually(lambda: shippers(cluster) == [other], "the other process ships", timeout=20)
            ids = issue(4)
            assert district.events() == ids and sorted(set(district.sent())) == ids
            eventually(lambda: district_of(cluster, other)["behind_events"] == 0, "the new leader caught up")
    finally:
        district.close()
