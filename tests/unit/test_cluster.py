"""server/cluster.py against the real PostgreSQL and Redis: leadership by advisory locks, events relayed between
the processes of one hall, and the start-up checks of a message queue."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

from server import cluster
from server.cluster import AdvisoryLocks, RedisRelay, SoleProcess
from server.config import ConfigError
from server.events import EventBus, HallEvent, TicketView, from_wire, to_wire
from server.hall import Hall, Settings
from tests.conftest import SMALL_HALL, scratch_postgres

REDIS = "redis://127.0.0.1:6379/0"
AT = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)


def _eventually(condition: Callable[[], bool], what: str, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {what}")
        time.sleep(0.02)


def _attempted(locks: AdvisoryLocks) -> set[str]:
    """The jobs held after one more try (a closed session's locks go a moment after its socket closes)."""
    locks.attempt()
    return locks.held


def _thread(target: Callable[[], None]) -> None:
    threading.Thread(target=target, daemon=True).start()


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    with scratch_postgres() as url:
        yield url


def test_the_only_process_leads_every_job() -> None:
    sole = SoleProcess()
    assert sole.holds(cluster.TICKER) and sole.holds(cluster.printer_job("前台"))
    assert sole.to_json()["leads"] == "all"


def test_each_job_has_one_leader_and_moves_when_its_connection_ends(database: str) -> None:
    jobs = cluster.jobs_of(["kiosk-printer"])
    first, second = (AdvisoryLocks(database, jobs, time.sleep) for _ in range(2))
    gained: list[str] = []
    second.on_gain(gained.append)
    try:
        first.attempt()
        second.attempt()
        assert first.held == set(jobs) and second.held == set()
        first.stop()  # its connection closes, as a killed process's does: PostgreSQL releases the locks
        _eventually(lambda: _attempted(second) == set(jobs), "the second takes every job once the first is gone")
        assert sorted(gained) == sorted(jobs)
        assert second.to_json()["leads"] == sorted(jobs)
    finally:
        first.stop()
        second.stop()


def test_a_broken_connection_gives_every_job_up(database: str) -> None:
    locks = AdvisoryLocks(database, [cluster.TICKER], time.sleep)
    other = AdvisoryLocks(database, [cluster.TICKER], time.sleep)
    try:
        locks.attempt()
        assert locks.holds(cluster.TICKER)
        assert locks._connection is not None
        locks._connection.invalidate()  # the database went away under it
        locks.attempt()
        assert not locks.holds(cluster.TICKER)  # whoever holds the lock now, it may not be this process
        _eventually(lambda: cluster.TICKER in _attempted(other), "the other takes the job")
        locks.attempt()
        assert not locks.holds(cluster.TICKER)  # back, but the job has its leader
    finally:
        locks.stop()
        other.stop()


def test_the_leader_of_each_job_is_tried_again_in_the_background(database: str) -> None:
    first = AdvisoryLocks(database, [cluster.SNAPSHOT], time.sleep, try_every=0.05)
    second = AdvisoryLocks(database, [cluster.SNAPSHOT], time.sleep, try_every=0.05)
    try:
        first.start(_thread)
        second.start(_thread)
        assert first.holds(cluster.SNAPSHOT) and not second.holds(cluster.SNAPSHOT)
        first.stop()
        _eventually(lambda: second.holds(cluster.SNAPSHOT), "the second process takes the snapshot over")
    finally:
        first.stop()
        second.stop()


def _ticket() -> TicketView:
    return TicketView(id=7, number="A012", service="hukou-id", service_name="居民身份证核发", status="waiting",
                      priority=None, waiting_ahead=3, issued_at=AT, called_at=None, window=None, recalls=0,
                      channel="kiosk", track_token="secret-token", windows_text="1号窗口")


def test_an_event_crosses_the_wire_whole() -> None:
    event = HallEvent("issued", AT, _ticket(), actor="device:kiosk-1", detail={"printer": "前台"})
    back = from_wire(to_wire(event))
    assert back == event
    assert back.ticket is not None and back.ticket.track_token == "secret-token"  # the printer's leader needs it


def test_events_reach_the_other_processes_once_and_not_their_own() -> None:
    channel = f"hallq-test-{uuid.uuid4().hex[:8]}"
    buses = [EventBus(), EventBus()]
    heard: list[list[str]] = [[], []]
    for bus, log in zip(buses, heard, strict=True):
        bus.subscribe(lambda e, log=log: log.append(f"local {e.kind}"), remote=True)
    relays = [RedisRelay(REDIS, channel, bus, time.sleep) for bus in buses]
    for relay in relays:
        relay.origin += f"-{id(relay)}"  # two processes, though both live in this one
        relay.start(_thread)
    try:
        _eventually(lambda: all(relay.client.pubsub_numsub(relay.channel)[0][1] == 2 for relay in relays),
                    "both processes listening")
        buses[0].publish([HallEvent("issued", AT, _ticket(), actor="device:kiosk-1")])
        _eventually(lambda: heard[1] == ["local issued"], "the other process hears the event")
        assert heard[0] == ["local issued"]  # its own subscribers, once, from the bus itself
        buses[1].publish([HallEvent("signed_in", AT, window_id=2)])
        _eventually(lambda: heard[0][-1:] == ["local signed_in"], "the first process hears the second")
        assert heard[1] == ["local issued", "local signed_in"]
    finally:
        for relay in relays:
            relay.stop()


def test_a_message_that_is_not_ours_is_ignored() -> None:
    bus = EventBus()
    heard: list[HallEvent] = []
    bus.subscribe_remote(heard.append)
    relay = RedisRelay(REDIS, "hallq-test-garbage", bus, time.sleep)
    relay._deliver(b"not json")
    relay._deliver(b'{"from": "elsewhere", "events": [{"kind": "issued"}]}')
    assert heard == []
    relay.client.close()


def test_halls_sharing_a_redis_have_channels_of_their_own() -> None:
    a = cluster.channel_of("postgresql+psycopg://postgres@127.0.0.1:5432/hall_a")
    b = cluster.channel_of("postgresql+psycopg://postgres@127.0.0.1:5432/hall_b")
    assert a != b and a == cluster.channel_of("postgresql+psycopg://other@127.0.0.1:5432/hall_a")


@pytest.fixture
def small_config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(SMALL_HALL, encoding="utf-8")
    return path


def test_a_message_queue_on_sqlite_is_refused_naming_the_key(tmp_path: Path, small_config: Path) -> None:
    settings = Settings.resolve(small_config, tmp_path / "instance")
    with pytest.raises(ConfigError, match=r"server\.message_queue.*PostgreSQL"):
        Hall.open(Settings(**{**settings.__dict__, "message_queue": REDIS}))
    assert not (tmp_path / "instance" / "hallq.db").exists()  # refused before any database was made


def test_a_message_queue_that_is_not_redis_is_refused(tmp_path: Path, small_config: Path) -> None:
    settings = Settings.resolve(small_config, tmp_path / "instance", "postgresql+psycopg://postgres@127.0.0.1/x")
    with pytest.raises(ConfigError, match=r"HALLQ_MESSAGE_QUEUE.*redis://"):
        Hall.open(Settings(**{**settings.__dict__, "message_queue": "amqp://guest@127.0.0.1"}))


def test_redis_is_really_there() -> None:
    """The tests above need Redis; say so plainly when it is missing rather than fail in a thread."""
    assert redis.Redis.from_url(REDIS).ping()
