"""Several `hallq run` processes serving one hall: which of them runs each background job, and the domain events
each must hear from the others.

One process (no message queue) is the only one: it leads every job and hears every event itself. With
``[server] message_queue`` (or HALLQ_MESSAGE_QUEUE) pointing to Redis and the database on PostgreSQL:

- **Leadership by PostgreSQL advisory locks.** Each background job (the hall's ticker, the snapshot broadcast, the
  spooler of each printer) is a session-level advisory lock that one process holds on a connection of its own,
  kept for as long as it lives. PostgreSQL releases a session's locks the moment its connection ends, so a process
  that is killed (its socket closed by the kernel) gives up every job at once, and another takes each one at its
  next try, within ``TRY_EVERY`` seconds. Chosen over a lock in Redis: a lease in Redis must be renewed before it
  expires, and a process paused past its lease (a long GC, a stalled VM) would work on beside its successor;
  PostgreSQL's lock lasts exactly as long as its holder's connection, needs no clock, and lives in the database
  the jobs write to anyway.
- **Events over Redis.** The domain events a process publishes (after their transaction commits) go to the
  others through a Redis channel of the hall's own, so the leader of a printer hears a ticket issued elsewhere,
  the snapshot's leader hears every change, and every process closes the sockets of a revoked device or an
  ended session. Socket.IO's own pushes cross through Flask-SocketIO's message queue on the same Redis.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import socket
import zlib
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import NullPool

from server.events import EventBus, HallEvent, from_wire, to_wire

log = logging.getLogger(__name__)

TICKER = "ticker"  # 延时服务 start and end, appointments forfeited, 未评价 recorded
SNAPSHOT = "snapshot"  # the coalesced snapshot broadcast to every screen
DISTRICT = "district"  # the event log shipped to the district (server/shipper.py)
#: events relayed before the request that made them is answered: each asks for a paper a resident will wait for
SENT_AT_ONCE = frozenset({"issued", "reprint_requested"})
TRY_EVERY = 1.0  # seconds between two attempts at the jobs a process does not lead (and a check of those it does)
#: how the hall's processes connect to Redis: give up connecting after 2 s, notice a dead peer by keepalives
REDIS_OPTIONS = {"socket_connect_timeout": 2.0, "socket_keepalive": True, "health_check_interval": 10}
#: the two-key advisory locks of hallq's jobs: this first key ("hall"), the job's CRC-32 the second
_LOCK_SPACE = 0x68616C6C


def printer_job(name: str) -> str:
    """The job of one printer's spooler: its prints and its status reads."""
    return f"printer:{name}"


def process_name() -> str:
    """How the health page and the logs name this process: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def channel_of(database_url: str) -> str:
    """The Redis channel prefix of one hall: halls sharing a Redis server (one per database) never hear each
    other."""
    url = make_url(database_url)
    return f"hallq-{zlib.crc32(f'{url.host}:{url.port}/{url.database}'.encode()):08x}"


class Leadership(Protocol):
    def holds(self, job: str) -> bool:
        """Whether this process runs ``job`` now."""

    def start(self, spawn: Callable[[Callable[[], None]], Any]) -> None: ...

    def stop(self) -> None: ...

    def on_gain(self, listener: Callable[[str], None]) -> None:
        """``listener(job)`` runs when this process takes a job over."""

    def to_json(self) -> dict[str, Any]: ...


class SoleProcess:
    """The only process of the hall: it runs every job."""

    def holds(self, job: str) -> bool:
        return True

    def start(self, spawn: Callable[[Callable[[], None]], Any]) -> None:
        pass

    def stop(self) -> None:
        pass

    def on_gain(self, listener: Callable[[str], None]) -> None:
        pass

    def to_json(self) -> dict[str, Any]:
        return {"process": process_name(), "processes": "one", "leads": "all"}


class AdvisoryLocks:
    """Leadership over PostgreSQL: each job a session-level advisory lock on this process's own connection."""

    def __init__(self, database_url: str, jobs: Iterable[str], sleep: Callable[[float], None],
                 try_every: float = TRY_EVERY):
        # a connection of its own, outside the pool: the pool would recycle it and so drop the locks
        self.engine = create_engine(database_url, poolclass=NullPool,
                                    connect_args={"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
                                                  "keepalives_count": 3, "application_name": "hallq-leader"})
        self.jobs = tuple(jobs)
        self.sleep = sleep
        self.try_every = try_every
        self.held: set[str] = set()
        self._connection: Connection | None = None
        self._listeners: list[Callable[[str], None]] = []
        self._running = True

    def holds(self, job: str) -> bool:
        return job in self.held

    def on_gain(self, listener: Callable[[str], None]) -> None:
        self._listeners.append(listener)

    def start(self, spawn: Callable[[Callable[[], None]], Any]) -> None:
        self.attempt()  # the first process up leads from its first request on
        spawn(self._run)

    def stop(self) -> None:
        self._running = False
        self._drop()

    def to_json(self) -> dict[str, Any]:
        return {"process": process_name(), "processes": "several", "leads": sorted(self.held)}

    def _run(self) -> None:
        while self._running:
            self.sleep(self.try_every)
            if self._running:
                self.attempt()

    def attempt(self) -> None:
        """Check the jobs held (the connection still answers), try each job not held; any database error gives up
        every job at once (whoever holds the locks now, it may not be this process)."""
        gained = []
        try:
            if self._connection is None:
                self._connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self._connection.execute(text("SELECT 1"))
            for job in self.jobs:
                if job not in self.held and self._connection.scalar(
                        text("SELECT pg_try_advisory_lock(:space, :job)"),
                        {"space": _LOCK_SPACE, "job": _job_key(job)}):
                    self.held.add(job)
                    gained.append(job)
        except Exception as exc:
            if self.held:
                log.warning("leadership lost (%s): %s", ", ".join(sorted(self.held)), exc)
            self._drop()
            return
        for job in gained:
            log.info("process %s now runs %s", process_name(), job)
            for listener in self._listeners:
                try:
                    listener(job)
                except Exception:
                    log.exception("taking over %s failed", job)

    def _drop(self) -> None:
        self.held.clear()
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:  # already broken: nothing to give back, PostgreSQL released the locks with it
                log.debug("leadership connection was already gone", exc_info=True)
            self._connection = None


def _job_key(job: str) -> int:
    return zlib.crc32(job.encode()) & 0x7FFFFFFF  # PostgreSQL's int4


class Relay(Protocol):
    def start(self, spawn: Callable[[Callable[[], None]], Any]) -> None: ...

    def stop(self) -> None: ...


class RedisRelay:
    """The domain events of this process to the others, and theirs to this process's bus (``bus.receive``), over a
    Redis channel of the hall's. Sent from a queue by a background task: a request never waits for Redis."""

    def __init__(self, redis_url: str, channel: str, bus: EventBus, sleep: Callable[[float], None],
                 queued: bool = True):
        """``queued``: sent by the background task (a server); else at once, by whoever publishes (the CLI)."""
        import redis

        self.client = redis.Redis.from_url(redis_url, **REDIS_OPTIONS)
        self.channel = f"{channel}:events"
        self.bus = bus
        self.sleep = sleep
        self.origin = process_name()
        self._outbox: queue.Queue[list[HallEvent] | None] = queue.Queue()
        self._running = True
        bus.subscribe_batches(self._accept if queued else self.send)

    def _accept(self, events: list[HallEvent]) -> None:
        """A paper to print is sent before the kiosk is answered (~0.1 ms): were this process killed just after
        answering, the printer's leader must already know of it. The rest goes from the queue."""
        if any(event.kind in SENT_AT_ONCE for event in events):
            self.send(events)
        else:
            self._outbox.put(events)

    def start(self, spawn: Callable[[Callable[[], None]], Any]) -> None:
        spawn(self._send)
        spawn(self._listen)

    def stop(self) -> None:
        self._running = False
        self._outbox.put(None)

    def _send(self) -> None:
        while self._running:
            events = self._outbox.get()
            if events is None:
                return
            self.send(events)

    def send(self, events: list[HallEvent]) -> None:
        """Publish now (the CLI: `hallq device revoke` closes the device's sockets on every server process)."""
        message = json.dumps({"from": self.origin, "events": [to_wire(e) for e in events]}, ensure_ascii=False,
                             default=str)
        for attempt in range(3):
            try:
                self.client.publish(self.channel, message)
                return
            except Exception as exc:  # Redis restarting: a few tries, then the other processes miss it
                log.warning("events not sent to the other processes (try %d): %s", attempt + 1, exc)
                self.sleep(0.2 * (attempt + 1))

    def _listen(self) -> None:
        while self._running:
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self.channel)
                for message in pubsub.listen():
                    if not self._running:
                        return
                    self._deliver(message.get("data"))
            except Exception as exc:
                log.warning("listening to the other processes failed, again in 1 s: %s", exc)
                self.sleep(1.0)
            finally:
                pubsub.close()

    def _deliver(self, data: Any) -> None:
        try:
            message = json.loads(data)
            if message.get("from") == self.origin:
                return
            events = [from_wire(event) for event in message["events"]]
        except (TypeError, ValueError, KeyError):
            log.warning("a message on %s was not events of hallq: ignored", self.channel)
            return
        self.bus.receive(events)


class LocalRelay:
    """One process: nothing to relay."""

    def start(self, spawn: Callable[[Callable[[], None]], Any]) -> None:
        pass

    def stop(self) -> None:
        pass


def jobs_of(printers: Iterable[str], ships: bool = False) -> list[str]:
    """Every background job of a hall with these printers (``ships``: and a [district] to ship its events to)."""
    return [TICKER, SNAPSHOT, *([DISTRICT] if ships else []), *(printer_job(name) for name in printers)]

