"""Decaying per-key limits over the hall clock, instead of locks anyone could trigger: failed logins per address
and per typed username, tickets and check-ins per device. The API decides what a key is.

What each key has spent is kept by a tally: in this process's memory when it is the hall's only process, in Redis
when several serve the hall (``[server] message_queue``), so a kiosk or a password guesser gets one allowance
from all of them together, not one from each."""

from __future__ import annotations

import hashlib
import logging
import math
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from server.clock import Clock
from server.queue import DomainError

if TYPE_CHECKING:
    import redis
    from redis.commands.core import Script

log = logging.getLogger(__name__)
T = TypeVar("T")
#: keys kept at most in memory; beyond, the ones whose allowance has come back in full are forgotten (a flood from
#: ever-new addresses or usernames must not grow memory without end). Redis forgets each key by itself once full
MAX_KEYS = 10_000
#: seconds a limit waits for Redis: a kiosk's ticket must not hang on it
REDIS_TIMEOUT = 0.5
#: how long the limits stay in memory after Redis failed to answer, before it is asked again (hall clock)
REDIS_RETRY = timedelta(seconds=5)
#: between two warnings that the limits are counted in memory: one a minute, not one per request
WARN_EVERY = timedelta(minutes=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: what a count asks: ``wait`` spends nothing, ``take`` spends one when allowed, ``spend`` spends one anyway
How = Literal["wait", "take", "spend"]


class Throttled(DomainError):
    """A 429: too many attempts from this address, for this name or from this device; try again later."""

    def __init__(self, code: str, message: str, retry_after: float):
        super().__init__("too_many", code, message)
        #: whole seconds until an attempt is allowed again (the Retry-After header)
        self.retry_after = max(1, math.ceil(retry_after))


class Tally(Protocol):
    """What each key of one bucket has spent, and when that was counted."""

    def count(self, key: str, how: How, now: datetime, burst: int, per_second: float) -> float:
        """Seconds until ``key`` may spend again as it stood before this count (0 or less: now)."""


#: the tally of the bucket of that name ("login-address", "kiosk-tickets", ...)
Tallies = Callable[[str], Tally]


class TokenBucket:
    """Each key may spend ``burst`` at once, then one every ``60 / per_minute`` seconds: what it spent comes back
    with time, so a count of failures decays by itself and nothing stays locked."""

    def __init__(self, clock: Clock, burst: int, per_minute: float, tally: Tally | None = None):
        self.clock = clock
        self.burst = burst
        self.per_second = per_minute / 60
        self.tally = tally or MemoryTally()

    def wait(self, key: str) -> float:
        """Seconds until ``key`` may spend again (0: now)."""
        return self._count(key, "wait")

    def take(self, key: str) -> float:
        """Spend one for ``key`` when it may (0), else the seconds until it may (nothing spent)."""
        return self._count(key, "take")

    def spend(self, key: str) -> None:
        """Count one attempt of ``key`` (a failed login, an issued ticket)."""
        self._count(key, "spend")

    def _count(self, key: str, how: How) -> float:
        return max(0.0, self.tally.count(key, how, self.clock.now(), self.burst, self.per_second))


class MemoryTally:
    """One bucket in this process's memory: the hall's only process, or one whose Redis does not answer."""

    def __init__(self) -> None:
        self._spent: dict[str, tuple[float, datetime]] = {}  # key: (tokens spent, when last counted)
        self._lock = threading.Lock()

    def count(self, key: str, how: How, now: datetime, burst: int, per_second: float) -> float:
        with self._lock:
            owed = self._owed(key, now, per_second)
            wait = (owed + 1 - burst) / per_second
            if how == "spend" or (how == "take" and wait <= 0):
                if len(self._spent) >= MAX_KEYS and key not in self._spent:
                    self._forget(now, per_second)
                self._spent[key] = (owed + 1, now)
        return wait

    def _owed(self, key: str, now: datetime, per_second: float) -> float:
        spent, at = self._spent.get(key, (0.0, now))
        return max(0.0, spent - max(0.0, (now - at).total_seconds()) * per_second)

    def _forget(self, now: datetime, per_second: float) -> None:
        for key in [k for k in self._spent if self._owed(k, now, per_second) == 0]:
            del self._spent[key]
        while len(self._spent) >= MAX_KEYS:  # all of them still owe: the oldest go first
            del self._spent[next(iter(self._spent))]


def in_memory(_bucket: str) -> Tally:
    """Tallies of the hall's only process."""
    return MemoryTally()


#: MemoryTally's count in one step on the Redis server, so two processes never both read, then both write. KEYS[1]:
#: the key's hash (s: tokens spent, t: when last counted, in whole microseconds as the hall clock's datetimes, so
#: the arithmetic is MemoryTally's to the last bit); ARGV: now, burst, per second, how. It expires when its
#: allowance is back in full. The wait is returned as a string: Redis would cut a Lua number down to an integer.
#: Each process gives its own clock's time: machines a second apart shift a key's refill by that second at most
_COUNT = """
local now, burst, rate = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 's', 't')
local owed = 0
if state[1] then
  owed = math.max(0, tonumber(state[1]) - math.max(0, (now - tonumber(state[2])) / 1e6) * rate)
end
local wait = (owed + 1 - burst) / rate
if ARGV[4] == 'spend' or (ARGV[4] == 'take' and wait <= 0) then
  owed = owed + 1
  redis.call('HSET', KEYS[1], 's', owed, 't', now)
  redis.call('PEXPIRE', KEYS[1], math.ceil(owed / rate * 1000))
end
return string.format('%.17g', wait)
"""


class RedisTallies:
    """The buckets of one hall in Redis, shared by all its processes: keys under the hall's channel
    (server.cluster.channel_of) and the bucket's name. While Redis does not answer, each process counts in its own
    memory (a warning a minute says so) and asks Redis again after REDIS_RETRY: refusing every login would
    lock the staff out, and a kiosk's limit per process is what the hall had before it had several.

    Nothing connects, nor is redis-py imported, before the first count: the CLI opens the same hall and never counts.
    """

    def __init__(self, url: str, channel: str):
        self.url = url
        self.prefix = f"{channel}:limits"
        self._asked_after = _EPOCH  # while Redis does not answer, it is asked again from then on
        self._warned_at: datetime | None = None

    def __call__(self, bucket: str) -> Tally:
        return RedisTally(self, bucket)

    @cached_property
    def client(self) -> redis.Redis:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        return redis.Redis.from_url(self.url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT,
                                    retry=Retry(NoBackoff(), 1))  # once more (Redis restarted), then memory

    @cached_property
    def _script(self) -> Script:
        return self.client.register_script(_COUNT)  # EVALSHA; loaded again when Redis restarted without it

    def count(self, bucket: str, key: str, how: How, now: datetime, burst: int, per_second: float) -> float | None:
        """The count in Redis; None while Redis does not answer."""
        import redis

        if now < self._asked_after:
            return None
        digest = hashlib.blake2b(key.encode(), digest_size=12).hexdigest()  # a name typed by anyone stays out
        microseconds = (now - _EPOCH) // timedelta(microseconds=1)
        try:
            wait = float(self._script(keys=[f"{self.prefix}:{bucket}:{digest}"],
                                      args=[microseconds, burst, per_second, how]))
        except redis.RedisError as exc:
            self._asked_after = now + REDIS_RETRY
            if self._warned_at is None or now >= self._warned_at + WARN_EVERY:
                self._warned_at = now
                log.warning("Redis does not answer (%s): kiosk and login limits are counted by each process alone "
                            "until it does", exc)
            return None
        if self._asked_after > _EPOCH:
            self._asked_after = _EPOCH
            log.info("Redis answers again: kiosk and login limits are shared by the hall's processes")
        return wait


class RedisTally:
    """One bucket of RedisTallies, counted in this process's memory while Redis does not answer."""

    def __init__(self, shared: RedisTallies, bucket: str):
        self.shared = shared
        self.bucket = bucket
        self.fallback = MemoryTally()

    def count(self, key: str, how: How, now: datetime, burst: int, per_second: float) -> float:
        wait = self.shared.count(self.bucket, key, how, now, burst, per_second)
        return self.fallback.count(key, how, now, burst, per_second) if wait is None else wait


def tallies_of(message_queue: str, channel: str) -> Tallies:
    """The hall's tallies: in Redis when several processes serve it (``message_queue``), else in memory."""
    return RedisTallies(message_queue, channel) if message_queue else in_memory


class DeviceLimits:
    """What one kiosk may ask for: tickets and check-ins (a burst, then a few a minute, from the config), and
    check-ins that found nothing (a few, then two a minute: 6-digit codes cannot be tried one after another)."""

    MISSES = (10, 2)

    def __init__(self, clock: Clock, burst: int, per_minute: int, tallies: Tallies = in_memory):
        self.tickets = TokenBucket(clock, burst, per_minute, tallies("kiosk-tickets"))
        self.misses = TokenBucket(clock, *self.MISSES, tallies("kiosk-misses"))

    def ticket(self, device: str) -> None:
        """Count a ticket (or a check-in) asked for by ``device``; a 429 when it asks faster than allowed."""
        _refuse_for(self.tickets.take(device))

    def check_in(self, device: str) -> None:
        """A check-in attempt: refused while the device's misses are spent, else counted like a ticket."""
        _refuse_for(self.misses.wait(device))
        self.ticket(device)

    def missed(self, device: str) -> None:
        """A check-in that found no appointment to check in."""
        self.misses.spend(device)


def _refuse_for(wait: float) -> None:
    """The kiosk's one answer when it asks too fast: it says nothing of codes, phones or what exists."""
    if wait:
        raise Throttled("too_many_requests", "操作过于频繁，请稍后再试，或到导询台咨询", wait)


class Gate:
    """At most ``limit`` blocking jobs (password hashes) at a time, run by ``run_blocking`` (a thread pool under
    gevent); one more is refused at once (429, Retry-After 1) rather than queued behind them for ever.

    Per process, even when several serve the hall: it bounds this process's CPU, which the others do not share."""

    def __init__(self, limit: int, run_blocking: Callable[[Callable[[], Any]], Any] | None = None):
        self.limit = limit
        self.run_blocking = run_blocking or (lambda job: job())
        self._slots = threading.BoundedSemaphore(limit)

    def run(self, job: Callable[[], T]) -> T:
        if not self._slots.acquire(blocking=False):
            raise Throttled("login_busy", "登录繁忙，请稍后再试", 1)
        try:
            return self.run_blocking(job)
        finally:
            self._slots.release()
