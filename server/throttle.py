"""Decaying per-key limits over the hall clock, instead of locks anyone could trigger: failed logins per address
and per typed username, tickets and check-ins per device. Plain Python: the API decides what a key is."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from server.clock import Clock
from server.queue import DomainError

T = TypeVar("T")
#: keys kept at most; beyond, the ones whose allowance has come back in full are forgotten (a flood from
#: ever-new addresses or usernames must not grow memory without end)
MAX_KEYS = 10_000


class Throttled(DomainError):
    """A 429: too many attempts from this address, for this name or from this device; try again later."""

    def __init__(self, code: str, message: str, retry_after: float):
        super().__init__("too_many", code, message)
        #: whole seconds until an attempt is allowed again (the Retry-After header)
        self.retry_after = max(1, math.ceil(retry_after))


class TokenBucket:
    """Each key may spend ``burst`` at once, then one every ``60 / per_minute`` seconds: what it spent comes back
    with time, so a count of failures decays by itself and nothing stays locked."""

    def __init__(self, clock: Clock, burst: int, per_minute: float):
        self.clock = clock
        self.burst = burst
        self.per_second = per_minute / 60
        self._spent: dict[str, tuple[float, datetime]] = {}  # key: (tokens spent, when last counted)
        self._lock = threading.Lock()

    def wait(self, key: str) -> float:
        """Seconds until ``key`` may spend again (0: now)."""
        with self._lock:
            owed = self._owed(key, self.clock.now()) + 1 - self.burst
        return max(0.0, owed / self.per_second)

    def take(self, key: str) -> float:
        """Spend one for ``key`` when it may (0), else the seconds until it may (nothing spent)."""
        now = self.clock.now()
        with self._lock:
            wait = (self._owed(key, now) + 1 - self.burst) / self.per_second
            if wait <= 0:
                self._count(key, now)
        return max(0.0, wait)

    def spend(self, key: str) -> None:
        """Count one attempt of ``key`` (a failed login, an issued ticket)."""
        now = self.clock.now()
        with self._lock:
            self._count(key, now)

    def _count(self, key: str, now: datetime) -> None:
        if len(self._spent) >= MAX_KEYS and key not in self._spent:
            self._forget(now)
        self._spent[key] = (self._owed(key, now) + 1, now)

    def _owed(self, key: str, now: datetime) -> float:
        spent, at = self._spent.get(key, (0.0, now))
        return max(0.0, spent - max(0.0, (now - at).total_seconds()) * self.per_second)

    def _forget(self, now: datetime) -> None:
        for key in [k for k in self._spent if self._owed(k, now) == 0]:
            del self._spent[key]
        while len(self._spent) >= MAX_KEYS:  # all of them still owe: the oldest go first
            del self._spent[next(iter(self._spent))]


class DeviceLimits:
    """What one kiosk may ask for: tickets and check-ins (a burst, then a few a minute, from the config), and
    check-ins that found nothing (a few, then two a minute: 6-digit codes cannot be tried one after another)."""

    MISSES = (10, 2)

    def __init__(self, clock: Clock, burst: int, per_minute: int):
        self.tickets = TokenBucket(clock, burst, per_minute)
        self.misses = TokenBucket(clock, *self.MISSES)

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
    gevent); one more is refused at once (429, Retry-After 1) rather than queued behind them for ever."""

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
