"""The limits' tallies (server/throttle.py): in memory for one process, in the real Redis for several, on the hall's
injected clock. The behaviour is the same in both; only Redis is shared between processes and kept apart per hall."""

from __future__ import annotations

import logging
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import redis

from server import throttle
from server.auth import Accounts
from server.clock import ManualClock
from server.db import Storage
from server.queue import DomainError
from server.throttle import DeviceLimits, MemoryTally, RedisTallies, Tallies, Throttled, TokenBucket, in_memory
from tests.live import free_port

REDIS = "redis://127.0.0.1:6379/0"


def scratch_channel() -> str:
    """A hall of its own on the shared Redis (a scratch database's channel, as server.cluster.channel_of makes)."""
    return f"hallq-test-{uuid.uuid4().hex[:12]}"


def keys_of(channel: str) -> list[bytes]:
    return sorted(redis.Redis.from_url(REDIS).keys(f"{channel}:*"))


def forget(channel: str) -> None:
    """Remove a scratch hall's keys (they would expire by themselves within minutes)."""
    for key in keys_of(channel):
        redis.Redis.from_url(REDIS).delete(key)


@pytest.fixture
def shared_redis() -> Iterator[str]:
    """The machine's Redis with a scratch hall channel, its keys removed after the test."""
    client = redis.Redis.from_url(REDIS)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        pytest.skip(f"Redis pass skipped: no server answers at {REDIS} ({exc})")
    client.close()
    channel = scratch_channel()
    yield channel
    forget(channel)


@pytest.fixture(params=["memory", "redis"])
def tallies(request: pytest.FixtureRequest) -> Tallies:
    """Where one process counts: its memory (the hall's only process) or the hall's Redis (one of several)."""
    if request.param == "memory":
        return in_memory
    return RedisTallies(REDIS, request.getfixturevalue("shared_redis"))


def kiosk_bucket(clock: ManualClock, tallies: Tallies, name: str = "kiosk-tickets") -> TokenBucket:
    """Three at once, then one every 10 s."""
    return TokenBucket(clock, 3, 6, tallies(name))


# ---------------------------------------------------------------- the same in memory and in Redis

def test_a_key_spends_its_burst_then_one_every_interval(clock: ManualClock, tallies: Tallies) -> None:
    bucket = kiosk_bucket(clock, tallies)
    assert [bucket.take("kiosk-1") for _ in range(3)] == [0, 0, 0]
    assert bucket.take("kiosk-1") == pytest.approx(10)
    clock.advance(seconds=4)
    assert bucket.take("kiosk-1") == pytest.approx(6)  # refused: nothing spent, the wait goes on shrinking
    clock.advance(seconds=6)
    assert bucket.take("kiosk-1") == 0
    assert bucket.take("kiosk-1") == pytest.approx(10)
    assert bucket.take("kiosk-2") == 0  # another key has its own allowance
    clock.advance(seconds=30)
    assert [bucket.take("kiosk-1") for _ in range(4)] == [0, 0, 0, pytest.approx(10)]  # back in full, no more


def test_waiting_spends_nothing_and_spending_counts_past_the_burst(clock: ManualClock, tallies: Tallies) -> None:
    bucket = kiosk_bucket(clock, tallies, "login-name")
    assert bucket.wait("clerk2") == 0
    for _ in range(5):  # failed logins are counted whatever the allowance says
        bucket.spend("clerk2")
    assert bucket.wait("clerk2") == bucket.wait("clerk2") == pytest.approx(30)
    clock.advance(seconds=25)
    assert bucket.wait("clerk2") == pytest.approx(5)
    clock.advance(seconds=5)
    assert bucket.wait("clerk2") == 0


def test_a_clock_set_back_gives_nothing_back(clock: ManualClock, tallies: Tallies) -> None:
    bucket = kiosk_bucket(clock, tallies)
    for _ in range(3):
        bucket.take("kiosk-1")
    clock.advance(seconds=-60)
    assert bucket.take("kiosk-1") == pytest.approx(10)


def test_device_limits_count_tickets_and_check_in_misses_apart(clock: ManualClock, tallies: Tallies) -> None:
    limits = DeviceLimits(clock, 20, 6, tallies)
    for _ in range(10):  # ten codes that found nothing
        limits.check_in("kiosk-1")
        limits.missed("kiosk-1")
    with pytest.raises(Throttled) as refused:
        limits.check_in("kiosk-1")
    assert (refused.value.code, refused.value.retry_after) == ("too_many_requests", 30)
    for _ in range(10):  # tickets go on: ten of the twenty went to the check-ins
        limits.ticket("kiosk-1")
    with pytest.raises(Throttled):
        limits.ticket("kiosk-1")
    limits.check_in("kiosk-2")


# ---------------------------------------------------------------- memory: bounded

def test_memory_forgets_keys_back_in_full_first_then_the_oldest(clock: ManualClock,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throttle, "MAX_KEYS", 3)
    bucket = TokenBucket(clock, 1, 6, MemoryTally())
    bucket.spend("old")
    clock.advance(seconds=10)  # "old" is back in full
    bucket.spend("a")
    bucket.spend("b")
    bucket.spend("c")  # a fourth key: "old" goes, the others still owe
    assert [bucket.wait(key) for key in ("a", "b", "c")] == [pytest.approx(10)] * 3
    bucket.spend("d")  # all owe: the oldest, "a", goes
    assert [bucket.wait(key) for key in ("a", "b", "c", "d")] == [0, *[pytest.approx(10)] * 3]


# ---------------------------------------------------------------- Redis: shared, apart per hall, expiring

def test_two_processes_share_one_allowance(clock: ManualClock, shared_redis: str) -> None:
    one, other = (kiosk_bucket(clock, RedisTallies(REDIS, shared_redis)) for _ in range(2))
    assert [one.take("kiosk-1"), other.take("kiosk-1"), one.take("kiosk-1")] == [0, 0, 0]
    assert other.take("kiosk-1") == one.take("kiosk-1") == pytest.approx(10)
    clock.advance(seconds=10)
    assert other.take("kiosk-1") == 0
    assert one.take("kiosk-1") == pytest.approx(10)


def test_processes_taking_at_the_same_moment_never_get_more_than_the_burst(clock: ManualClock,
                                                                          shared_redis: str) -> None:
    buckets = [TokenBucket(clock, 8, 6, RedisTallies(REDIS, shared_redis)("kiosk-tickets")) for _ in range(2)]
    start = threading.Barrier(16)
    granted: list[bool] = []

    def ask(bucket: TokenBucket) -> None:
        start.wait(10)
        for _ in range(3):
            granted.append(bucket.take("kiosk-1") == 0)

    askers = [threading.Thread(target=ask, args=(buckets[i % 2],)) for i in range(16)]
    for asker in askers:
        asker.start()
    for asker in askers:
        asker.join(30)
    assert len(granted) == 48 and granted.count(True) == 8


def test_halls_and_buckets_on_one_redis_are_kept_apart(clock: ManualClock, shared_redis: str) -> None:
    other_hall = scratch_channel()
    try:
        here = RedisTallies(REDIS, shared_redis)
        for _ in range(3):
            kiosk_bucket(clock, here).take("kiosk-1")
        assert kiosk_bucket(clock, here).take("kiosk-1") > 0
        assert kiosk_bucket(clock, here, "kiosk-misses").take("kiosk-1") == 0  # another bucket of the hall
        assert kiosk_bucket(clock, RedisTallies(REDIS, other_hall)).take("kiosk-1") == 0  # another hall
    finally:
        forget(other_hall)


def test_a_key_expires_when_its_allowance_is_back_and_names_stay_out_of_redis(clock: ManualClock,
                                                                              shared_redis: str) -> None:
    bucket = kiosk_bucket(clock, RedisTallies(REDIS, shared_redis), "login-name")
    for _ in range(3):
        bucket.spend("王小红-typed-name")
    [key] = keys_of(shared_redis)
    assert key.startswith(f"{shared_redis}:limits:login-name:".encode()) and "王小红".encode() not in key
    assert 29_000 < redis.Redis.from_url(REDIS).pttl(key) <= 30_000  # three spent, one back every 10 s


# ---------------------------------------------------------------- Redis not answering

class PrivateRedis:
    """A redis-server of this test's own, on a free port, that the test may stop and start again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no"],
                                        stdout=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise AssertionError(f"redis-server on port {self.port} did not answer in 10 s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()


def test_redis_gone_each_process_counts_alone_and_says_so_once(clock: ManualClock, private_redis: PrivateRedis,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    channel = scratch_channel()
    bucket, sibling = (kiosk_bucket(clock, RedisTallies(private_redis.url, channel)) for _ in range(2))
    bucket.take("kiosk-1")
    private_redis.stop()
    with caplog.at_level(logging.WARNING, "server.throttle"):
        assert [bucket.take("kiosk-1") for _ in range(4)] == [0, 0, 0, pytest.approx(10)]  # memory's own three
        clock.advance(seconds=10)
        assert bucket.take("kiosk-1") == 0  # Redis asked again, still gone
    warnings = [record.getMessage() for record in caplog.records if record.name == "server.throttle"]
    assert len(warnings) == 1 and "counted by each process alone" in warnings[0]

    private_redis.start()  # empty: it kept nothing
    assert bucket.take("kiosk-1") == pytest.approx(10)  # within REDIS_RETRY: still memory
    clock.advance(seconds=throttle.REDIS_RETRY.total_seconds())
    assert [bucket.take("kiosk-1") for _ in range(3)] == [0, 0, 0]  # Redis again, shared with the sibling
    assert sibling.take("kiosk-1") == pytest.approx(10)


def test_a_closed_port_leaves_the_staff_able_to_log_in(tmp_path: Path, clock: ManualClock) -> None:
    storage = Storage(f"sqlite:///{tmp_path}/hallq.db")
    storage.create_schema()
    accounts = Accounts(storage, clock, tallies=RedisTallies(f"redis://127.0.0.1:{free_port()}/0", scratch_channel()))
    accounts.add_user("clerk1", "clerk", "clerk1-secret-pw")
    assert accounts.login("clerk1", "clerk1-secret-pw", "10.0.0.1").name == "clerk1"
    for _ in range(5):
        with pytest.raises(DomainError, match="用户名或密码错误"):
            accounts.login("clerk1", "a-wrong-guess", "10.0.0.2")
    with pytest.raises(Throttled):  # limited still, by this process's memory
        accounts.login("clerk1", "clerk1-secret-pw", "10.0.0.1")
    storage.dispose()


def test_failed_logins_on_two_processes_are_counted_together(tmp_path: Path, clock: ManualClock,
                                                             shared_redis: str) -> None:
    storage = Storage(f"sqlite:///{tmp_path}/hallq.db")
    storage.create_schema()
    one, other = (Accounts(storage, clock, tallies=RedisTallies(REDIS, shared_redis)) for _ in range(2))
    one.add_user("clerk2", "clerk", "clerk2-secret-pw")
    for i, accounts in enumerate((one, other, one, other, one)):
        with pytest.raises(DomainError, match="用户名或密码错误"):
            accounts.login("clerk2", "a-wrong-guess", f"10.0.0.{i}")
    for accounts in (one, other):
        with pytest.raises(Throttled):
            accounts.login("clerk2", "clerk2-secret-pw", "10.0.1.1")
    clock.advance(seconds=3)
    assert other.login("clerk2", "clerk2-secret-pw", "10.0.1.1").name == "clerk2"
    storage.dispose()


def test_time_is_the_halls_not_redis(shared_redis: str) -> None:
    """Far from the real time both ways, to the microsecond, the count follows the injected clock alone."""
    for start in (datetime.fromisoformat("2001-01-01T00:00:00+00:00"),
                  datetime.fromisoformat("2090-06-30T23:59:59.999999+00:00")):
        clock = ManualClock(start)
        bucket = kiosk_bucket(clock, RedisTallies(REDIS, shared_redis), f"kiosk-{start.year}")
        for _ in range(3):
            bucket.take("kiosk-1")
        clock.advance(seconds=10)
        assert bucket.take("kiosk-1") == 0
