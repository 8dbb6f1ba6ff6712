"""A hall's event log shipped to its district (issue 19): how many events a second a backlog ships at, and how far
behind the district's live board runs.

One real hall (`hallq run`, SQLite) and one real district (`hallq district run`, a scratch PostgreSQL database).
First the hall starts with a backlog of --days days of --tickets residents each (bench/bench_stats.py's generated
days, written before it starts) and ships it in batches of [district] batch_events (500): timed from the hall's
start until the district holds its newest event, read from the district's own GET …/events/through (the CPU it
took: "server" is the hall's and the district's processes together, PostgreSQL apart). Then the hall
works at a steady pace (a resident takes a number, a clerk calls the next, by turns, --actions in all, one every
GAP seconds) while a logged-in district admin's Socket.IO client of the live board receives its updates: an
event's lag is from its `at` at the hall to the first update whose `through` includes it (the same machine's clock
on both sides).

    .venv/bin/python bench/bench_district_ship.py [--days 10] [--tickets 300] [--actions 400]
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import requests
import socketio
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common
from bench.bench_stats import populate
from server.config import load_config
from server.db import Storage
from server.models import TicketEvent
from tests.conftest import scratch_postgres
from tests.district_process import DistrictProcess
from tests.process.test_printing_process import eventually

CODE = "bench"
FIRST_DAY = date(2026, 9, 1)
GAP = 0.25  # seconds between two of the hall's actions in the live phase
WINDOW = 1
#: the district's live board is "updated within seconds from the events" (issue 19)
LAG_LIMIT_MS = 5000


class Board:
    """A district admin's live board: when each update arrived, with the last event it includes."""

    def __init__(self, district: DistrictProcess):
        self.updates: list[tuple[float, int]] = []
        self.client = socketio.Client(reconnection=False)
        self.client.on("live", self._update)
        session = district.session()
        self.client.connect(district.url, headers={"Cookie": district.cookie(session)}, transports=["websocket"],
                            wait_timeout=10)

    def _update(self, entry: dict[str, Any]) -> None:
        if entry["code"] == CODE and entry["through"] is not None:
            self.updates.append((time.time(), entry["through"]))

    def lags(self, events: list[tuple[int, float]]) -> tuple[list[float], int]:
        """Each event's lag (seconds) to the first update including it; and how many no update included."""
        lags, missing, arrived = [], 0, sorted(self.updates)
        for event, at in events:
            seen = next((when for when, through in arrived if through >= event), None)
            if seen is None:
                missing += 1
            else:
                lags.append(seen - at)
        return lags, missing


def _events(storage: Storage, after: int) -> list[tuple[int, float]]:
    """The hall's events after ``after``: id and when it happened (a Unix time)."""
    with storage.read() as session:
        return [(event, at.timestamp()) for event, at in session.execute(
            select(TicketEvent.id, TicketEvent.at).where(TicketEvent.id > after).order_by(TicketEvent.id))]


def _held(district: DistrictProcess) -> int:
    """The last event of the hall the district holds, as its shipper asks."""
    answer = requests.get(f"{district.url}/district/api/v1/events/through", timeout=common.HTTP_TIMEOUT,
                          headers={"Authorization": f"Bearer {district.tokens[CODE]}"})
    answer.raise_for_status()
    return answer.json()["through"]


def backlog(hall: common.LiveHall, district: DistrictProcess, newest: int) -> dict[str, Any]:
    """Start the hall with its backlog; seconds until the district holds all of it, and the CPU that took."""
    started = time.perf_counter()
    hall.start()
    listening = time.perf_counter()
    assert district.process is not None, "the district is not running"
    watch = common.CpuWatch(common.pid_of(hall), district.process.pid,
                            database=district.database_url.rpartition("/")[2])
    first: float | None = None
    while (held := _held(district)) < newest:
        if first is None and held > 0:
            first = time.perf_counter()
        if time.perf_counter() - listening > 600:
            raise RuntimeError(f"the district holds {held} of {newest} events after 10 minutes")
        time.sleep(0.05)
    done = time.perf_counter()
    return {"events in the backlog": newest, "hall start (s)": round(listening - started, 2),
            "shipped in (s, from the hall listening)": round(done - listening, 2),
            "events shipped per second": round(newest / (done - listening), 1),
            "events per second after the first batch": round(newest / (done - first), 1) if first else None,
            **{f"backlog: {key.replace('per op', 'per event')}": value for key, value in watch.report(newest).items()}}


def steady(hall: common.LiveHall, district: DistrictProcess, actions: int) -> tuple[list[float], int]:
    """The hall issues and calls by turns while the live board watches; each new event's lag, and the missing."""
    storage = Storage(f"sqlite:///{hall.instance / 'hallq.db'}")
    with storage.read() as session:
        before = session.scalar(select(func.max(TicketEvent.id))) or 0
    board = Board(district)
    kiosk, clerk = hall.kiosk(), hall.staff("clerk1", window=WINDOW)
    services = common.window_services(WINDOW)
    try:
        for i in range(actions):
            time.sleep(GAP)  # the pace of a busy hall, not a measurement
            if i % 2 == 0:
                answer = kiosk.post(f"{hall.url}/api/tickets", json={"service": services[i % len(services)]},
                                    timeout=common.HTTP_TIMEOUT)
            else:
                answer = clerk.post(f"{hall.url}/api/windows/{WINDOW}/call-next", timeout=common.HTTP_TIMEOUT)
            answer.raise_for_status()
        newest = _events(storage, before)[-1][0]
        eventually(lambda: any(through >= newest for _, through in board.updates),
                   "the live board to show the last event", 60)
        return board.lags(_events(storage, before))
    finally:
        board.client.disconnect()
        storage.dispose()


def run(days: int, tickets: int, actions: int) -> common.Result:
    speed = common.speed_index()
    common.wait_for_quiet()
    with tempfile.TemporaryDirectory(prefix="hallq-bench-district-") as folder, scratch_postgres() as url:
        district = DistrictProcess(Path(folder) / "district", url, {CODE: "基准镇便民服务中心"}).prepare().start()
        hall = common.LiveHall(Path(folder) / "instance").prepare()
        try:
            storage = Storage(f"sqlite:///{hall.instance / 'hallq.db'}")
            filling = time.perf_counter()
            newest = populate(storage, load_config(common.ROOT / "config.toml"), FIRST_DAY, days, tickets)
            filling = time.perf_counter() - filling
            storage.dispose()
            hall.ship_to(district.url, CODE, district.tokens[CODE])
            shipped = backlog(hall, district, newest)
            lags, missing = steady(hall, district, actions)
        finally:
            hall.stop()
            district.stop()
    lag = common.Stats.of(lags)
    stats = {"event at the hall → live board update": lag}
    targets = [common.Target("live board lag p99", lag.p99, LAG_LIMIT_MS, "ms"),
               common.Target("events no update included", missing, 0, "")]
    extra = {"python speed index (ms, lower is faster)": speed, "days": days, "tickets a day": tickets,
             "filling the hall's database (s)": round(filling, 1), **shipped, "live phase actions": actions,
             "gap between actions (s)": GAP, "events no update included": missing}
    return common.Result("district_ship", f"Shipping to the district: a backlog of {days} days × {tickets} tickets, "
                         f"then the live board during {actions} actions", stats, targets, extra)


if __name__ == "__main__":
    options = common.arguments(__doc__ or "", profile=False, days=10, tickets=300, actions=400)
    run(options.days, options.tickets, options.actions).report()
