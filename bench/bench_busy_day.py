"""A busy day in the demo hall, simulated: how long each item's residents wait, and how true 「前面还有 N 人」 was.

600 residents (by default) come to the demo hall's 25 items between 08:30-12:00 and 14:00-17:30, most in the
morning peak and the last hour; six clerks at the six windows press call-next whenever they are free, serve each
resident for a time typical of the item, and mark the few who do not come as 过号. The queue engine runs
in-process over a real database, its clock moved event by event (no sleeping), and is used only through its
public methods (issue, sign_in, call_next, no_show), so the same script measures any calling rule.

Everything about the residents (arrival, item, 绿色通道, service time, no-show) is drawn from ``--seed`` before the
day starts, so two calling rules serve the same people. A resident's true place is the number of residents called,
after they took their number and before they were called, at windows that serve their item: who they really
waited behind. The promise is the ``waiting_ahead`` the kiosk showed when the number was issued.

    .venv/bin/python bench/bench_busy_day.py [--seed 1] [--tickets 600] [--database-url URL] [--json PATH]
"""

from __future__ import annotations

import argparse
import bisect
import heapq
import json
import math
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, make_url, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common
from server.clock import ManualClock
from server.config import HallConfig, load_config
from server.db import Storage
from server.events import EventBus
from server.queue import QueueEngine
from server.vocabulary import PRIORITIES

#: The demo hall's items: (share of the day's residents, median minutes at the window). Payments and the ID card
#: fill the hall; 低保, 宅基地 and other applications take long; 党组织关系转移 is rare. With 600 residents the
#: medians (2-8 minutes, walking up included) keep the six windows about 90 % busy over the seven opening hours:
#: queues build in the peaks and clear over the midday break.
ITEMS: dict[str, tuple[float, float]] = {
    "hukou-id": (14, 3.5), "hukou-book": (4, 3.0), "hukou-birth": (4, 4.5), "hukou-move": (4, 5.0),
    "birth-first": (2, 3.0), "birth-second": (1, 3.0), "elder-card": (4, 2.5), "dibao": (3, 8.0),
    "disability": (2, 6.0), "relief": (1.5, 6.0),
    "employment": (3, 3.0), "pension-enrol": (5, 3.0), "pension-pay": (12, 2.0), "medical-enrol": (5, 3.0),
    "medical-pay": (14, 2.0), "yulu": (1.5, 5.0), "grain-subsidy": (4, 3.0), "land-transfer": (2, 6.0),
    "homestead": (1.5, 8.0), "house-repair": (1.5, 6.0), "business": (3, 5.0), "food-licence": (1.5, 6.0),
    "conscription": (2, 3.0), "military-family": (1.5, 3.5), "party-transfer": (0.5, 3.0),
}
SERVICE_SPREAD = 0.4  # sigma of the lognormal service time: a quarter of residents take over 1.3 times the median
LONGEST_SERVICE = timedelta(minutes=45)
#: Half-hour slots of each session and how many residents each brings (relative): the 09:30 peak, a quiet
#: noon, and the last hour before closing.
SESSIONS: tuple[tuple[clock_time, tuple[int, ...]], ...] = (
    (clock_time(8, 30), (6, 10, 12, 11, 9, 7, 5)),
    (clock_time(14, 0), (6, 7, 7, 6, 6, 9, 8)),
)
PRIORITY_SHARE = 0.02  # 绿色通道: elderly, disabled, military, pregnant
NO_SHOW_SHARE = 0.03   # gone when called: the clerk waits a minute, marks 过号 and calls the next
NO_SHOW_WAIT = timedelta(minutes=1)
DAY = date(2026, 12, 2)  # a Wednesday; the demo hall has no [calendar], so it is open all day
CLERKS = {window: f"clerk{window}" for window in range(1, 7)}


@dataclass(frozen=True)
class Resident:
    """One resident of the day, as drawn before it starts."""

    arrives: datetime
    item: str
    priority: str | None
    service: timedelta
    absent: bool


def residents(config: HallConfig, count: int, seed: int) -> list[Resident]:
    """The day's residents in order of arrival."""
    if set(ITEMS) != {service.code for service in config.services}:
        raise SystemExit("bench_busy_day: the hall's items differ from the demo hall's (config.toml)")
    rng = random.Random(seed)
    slots = [datetime.combine(DAY, start, config.timezone) + timedelta(minutes=30 * k)
             for start, weights in SESSIONS for k in range(len(weights))]
    weights = [w for _, session in SESSIONS for w in session]
    codes = list(ITEMS)
    people = []
    for slot in rng.choices(slots, weights=weights, k=count):
        item = rng.choices(codes, weights=[ITEMS[code][0] for code in codes])[0]
        minutes = ITEMS[item][1] * math.exp(rng.gauss(0, SERVICE_SPREAD))
        people.append(Resident(
            arrives=slot + timedelta(seconds=rng.randrange(30 * 60)), item=item,
            priority=rng.choice(PRIORITIES) if rng.random() < PRIORITY_SHARE else None,
            service=min(timedelta(seconds=round(minutes * 60)), LONGEST_SERVICE),
            absent=rng.random() < NO_SHOW_SHARE))
    return sorted(people, key=lambda resident: resident.arrives)


@dataclass
class Ticket:
    """What happened to one resident's ticket. Steps number the engine's operations in the order they ran."""

    id: int
    number: str
    item: str
    priority: str | None
    issued: datetime
    issue_step: int
    promised: int
    estimated_minutes: float | None = None  # the ticket answer's estimate, when the engine gives one
    called: datetime | None = None
    call_step: int | None = None
    window: int | None = None
    no_show: bool = False
    true_place: int | None = None

    @property
    def wait_minutes(self) -> float | None:
        return None if self.called is None else (self.called - self.issued).total_seconds() / 60


@dataclass(frozen=True)
class Call:
    step: int
    window: int
    ticket: int


@dataclass
class Day:
    """The simulated day's record."""

    tickets: dict[int, Ticket] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    operations: int = 0
    most_waiting: int = 0
    most_waiting_at: datetime | None = None


class BusyDay:
    """Runs the day: arrivals and clerks as events in time order, each one an engine call at its instant."""

    def __init__(self, engine: QueueEngine, clock: ManualClock):
        self.engine, self.clock = engine, clock
        self.day = Day()
        self._agenda: list[tuple[datetime, int, str, Any]] = []
        self._order = 0
        self._idle: dict[int, datetime] = {}  # window -> since when its clerk has had nobody to call
        self._residents: dict[int, Resident] = {}  # ticket id -> the resident holding it

    def run(self, people: Sequence[Resident]) -> Day:
        """Opens the windows, lets everyone in, calls until nobody waits; then works out the true places."""
        if not people:
            raise ValueError("a day needs residents")
        opening = people[0].arrives - timedelta(minutes=5)
        self.clock.set(opening)
        for window, clerk in CLERKS.items():
            self.engine.sign_in(window, clerk)
            self._idle[window] = opening
        for resident in people:
            self._plan(resident.arrives, "arrive", resident)
        while self._agenda:
            at, _, kind, subject = heapq.heappop(self._agenda)
            self.clock.set(at)
            if kind == "arrive":
                self._arrive(subject)
                continue
            if kind == "absent":
                self.engine.no_show(subject.window, CLERKS[subject.window])
                self._step()
                self.day.tickets[subject.ticket].no_show = True
            self._call(subject.window)
        for ticket_id, place in true_places(self.day.tickets.values(), self.day.calls, self.engine.config).items():
            self.day.tickets[ticket_id].true_place = place
        return self.day

    def _plan(self, at: datetime, kind: str, subject: Resident | Call) -> None:
        self._order += 1
        heapq.heappush(self._agenda, (at, self._order, kind, subject))

    def _step(self) -> int:
        self.day.operations += 1
        return self.day.operations

    def _arrive(self, resident: Resident) -> None:
        view = self.engine.issue(resident.item, resident.priority, actor="device:kiosk-1")
        now = self.clock.now()
        self.day.tickets[view.id] = Ticket(view.id, view.number, resident.item, resident.priority, now, self._step(),
                                           view.waiting_ahead, getattr(view, "estimated_wait_minutes", None))
        self._residents[view.id] = resident
        waiting = len(self.day.tickets) - len(self.day.calls)
        if waiting > self.day.most_waiting:
            self.day.most_waiting, self.day.most_waiting_at = waiting, now
        serving = {window.id for window in self.engine.config.windows_serving(resident.item)}
        for window in sorted(self._idle, key=lambda w: (self._idle[w], w)):  # the longest idle clerk looks up first
            if window in serving and self._call(window):
                return  # the others had nobody before, and the one newcomer is taken

    def _call(self, window: int) -> bool:
        """The clerk presses call-next (which finishes the resident at the window); False: nobody to call."""
        view = self.engine.call_next(window, CLERKS[window])
        step, now = self._step(), self.clock.now()
        if view is None:
            self._idle.setdefault(window, now)
            return False
        self._idle.pop(window, None)
        ticket = self.day.tickets[view.id]
        ticket.called, ticket.call_step, ticket.window = now, step, window
        call = Call(step, window, view.id)
        self.day.calls.append(call)
        resident = self._residents[view.id]
        if resident.absent:
            self._plan(now + NO_SHOW_WAIT, "absent", call)
        else:
            self._plan(now + resident.service, "free", call)
        return True


def true_places(tickets: Iterable[Ticket], calls: Sequence[Call], config: HallConfig) -> dict[int, int]:
    """Each called ticket's true place: the calls after its issue and before its own call, at windows serving its
    item. ``calls`` are in step order."""
    steps = [call.step for call in calls]
    places = {}
    for ticket in tickets:
        if ticket.call_step is None:
            continue
        serving = {window.id for window in config.windows_serving(ticket.item)}
        between = calls[bisect.bisect_right(steps, ticket.issue_step):bisect.bisect_left(steps, ticket.call_step)]
        places[ticket.id] = sum(1 for call in between if call.window in serving)
    return places


# ---------------------------------------------------------------- the figures


def _minutes(values: Sequence[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median": round(statistics.median(ordered), 1), "p95": round(common.percentile(ordered, 95), 1),
            "max": round(ordered[-1], 1)}


def _errors(pairs: Sequence[tuple[float, float]]) -> dict[str, float]:
    """How far told values were from what happened: (told, true) pairs."""
    signed = [told - true for told, true in pairs]
    absolute = sorted(abs(error) for error in signed)
    return {"exact_share": round(sum(1 for e in absolute if e == 0) / len(absolute), 3),
            "median_abs": round(statistics.median(absolute), 1), "p95_abs": round(common.percentile(absolute, 95), 1),
            "max_abs": round(absolute[-1], 1), "mean_signed": round(statistics.fmean(signed), 2)}


def _local(config: HallConfig, instant: datetime | None) -> str | None:
    return None if instant is None else instant.astimezone(config.timezone).strftime("%H:%M:%S")


def summary(day: Day, config: HallConfig, people: Sequence[Resident]) -> dict[str, Any]:
    """The day in figures: waits per item and overall (minutes), the promise's error, the hall's load."""
    called = [t for t in day.tickets.values() if t.wait_minutes is not None]
    per_item = []
    for service in config.services:
        mine = [t for t in called if t.item == service.code]
        if not mine:
            continue
        per_item.append({"item": service.code, "name": service.name, "prefix": service.prefix,
                         "windows": [w.id for w in config.windows_serving(service.code)], "residents": len(mine),
                         "wait_minutes": _minutes([t.wait_minutes for t in mine if t.wait_minutes is not None]),
                         "promise": _errors([(t.promised, t.true_place) for t in mine if t.true_place is not None])})
    work = sum((NO_SHOW_WAIT if r.absent else r.service).total_seconds() / 60 for r in people)
    open_minutes = sum(30 * len(weights) for _, weights in SESSIONS)
    estimated = [(t.estimated_minutes, t.wait_minutes) for t in called
                 if t.estimated_minutes is not None and t.wait_minutes is not None]
    return {
        "residents": len(day.tickets),
        "offered_load": round(work / (len(CLERKS) * open_minutes), 2),
        "wait_minutes": _minutes([t.wait_minutes for t in called if t.wait_minutes is not None]),
        "promise": _errors([(t.promised, t.true_place) for t in called if t.true_place is not None]),
        "estimate_minutes": _errors(estimated) if estimated else None,
        "never_called": sorted(t.number for t in day.tickets.values() if t.called is None),
        "no_shows": sum(1 for t in day.tickets.values() if t.no_show),
        "priority_tickets": sum(1 for t in day.tickets.values() if t.priority is not None),
        "calls_per_window": {w: sum(1 for c in day.calls if c.window == w) for w in CLERKS},
        "most_waiting": day.most_waiting, "most_waiting_at": _local(config, day.most_waiting_at),
        "last_call": _local(config, max(t.called for t in called)) if called else None,
        "engine_operations": day.operations,
        "per_item": per_item,
        "tickets": [{**asdict(t), "issued": _local(config, t.issued), "called": _local(config, t.called)}
                    for t in day.tickets.values()],
    }


def markdown(result: dict[str, Any]) -> str:
    """The tables for docs/performance.md."""
    lines = ["| item | windows | residents | median wait | p95 wait | longest wait | promise exact "
             "| largest promise error |", "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for item in result["per_item"]:
        wait, promise = item["wait_minutes"], item["promise"]
        lines.append(f"| {item['prefix']} {item['name']} | {', '.join(map(str, item['windows']))} "
                     f"| {item['residents']} | {wait['median']} | {wait['p95']} | {wait['max']} "
                     f"| {promise['exact_share']:.0%} | {promise['max_abs']:g} |")
    wait, promise = result["wait_minutes"], result["promise"]
    lines.append(f"| **all items** | | {result['residents']} | {wait['median']} | {wait['p95']} | {wait['max']} "
                 f"| {promise['exact_share']:.0%} | {promise['max_abs']:g} |")
    lines += ["", "Waits in minutes, from taking the number to being called.", "",
              "| promised place (「前面还有 N 人」 at issue) vs. true place | |", "| --- | ---: |",
              f"| exact | {promise['exact_share']:.1%} |",
              f"| \\|promised − true\\| median / p95 / max | {promise['median_abs']:g} / {promise['p95_abs']:g} "
              f"/ {promise['max_abs']:g} |",
              f"| mean promised − true (negative: told fewer than were really ahead) | {promise['mean_signed']:g} |"]
    if (estimate := result["estimate_minutes"]) is not None:
        lines.append(f"| estimated wait − true wait (min): median / p95 / max of \\|error\\|, mean | "
                     f"{estimate['median_abs']:g} / {estimate['p95_abs']:g} / {estimate['max_abs']:g}, "
                     f"{estimate['mean_signed']:g} |")
    windows = ", ".join(f"{w}: {n}" for w, n in result["calls_per_window"].items())
    lines += ["", f"Offered load {result['offered_load']:.0%} of six windows over the seven opening hours; "
              f"{result['no_shows']} no-shows, {result['priority_tickets']} 绿色通道 tickets; never called: "
              f"{len(result['never_called'])}; most waiting at once: {result['most_waiting']} "
              f"(at {result['most_waiting_at']}); last call {result['last_call']}; calls per window {windows}."]
    return "\n".join(lines)


def comparison(before: dict[str, Any], after: dict[str, Any]) -> str:
    """Two runs of the same day side by side (e.g. before and after a change of the calling rule)."""
    def pair(old: float | None, new: float, percent: bool = False) -> str:
        show = (lambda v: f"{v:.0%}") if percent else (lambda v: f"{v:g}")
        return f"{'–' if old is None else show(old)} → {show(new)}"

    earlier = {item["item"]: item for item in before["per_item"]}
    lines = ["| item | p95 wait | longest wait | promise exact | largest promise error |",
             "| --- | ---: | ---: | ---: | ---: |"]
    rows = [(f"{i['prefix']} {i['name']}", earlier.get(i["item"]), i) for i in after["per_item"]]
    for label, old, new in [*rows, ("**all items**", before, after)]:
        lines.append(f"| {label} | {pair(old and old['wait_minutes']['p95'], new['wait_minutes']['p95'])} "
                     f"| {pair(old and old['wait_minutes']['max'], new['wait_minutes']['max'])} "
                     f"| {pair(old and old['promise']['exact_share'], new['promise']['exact_share'], True)} "
                     f"| {pair(old and old['promise']['max_abs'], new['promise']['max_abs'])} |")
    old, new = before["promise"], after["promise"]
    lines += ["", "| promise, before → after | |", "| --- | ---: |",
              f"| \\|promised − true\\| median | {pair(old['median_abs'], new['median_abs'])} |",
              f"| \\|promised − true\\| p95 | {pair(old['p95_abs'], new['p95_abs'])} |",
              f"| mean promised − true | {pair(old['mean_signed'], new['mean_signed'])} |",
              f"| median wait (min) | {pair(before['wait_minutes']['median'], after['wait_minutes']['median'])} |"]
    if (before["seed"], before["residents"]) != (after["seed"], after["residents"]):
        lines.append(f"\nNot the same day: seed {before['seed']} with {before['residents']} residents before, "
                     f"seed {after['seed']} with {after['residents']} after.")
    return "\n".join(lines)


# ---------------------------------------------------------------- running it


@contextmanager
def database(server: str | None) -> Iterator[str]:
    """A fresh database for the day: SQLite in a temporary folder, or, given any database URL of a PostgreSQL
    server, a throw-away database created there and dropped afterwards."""
    if server is None:
        with tempfile.TemporaryDirectory(prefix="hallq-bench-day-") as folder:
            yield f"sqlite:///{folder}/hallq.db"
        return
    url = make_url(server)
    if url.get_backend_name() != "postgresql":
        raise SystemExit("--database-url: a PostgreSQL URL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    name = f"hallq_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def server_code() -> str:
    """The commit the engine under test comes from, and whether server/ differs from it."""
    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", *args], cwd=common.ROOT, capture_output=True, text=True, check=False)

    commit = git("rev-parse", "--short", "HEAD").stdout.strip() or "unknown"
    changed = git("diff", "--quiet", "HEAD", "--", "server").returncode != 0
    return f"{commit} + changes in server/" if changed else commit


def simulate(url: str, config: HallConfig, people: Sequence[Resident]) -> Day:
    storage = Storage(url)
    try:
        storage.create_schema()
        clock = ManualClock(people[0].arrives)
        engine = QueueEngine(storage, config, clock, EventBus())
        engine.ensure_windows()
        return BusyDay(engine, clock).run(people)
    finally:
        storage.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1, help="draws the residents (default: %(default)s)")
    parser.add_argument("--tickets", type=common.positive_count, default=600, metavar="N",
                        help="residents in the day (default: %(default)s)")
    parser.add_argument("--database-url", metavar="URL",
                        help="run on this PostgreSQL server, in a throw-away database (default: SQLite)")
    parser.add_argument("--json", type=Path, metavar="PATH",
                        help="write the figures here (default: bench/results/busy_day_seed<SEED>.json)")
    parser.add_argument("--compare", type=Path, metavar="PATH",
                        help="also print this day side by side with an earlier run's JSON, e.g. "
                             "bench/baselines/busy_day_seed1_before.json")
    options = parser.parse_args()
    config = load_config(common.ROOT / "config.toml")
    people = residents(config, options.tickets, options.seed)
    started = time.perf_counter()
    with database(options.database_url) as url:
        day = simulate(url, config, people)
    result = {"seed": options.seed, "database": make_url(url).get_backend_name(), "code": server_code(),
              "command": " ".join(["bench/bench_busy_day.py", *sys.argv[1:]]),
              "runtime_seconds": round(time.perf_counter() - started, 1), **summary(day, config, people)}
    print(f"\nA busy day in the demo hall: {result['residents']} residents, seed {options.seed}, "
          f"{result['database']}, code {result['code']}, {result['engine_operations']} engine operations in "
          f"{result['runtime_seconds']} s\n")
    print(markdown(result))
    path = options.json or common.RESULTS / f"busy_day_seed{options.seed}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    print(f"\nwritten to {path}")
    if options.compare is not None:
        before = json.loads(options.compare.read_text())
        print(f"\n{options.compare} (code {before.get('code', '?')}) → this run (code {result['code']})\n")
        print(comparison(before, result))


if __name__ == "__main__":
    main()
