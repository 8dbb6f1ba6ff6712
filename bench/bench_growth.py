"""Does a request cost more late in a big day? Issue, call-next, the tracking page and the snapshot, measured against
a real `hallq run` after 100, 1,000 and 5,000 tickets of the day, with 90 days of history behind them (issue 20).

The history and the day's earlier tickets are written straight into the database (rows as the engine writes them:
tickets, their issued/called/finished events, the day's number counters), not through the API: a day of 5,000 is
built in seconds. The day grows between stages, and each stage has a server process of its own, warmed up by a few
requests of each kind. Every stage starts with the same line: ``--waiting`` residents waiting (the newest), so what
differs between stages is only the day's tickets behind them. Then ``--requests`` kiosk issues in a row, as many
call-nexts at the 综合受理 window (window 6 serves every item; window 1 is staffed too), and tracking-page requests of
one waiting ticket. One display is connected, so the snapshot loop's background work is in the CPU figures.

Server CPU per request: utime+stime of the server process (/proc/<pid>/stat) over a phase, divided by its requests;
on PostgreSQL the database's backend processes are added (SQLite works inside the server process).
The snapshot's build time and JSON size are measured in this process over the same database.

The hall runs on UTC here (the demo's Asia/Shanghai day would end at 16:00 UTC, in the middle of a run).

    .venv/bin/python bench/bench_growth.py [--database sqlite|postgresql|both] [--requests 150] [--waiting 30]
                                           [--history-days 90] [--history-per-day 1000] [--stages 100,1000,5000]
"""

from __future__ import annotations

import argparse
import json
import secrets
import select as selectors
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext, suppress
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import Connection, create_engine, func, insert, inspect, select, text, update

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common
from server.hall import Hall, Settings
from server.models import DailyCounter, Ticket, TicketEvent
from server.models import TicketStatus as S
from tests.conftest import scratch_postgres
from tests.wire_display import WireDisplay

CALLING_WINDOW = 6  # 综合受理: serves every item, so call-next always finds someone
OTHER_WINDOW = 1
SNAPSHOT_BUILDS = 20
CHUNK = 5000  # rows per INSERT batch
WARM_UP = 10  # requests of each kind before a stage is measured
QUIET_WAIT = 15.0  # seconds: the VM is shared with other work; the results note how busy it was


def _config(folder: Path) -> Path:
    """The demo hall on UTC (see the module's docstring)."""
    text_ = (common.ROOT / "config.toml").read_text(encoding="utf-8")
    copy = folder / "growth.toml"
    copy.write_text(text_.replace('timezone = "Asia/Shanghai"', 'timezone = "UTC"', 1), encoding="utf-8")
    return copy


# ---------------------------------------------------------------- the day and its history, written directly

class Writer:
    """Writes finished (and waiting) tickets with their events, numbering them as the engine would."""

    def __init__(self, connection: Connection, services: Sequence[tuple[str, str]]):
        self.connection = connection
        self.services = services  # (code, prefix)
        self.next_ticket = (connection.scalar(select(func.max(Ticket.id))) or 0) + 1
        self.next_event = (connection.scalar(select(func.max(TicketEvent.id))) or 0) + 1
        self.tickets: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        #: 今日已办 kept per window and day (issue 20); an older hallq counts the tickets instead
        self.served: Counter[tuple[int, date]] | None = (
            Counter() if inspect(connection).has_table("window_days") else None)

    def day(self, day: date, count: int, first: datetime, last: datetime, waiting: int = 0) -> None:
        """``count`` tickets of ``day`` issued evenly between ``first`` and ``last``, the newest ``waiting`` still
        waiting, the others called at windows 1-6 a minute after issue and finished three minutes later."""
        counters = dict(self.connection.execute(select(DailyCounter.service, DailyCounter.last)
                                                .where(DailyCounter.business_date == day)).all())
        known = set(counters)
        step = (last - first) / max(count, 1)
        for i in range(count):
            code, prefix = self.services[i % len(self.services)]
            counters[code] = counters.get(code, 0) + 1
            issued = first + step * i
            done = i < count - waiting
            window = i % 6 + 1 if done else None
            called = issued + timedelta(minutes=1) if done else None
            finished = called + timedelta(minutes=3) if called else None
            ticket_id = self.next_ticket
            self.next_ticket += 1
            self.tickets.append({
                "id": ticket_id, "number": f"{prefix}{counters[code]:03d}", "service": code, "business_date": day,
                "status": S.DONE if done else S.WAITING, "priority": None, "queue_at": issued, "issued_at": issued,
                "called_at": called, "started_at": called, "finished_at": finished, "window_id": window,
                "target_window": None, "recalls": 0, "channel": "kiosk", "transferred_from": None,
                "track_token": secrets.token_urlsafe(12), "appointment_id": None})
            self._event(ticket_id, "issued", None, "kiosk:kiosk-1", issued)
            if called and finished and window:
                self._event(ticket_id, "called", window, f"clerk{window}", called)
                self._event(ticket_id, "finished", window, f"clerk{window}", finished)
                if self.served is not None:
                    self.served[(window, day)] += 1
        self.flush()
        self._count_served()
        for code, last_number in counters.items():
            if code in known:
                self.connection.execute(update(DailyCounter).where(DailyCounter.service == code,
                                                                   DailyCounter.business_date == day)
                                        .values(last=last_number))
            else:
                self.connection.execute(insert(DailyCounter).values(service=code, business_date=day,
                                                                    last=last_number))

    def _count_served(self) -> None:
        if not self.served:
            return
        table = "window_days"
        for (window, day), served in self.served.items():
            known = self.connection.execute(text(f"UPDATE {table} SET served = served + :n WHERE window_id = :w "
                                                 "AND business_date = :d"), {"n": served, "w": window, "d": day})
            if known.rowcount == 0:
                self.connection.execute(text(f"INSERT INTO {table} (window_id, business_date, served) "
                                             "VALUES (:w, :d, :n)"), {"n": served, "w": window, "d": day})
        self.served.clear()

    def _event(self, ticket_id: int, action: str, window: int | None, actor: str, at: datetime) -> None:
        self.events.append({"id": self.next_event, "ticket_id": ticket_id, "action": action, "window_id": window,
                            "actor": actor, "at": at, "detail": None})
        self.next_event += 1

    def flush(self) -> None:
        for table, rows in ((Ticket.__table__, self.tickets), (TicketEvent.__table__, self.events)):
            for start in range(0, len(rows), CHUNK):
                self.connection.execute(insert(table), rows[start:start + CHUNK])
            rows.clear()
        if self.connection.dialect.name == "postgresql":  # explicit ids: move the sequences past them
            for table in ("tickets", "ticket_events"):
                self.connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                             f"(SELECT max(id) FROM {table}))"))


def services_of(hall: Hall) -> list[tuple[str, str]]:
    return [(service.code, service.prefix) for service in hall.config.services]


def write_history(url: str, services: Sequence[tuple[str, str]], today: date, days: int, per_day: int) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        writer = Writer(connection, services)
        for back in range(days, 0, -1):
            day = today - timedelta(days=back)
            opening = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=1)
            writer.day(day, per_day, opening, opening + timedelta(hours=8))
    if connection.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
    engine.dispose()


def grow_today(url: str, services: Sequence[tuple[str, str]], today: date, to: int, waiting: int) -> None:
    """Add finished tickets to today until it has ``to``; the first call adds the ``waiting`` residents too."""
    engine = create_engine(url)
    with engine.begin() as connection:
        have = connection.scalar(select(func.count()).select_from(Ticket).where(Ticket.business_date == today)) or 0
        if have >= to:
            return
        start = datetime.combine(today, datetime.min.time(), UTC)
        now = datetime.now(UTC)
        first = start + (now - start) * have / to  # the day so far is spread over the hours since midnight
        Writer(connection, services).day(today, to - have, first, now - timedelta(minutes=5),
                                         waiting=waiting if have == 0 else 0)
    engine.dispose()


# ---------------------------------------------------------------- the requests

class Display:
    """One display connected for the whole run, read by a thread so the server's pushes never back up."""

    def __init__(self, url: str, token: str):
        self.wire = WireDisplay(url, token, on_called=lambda _event, _stamp: None)
        self.wire.connect()
        self._running = True
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while self._running and self.wire.sock is not None:
            readable, _, _ = selectors.select([self.wire.sock], [], [], 0.2)
            if readable:
                self.wire.on_readable()

    def close(self) -> None:
        self._running = False
        self._thread.join(timeout=5)
        self.wire.close()


def backends(url: str) -> list[int]:
    """PostgreSQL's processes serving the hall's database: a query's work is done there, not in `hallq run`."""
    if not url.startswith("postgresql"):
        return []
    engine = create_engine(url)
    with engine.connect() as connection:
        pids = list(connection.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                            "AND pid <> pg_backend_pid()")))
    engine.dispose()
    return pids


def cpu_of(pids: Sequence[int]) -> dict[int, float]:
    """CPU seconds of each process still running."""
    found = {}
    for pid in pids:
        with suppress(FileNotFoundError, ProcessLookupError):
            found[pid] = common.cpu_seconds(pid)
    return found


def timed(server_pid: int, url: str, requests_: Sequence[Any]) -> tuple[list[float], float]:
    """Run each zero-argument request (it raises on failure); latencies (s) and the CPU ms per request of the
    server process and, on PostgreSQL, of the database's backends (those that lived through the phase)."""
    latencies = []
    before = cpu_of([server_pid, *backends(url)])
    for request in requests_:
        start = time.perf_counter()
        request()
        latencies.append(time.perf_counter() - start)
    after = cpu_of(list(before))
    used = sum(after[pid] - before[pid] for pid in after)
    return latencies, used / len(requests_) * 1000


def ok(answer: requests.Response, status: int = 200) -> requests.Response:
    if answer.status_code != status:
        raise RuntimeError(f"{answer.request.method} {answer.url}: {answer.status_code} {answer.text[:200]}")
    return answer


def stage(live: common.LiveHall, hall: Hall, url: str, kiosk: requests.Session, clerk: requests.Session, n: int
          ) -> dict[str, Any]:
    """``n`` requests of each kind, and the snapshot, at the day as it is (``--waiting`` residents waiting)."""
    assert live.process is not None
    pid, services = live.process.pid, [code for code, _ in services_of(hall)]
    issued: list[str] = []

    def issue(i: int) -> Any:
        def run() -> None:
            answer = ok(kiosk.post(f"{live.url}/api/tickets", json={"service": services[i % len(services)]},
                                   timeout=common.HTTP_TIMEOUT), 201)
            issued.append(answer.json()["ticket"]["track_url"].rsplit("/", 1)[1])
        return run

    def call_next() -> None:
        answer = ok(clerk.post(f"{live.url}/api/windows/{CALLING_WINDOW}/call-next", timeout=common.HTTP_TIMEOUT))
        if answer.json().get("ticket") is None:
            raise RuntimeError("call-next found nobody waiting")

    issue_latency, issue_cpu = timed(pid, url, [issue(i) for i in range(n)])
    call_latency, call_cpu = timed(pid, url, [call_next] * n)
    token = issued[-1]  # the newest: still waiting, behind the whole line
    track = requests.Session()
    track.trust_env = False
    track_latency, track_cpu = timed(pid, url, [lambda: ok(track.get(f"{live.url}/t/{token}/state",
                                                                timeout=common.HTTP_TIMEOUT))] * n)
    builds, size = [], 0
    for _ in range(SNAPSHOT_BUILDS):
        start = time.perf_counter()
        snapshot = hall.engine.snapshot()
        builds.append(time.perf_counter() - start)
        size = len(json.dumps(snapshot, ensure_ascii=False).encode())
    return {"issue": issue_latency, "issue cpu": issue_cpu, "call-next": call_latency, "call-next cpu": call_cpu,
            "tracking page": track_latency, "tracking page cpu": track_cpu,
            "snapshot build ms": round(statistics.median(builds) * 1000, 2), "snapshot bytes": size}


def serve_stage(live: common.LiveHall, hall: Hall, url: str) -> dict[str, Any]:
    """One stage on a server process of its own, warmed up first: a process that served the earlier stages would
    carry their garbage and caches into this one's figures."""
    display = None
    try:
        live.start()
        kiosk, clerk = live.kiosk(), live.staff("clerk1", CALLING_WINDOW)
        live.staff("clerk2", OTHER_WINDOW)
        display = Display(live.url, live.display_token)
        stage(live, hall, url, kiosk, clerk, WARM_UP)  # not measured: each stage has WARM_UP more tickets
        return stage(live, hall, url, kiosk, clerk, ARGS.requests)
    finally:
        if display is not None:
            display.close()
        live.stop()


@contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    if kind == "postgresql":
        with scratch_postgres() as url:
            yield url
    else:
        with nullcontext(f"sqlite:///{folder / 'instance' / 'hallq.db'}") as url:
            yield url


def run_on(kind: str) -> dict[int, dict[str, Any]]:
    """Every stage on one database."""
    common.wait_for_quiet(timeout=QUIET_WAIT)
    results: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="hallq-growth-") as name, database(kind, Path(name)) as url:
        folder = Path(name)
        live = common.LiveHall(instance=folder / "instance", config=_config(folder), database_url=url).prepare()
        hall = Hall.open(Settings.resolve(live.config, live.instance, url))
        today = hall.engine.today()
        started = time.perf_counter()
        write_history(url, services_of(hall), today, ARGS.history_days, ARGS.history_per_day)
        print(f"{kind}: {ARGS.history_days} days of history written in {time.perf_counter() - started:.1f} s",
              file=sys.stderr)
        try:
            for count in ARGS.stages:
                grow_today(url, services_of(hall), today, count, ARGS.waiting)
                results[count] = serve_stage(live, hall, url)
                print(f"{kind}: stage {count} measured", file=sys.stderr)
        finally:
            hall.storage.dispose()
    return results


def stages(text_: str) -> list[int]:
    values = [common.positive_count(part) for part in text_.split(",")]
    if values != sorted(values):
        raise argparse.ArgumentTypeError("stages must grow")
    return values


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--requests", type=common.positive_count, default=150)
    parser.add_argument("--waiting", type=common.positive_count, default=30)
    parser.add_argument("--history-days", type=common.positive_count, default=90)
    parser.add_argument("--history-per-day", type=common.positive_count, default=1000)
    parser.add_argument("--stages", type=stages, default=[100, 1000, 5000])
    parser.add_argument("--name", default="growth", help="results file bench/results/NAME.json")
    return parser.parse_args()


def run() -> common.Result:
    speed = common.speed_index()
    kinds = ("sqlite", "postgresql") if ARGS.database == "both" else (ARGS.database,)
    stats: dict[str, common.Stats] = {}
    targets: list[common.Target] = []
    extra: dict[str, Any] = {"python speed index (ms, lower is faster)": speed,
                             "history": f"{ARGS.history_days} days x {ARGS.history_per_day} tickets",
                             "waiting at each stage": ARGS.waiting, "requests per phase": ARGS.requests}
    for kind in kinds:
        results = run_on(kind)
        for count, measured in results.items():
            for phase in ("issue", "call-next", "tracking page"):
                stats[f"{kind} {count:>5}: {phase}"] = common.Stats.of(measured[phase])
                extra[f"{kind} {count}: {phase} server{' + database' if kind == 'postgresql' else ''} CPU per "
                      "request (ms)"] = round(measured[f"{phase} cpu"], 2)
            extra[f"{kind} {count}: snapshot build (ms, median)"] = measured["snapshot build ms"]
            extra[f"{kind} {count}: snapshot (bytes)"] = measured["snapshot bytes"]
        first, last = results[ARGS.stages[0]], results[ARGS.stages[-1]]
        for phase in ("issue", "call-next"):
            growth = (last[f"{phase} cpu"] / first[f"{phase} cpu"] - 1) * 100
            targets.append(common.Target(f"{kind} {phase} CPU, {ARGS.stages[-1]} vs {ARGS.stages[0]}", growth,
                                         10, "%"))
        targets.append(common.Target(f"{kind} snapshot bytes growth", (last["snapshot bytes"]
                                     / first["snapshot bytes"] - 1) * 100, 2, "%"))  # counts gain digits
    return common.Result(ARGS.name, "Cost of a request as the day grows (issue 20)", stats, targets, extra)


ARGS = arguments() if __name__ == "__main__" else argparse.Namespace()

if __name__ == "__main__":
    run().report()
