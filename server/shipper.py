"""The hall's event log to the district (issue 19): batches after the event the district holds, in order.

The hall never waits for the district. One background task (in the one process leading job "district",
server/cluster.py) asks the district where its copy ends, reads the next batch (server/shipment.py ``collect``),
posts it and advances; the district applies each event once, so a replay after a restart or a lost answer costs
nothing. An outage is waited out with a backoff of 1, 2, 4 … 30 s on the hall's clock; a refused token is tried again
only every minute. ``state()`` says for /api/health how far behind the district is; the last position the district
acknowledged is kept in the instance folder (district.json), so a hall restarted while the district cannot be reached
says at once how far behind it was last known to be (the shipper still asks the district before it ships).

The token is sent in the Authorization header and nowhere else: no message, log line or health field holds it.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import requests
from sqlalchemy import func, select

from server.clock import Clock
from server.config import DistrictLink, HallConfig
from server.db import Storage, write_private
from server.models import TicketEvent
from server.shipment import Gaps, collect, figures_config

log = logging.getLogger(__name__)

EVENTS = "/district/api/v1/events"
THROUGH = "/district/api/v1/events/through"
#: seconds to connect to the district, and to wait for its answer (a hall's uplink may be slow, never this slow)
TIMEOUTS = (3.0, 10.0)
MAX_BACKOFF = 30.0  # seconds between two tries at most while the district cannot be reached
REFUSED_RETRY = 60.0  # seconds between two tries with a token the district refused
DEBOUNCE = 0.2  # seconds the task waits after an event, so a burst of events goes in one batch

#: the instance folder's file with the last position the district acknowledged: {"url", "code", "through", "at"}
POSITION_FILE = "district.json"

BAD_TOKEN = "令牌无效或已吊销，请向区级管理员核对 config.toml [district] token"
AHEAD = ("区级服务器已有本中心至第 {held} 条的事件，而本中心数据库最新为第 {newest} 条（是否恢复了较早的备份？）："
         "已停止上报，请联系区级管理员处理本中心的区级副本")
WRONG_HALL = "区级服务器不认可本中心代码，请核对 config.toml [district] code"


class Reply(NamedTuple):
    """The district's answer: its HTTP status and JSON body (None when the body was not JSON)."""

    status: int
    body: Any


#: ``send(method, path, body)``: one request to the district (body: JSON text, or None for a GET)
Send = Callable[[str, str, str | None], Reply]


class HttpLink:
    """The district over HTTP (requests: cooperative under gevent, which patches its sockets)."""

    def __init__(self, link: DistrictLink):
        self.url = link.url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {link.token}"
        self.session.headers["Content-Type"] = "application/json"

    def __call__(self, method: str, path: str, body: str | None) -> Reply:
        response = self.session.request(method, self.url + path, data=body.encode() if body else None,
                                        timeout=TIMEOUTS)
        try:
            return Reply(response.status_code, response.json())
        except ValueError:
            return Reply(response.status_code, None)


class Refused(Exception):
    """The district did not take the request; ``retry`` seconds until the next try (None: the backoff's)."""

    def __init__(self, message: str, retry: float | None = None):
        super().__init__(message)
        self.retry = retry


class Shipper:
    """Ships the hall's events to the district, one batch a step; ``run`` steps whenever the hall publishes and at
    least every ``interval_seconds``."""

    def __init__(self, storage: Storage, config: HallConfig, clock: Clock, config_path: Path, send: Send,
                 position: Path):
        self.storage = storage
        self.link = config.district
        self.zone = config.timezone
        self.clock = clock
        self.figures = figures_config(config_path)  # the rules the district computes the hall's figures by
        self.send = send
        self.gaps = Gaps()
        #: the last event the district holds; None until it said so (at the start, after a lost leadership)
        self.through: int | None = None
        self.position = position
        #: the last position the district acknowledged and when, as kept in ``position``
        self.known = _known_position(position, self.link)
        self.last_shipped_at: datetime | None = None
        self.last_error: str | None = None
        self._failures = 0
        self._retry_at: datetime | None = None
        self._posted_at: datetime | None = None
        self.wake = threading.Event()  # gevent's own once `hallq run` has patched threading
        self.running = True

    # ------------------------------------------------------------ one step

    def step(self) -> float:
        """Ship the next batch if one is due; the seconds until the next step is due (0: at once)."""
        now = self.clock.now()
        if self._retry_at is not None and now < self._retry_at:
            return (self._retry_at - now).total_seconds()
        try:
            delay = self._ship(now)
        except Refused as refused:
            return self._failed(now, str(refused), refused.retry)
        except requests.RequestException as exc:
            return self._failed(now, _unreachable(exc), None)
        if self.last_error is not None:
            log.info("district link back: the district holds events through %s", self.through)
        self.last_error, self._failures, self._retry_at = None, 0, None
        return delay

    def _ship(self, now: datetime) -> float:
        if self.through is None:
            self._acknowledged(_position(self.send("GET", THROUGH, None)), now)
            self._check_not_behind_the_district()
        with self.storage.read() as session:
            batch = collect(session, hall=self.link.code, config=self.figures, after=self.through,
                            limit=self.link.batch_events, now=now, gaps=self.gaps, zone=self.zone)
        since = None if self._posted_at is None else (now - self._posted_at).total_seconds()
        if not batch.events and since is not None and since < self.link.interval_seconds:
            return self.link.interval_seconds - since  # nothing new, and the last batch is recent
        reply = self.send("POST", EVENTS, json.dumps(batch.to_json(), ensure_ascii=False))
        through = _position(reply)
        if reply.status == 409:  # the district lacks events before this batch: from where its copy ends
            self._acknowledged(through, now)
            return 0.0
        self._posted_at = now
        if batch.events:  # before the position moves: a health read between them must not see it shipped but never
            self.last_shipped_at = now
        self._acknowledged(through, now)
        return 0.0 if len(batch.events) >= self.link.batch_events else float(self.link.interval_seconds)

    def _check_not_behind_the_district(self) -> None:
        """A district holding more of this hall's events than the hall has means the hall's database went back
        (restored from an older backup): its next events would reuse ids the district has already filed, and be
        lost there. Shipping stops until the district's administrator deals with that hall's copy."""
        with self.storage.read() as session:
            newest = session.scalar(select(func.max(TicketEvent.id))) or 0
        if self.through is not None and self.through > newest:
            held, self.through = self.through, None
            raise Refused(AHEAD.format(held=held, newest=newest), REFUSED_RETRY)

    def _acknowledged(self, through: int, now: datetime) -> None:
        """The district holds events through ``through``: kept in the instance folder when it moved."""
        self.through = through
        if self.known is not None and self.known[0] == through:
            return
        self.known = (through, now)
        record = {"url": self.link.url, "code": self.link.code, "through": through, "at": now.isoformat()}
        try:
            write_private(self.position, json.dumps(record).encode())
        except OSError as exc:  # only the health after a restart misses it: shipping goes on
            log.warning("district link: cannot keep the position in %s (%s)", self.position, exc)

    def _failed(self, now: datetime, message: str, retry: float | None) -> float:
        """Wait before the next try: the backoff (1, 2, 4 … 30 s) or ``retry``; logged once for a run of them."""
        if self.last_error != message:
            log.warning("district link: %s", message)
        self._failures += 1
        delay = retry if retry is not None else min(MAX_BACKOFF, 2.0 ** (self._failures - 1))
        self.last_error = message
        self._retry_at = now + timedelta(seconds=delay)
        return delay

    # ------------------------------------------------------------ the background task

    def run(self, leads: Callable[[], bool], pause: Callable[[float], None]) -> None:
        """Step while this process leads job "district"; between steps wait for an event (then ``DEBOUNCE`` more)
        or for the next step's time."""
        while self.running:
            if leads():
                try:
                    delay = self.step()
                except Exception:  # a database hiccup must not end the task: tried again at the next interval
                    log.exception("shipping to the district failed")
                    delay = float(self.link.interval_seconds)
            else:
                self.through = None  # the leader may have shipped meanwhile: ask the district again
                delay = float(self.link.interval_seconds)
            if delay > 0 and self.wake.wait(delay):
                pause(DEBOUNCE)
            self.wake.clear()

    def heard(self, _event: object) -> None:
        """An event of the hall (any process's): ship soon."""
        self.wake.set()

    def stop(self) -> None:
        self.running = False
        self.wake.set()

    # ------------------------------------------------------------ health

    def state(self) -> dict[str, Any]:
        """How far behind the district is: events not shipped and the age of the oldest; until the district has said
        where its copy ends, from the last position it acknowledged (``last_known_at`` says when: read again, as
        the process of the hall that ships keeps it), null without one."""
        behind_events = behind_seconds = None
        through, known_at = self.through, None
        known = _known_position(self.position, self.link) if through is None else None
        if known is not None:
            through, known_at = known
        if through is not None:
            with self.storage.read() as session:
                count, oldest = session.execute(
                    select(func.count(), func.min(TicketEvent.at)).where(TicketEvent.id > through)).one()
            behind_events = count
            behind_seconds = max(0, round((self.clock.now() - oldest).total_seconds())) if oldest else 0
        return {"url": self.link.url, "code": self.link.code, "through": through, "behind_events": behind_events,
                "behind_seconds": behind_seconds,
                "last_shipped_at": self.last_shipped_at.isoformat() if self.last_shipped_at else None,
                "last_error": self.last_error, "last_known_at": known_at.isoformat() if known_at else None}


def _known_position(path: Path, link: DistrictLink) -> tuple[int, datetime] | None:
    """The position kept in ``path`` for this district and hall code; None without one (a file of another district
    or code, or unreadable: a position it cannot trust)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        through, at = data["through"], datetime.fromisoformat(data["at"])
        if data["url"] != link.url or data["code"] != link.code or type(through) is not int or at.tzinfo is None:
            return None
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, KeyError) as exc:
        log.warning("district link: ignoring %s (%s)", path, type(exc).__name__)
        return None
    return through, at


def _position(reply: Reply) -> int:
    """The event the district holds through, from its answer (200, or 409 for a gap); any other is refused."""
    if reply.status in (401, 403):
        raise Refused(WRONG_HALL if _error_code(reply) == "wrong_hall" else BAD_TOKEN, REFUSED_RETRY)
    through = reply.body.get("through") if isinstance(reply.body, dict) else None
    answered = reply.status == 200 or (reply.status == 409 and _error_code(reply) == "gap")
    if answered and type(through) is int and through >= 0:
        return through
    if reply.status >= 500:
        raise Refused(f"区级服务器出错（HTTP {reply.status}）")
    code = _error_code(reply)
    raise Refused(f"区级服务器不接受（HTTP {reply.status}{' ' + code if code else ''}）")


def _error_code(reply: Reply) -> str | None:
    error = reply.body.get("error") if isinstance(reply.body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


def _unreachable(exc: requests.RequestException) -> str:
    """Why the district could not be reached, without the request (its headers hold the token)."""
    if isinstance(exc, requests.Timeout):
        return "连接区级服务器超时"
    return f"无法连接区级服务器（{type(exc).__name__}）"
