"""Two real `hallq run` processes of one hall (PostgreSQL + Redis), with the hall's real kiosk limits: a kiosk and
a password guesser get one allowance from both together, not one from each (issue 18)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests

from server.auth import LOGIN_PER_ADDRESS
from server.cluster import channel_of
from server.config import load_config
from tests.conftest import scratch_postgres
from tests.live import LiveHall

pytestmark = pytest.mark.slow

REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[tuple[LiveHall, LiveHall]]:
    """Two processes of a hall on a scratch database (so a scratch Redis channel), the demo config's limits."""
    with scratch_postgres() as url:
        first = LiveHall(tmp_path / "instance", database_url=url, unthrottled=False)
        first.environ["HALLQ_MESSAGE_QUEUE"] = REDIS
        second = first.prepare().sibling()
        try:
            first.start()
            second.start()
            yield first, second
            for live in (first, second):
                assert "counted by each process alone" not in live.log_path.read_text(), "Redis was not used"
        finally:
            second.stop()
            first.stop()
            client = redis.Redis.from_url(REDIS)
            for key in client.scan_iter(f"{channel_of(url)}:limits:*"):
                client.delete(key)


def test_a_kiosks_burst_is_shared_by_the_processes(processes: tuple[LiveHall, LiveHall]) -> None:
    burst = load_config(processes[0].config).server.kiosk_burst  # 20, then one every 10 s
    kiosks = [(live.url, live.kiosk()) for live in processes]
    for i in range(burst):  # alternately: each process alone would still allow another `burst / 2`
        url, kiosk = kiosks[i % 2]
        answer = kiosk.post(f"{url}/api/tickets", json={"service": "hukou-id"})
        assert answer.status_code == 201, answer.text
    for url, kiosk in kiosks:
        refused = kiosk.post(f"{url}/api/tickets", json={"service": "hukou-id"})
        assert refused.status_code == 429, f"ticket {burst + 1} from {url}: {refused.status_code} {refused.text}"
        assert refused.json()["error"]["code"] == "too_many_requests" and int(refused.headers["Retry-After"]) >= 1


def test_failed_logins_spread_over_the_processes_are_counted_together(processes: tuple[LiveHall, LiveHall]) -> None:
    at_once = LOGIN_PER_ADDRESS[0]  # 10 from one address, then one every 30 s
    for i in range(at_once):  # a guesser at 127.0.0.1, a new name each time, on either process
        live = processes[i % 2]
        answer = requests.post(f"{live.url}/api/auth/login", json={"username": f"guess-{i}", "password": "wrong-1"})
        assert answer.status_code == 401, answer.text
    for live in processes:  # even the right password, from that address, on either
        refused = requests.post(f"{live.url}/api/auth/login",
                                json={"username": "clerk1", "password": live.passwords["clerk1"]})
        assert refused.status_code == 429, f"login {at_once + 1} on {live.url}: {refused.status_code} {refused.text}"
        assert refused.json()["error"]["code"] == "too_many_attempts"
