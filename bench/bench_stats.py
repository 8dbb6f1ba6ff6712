"""Statistics for a 30-day range of 300 tickets a day, on SQLite: the report in-process and GET /api/stats.

The event log is written directly (the same actions and details the engine, the rating tablet and the case
records write: issued, called, recalled, started, finished, no_show, transferred, transferred_in, rated, unrated,
followup_opened, case_recorded, case_completed, appointment_*), with the case records (issue 16's
stages and extensions included) and a few complaints a day, so filling 30 days takes seconds; --days 365 is the
year the assessment reports on.

    .venv/bin/python bench/bench_stats.py [--runs 30] [--days 30] [--tickets 300]
"""

from __future__ import annotations

import random
import secrets
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common
from server.config import HallConfig, load_config
from server.db import Storage
from server.models import CaseRecord, Complaint, Staff, Ticket, TicketEvent

CLERKS = {window: f"clerk{window}" for window in range(1, 7)}
LEVELS = (("very_satisfied", 55), ("satisfied", 30), ("basic", 9), ("dissatisfied", 4), ("very_dissatisfied", 2))
CASES = (("immediate", 70), ("promised", 12), ("supplement", 9), ("returned", 4), ("approval", 5))


class Day:
    """One business day of a busy hall, as ticket and event rows."""

    def __init__(self, config: HallConfig, day: date, rng: random.Random, ids: dict[str, int]):
        self.config, self.day, self.rng, self.ids = config, day, rng, ids
        self.tickets: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.cases: list[dict[str, Any]] = []
        self.complaints: list[dict[str, Any]] = []
        self.numbers: dict[str, int] = {}

    def at(self, hour: float) -> datetime:
        return datetime.combine(self.day, datetime.min.time(), self.config.timezone) + timedelta(hours=hour)

    def event(self, ticket: int | None, action: str, at: datetime, window: int | None = None, actor: str = "system",
              detail: dict[str, Any] | None = None) -> None:
        self.ids["event"] += 1
        self.events.append({"id": self.ids["event"], "ticket_id": ticket, "action": action, "window_id": window,
                            "actor": actor, "at": at, "detail": detail})

    def ticket(self, service: str, issued: datetime, number: str | None = None,
               transferred_from: int | None = None) -> dict[str, Any]:
        self.ids["ticket"] += 1
        if number is None:
            prefix = self.config.service(service).prefix  # type: ignore[union-attr]
            self.numbers[prefix] = self.numbers.get(prefix, 0) + 1
            number = f"{prefix}{self.numbers[prefix]:03d}"
        row = {"id": self.ids["ticket"], "number": number, "service": service, "business_date": self.day,
               "status": "waiting", "priority": None, "queue_at": issued, "issued_at": issued, "called_at": None,
               "started_at": None, "finished_at": None, "window_id": None, "target_window": None, "recalls": 0,
               "channel": "kiosk", "transferred_from": transferred_from, "track_token": secrets.token_urlsafe(12)}
        self.tickets.append(row)
        return row

    def serve(self, row: dict[str, Any], since: datetime, may_transfer: bool = True) -> None:
        rng = self.rng
        windows = self.config.windows_serving(row["service"])
        window = rng.choice(windows).id
        clerk = CLERKS[window]
        called = since + timedelta(minutes=rng.expovariate(1 / 9))
        row.update(called_at=called, window_id=window, status="called")
        self.event(row["id"], "called", called, window, clerk)
        if rng.random() < 0.1:
            self.event(row["id"], "recalled", called + timedelta(seconds=40), window, clerk, {"recall": 1})
        if rng.random() < 0.06:
            self.event(row["id"], "no_show", called + timedelta(minutes=2), window, clerk)
            row.update(status="no_show", finished_at=called + timedelta(minutes=2))
            return
        start = called + timedelta(seconds=rng.randint(20, 120))
        if rng.random() < 0.7:
            self.event(row["id"], "started", start, window, clerk)
        done = start + timedelta(minutes=rng.expovariate(1 / 7))
        if may_transfer and rng.random() < 0.04:
            services = [s.code for s in self.config.services if s.code != row["service"]]
            moved = self.ticket(rng.choice(services), done, row["number"], row["id"])
            self.event(row["id"], "transferred", done, window, clerk, {"to_ticket": moved["id"],
                                                                        "service": moved["service"], "window": None})
            self.event(moved["id"], "transferred_in", done, None, clerk, {"from_ticket": row["id"],
                                                                           "from_window": window})
            row.update(status="transferred", finished_at=done)
            self.serve(moved, done, may_transfer=False)
            return
        row.update(status="done", started_at=start, finished_at=done)
        self.event(row["id"], "finished", done, window, clerk)
        self.case(row, window, clerk, done)
        self.rating(row, window, clerk, done)

    def case(self, row: dict[str, Any], window: int, clerk: str, done: datetime) -> None:
        rng = self.rng
        kind = rng.choices([k for k, _ in CASES], weights=[w for _, w in CASES])[0]
        detail: dict[str, Any] = {"type": kind}
        record: dict[str, Any] = {"ticket_id": row["id"], "window_id": window, "clerk": clerk, "type": kind,
                                  "recorded_at": done, "chosen": kind != "immediate" or rng.random() < 0.3}
        if kind in ("promised", "approval"):
            due = self.day + timedelta(days=rng.randint(3, 10))
            detail["due"] = due.isoformat()
            record["due"] = due
        elif kind == "supplement":
            detail["materials"] = record["materials"] = ["户口簿", "近期一寸照片"]
        elif kind == "returned":
            detail["reason"] = record["reason"] = "申报材料主件缺少"
            if rng.random() < 0.2:
                record.update(review_requested_at=done, review_due=self.day + timedelta(days=4),
                              reviewed_at=done + timedelta(days=rng.randint(1, 6)))
        self.event(row["id"], "case_recorded", done, window, clerk, detail)
        if kind == "promised" and rng.random() < 0.1:
            record.update(limit_due=record["due"] - timedelta(days=2), extensions=1, extension_reason="需现场踏勘")
        if kind == "approval":
            record.update(forward_due=self.day + timedelta(days=4),
                          forwarded_at=done + timedelta(days=rng.randint(0, 5)))
        if kind in ("promised", "approval") and rng.random() < 0.8:
            closed = done + timedelta(days=rng.randint(1, 12))
            record["closed_at"] = closed
            if kind == "approval":
                record.update(approved_at=closed - timedelta(days=1), answer_due=closed.date() + timedelta(days=1))
            self.event(row["id"], "case_completed", closed, window, clerk,
                       {"type": kind, "due": detail["due"], "on_time": closed.date() <= date.fromisoformat(
                           detail["due"])})
        self.cases.append(record)
        if rng.random() < 0.01:
            self.complaints.append({"business_date": self.day, "received_at": done, "channel": "phone",
                                    "window_id": window, "clerk": clerk, "request": "办事拖拉", "due": self.day,
                                    "registered_by": "guide", "upheld": rng.random() < 0.5})

    def rating(self, row: dict[str, Any], window: int, clerk: str, done: datetime) -> None:
        if self.rng.random() < 0.15:
            self.event(row["id"], "unrated", done + timedelta(seconds=60), window, "system",
                       {"clerk": clerk, "why": "timeout"})
            return
        level = self.rng.choices([k for k, _ in LEVELS], weights=[w for _, w in LEVELS])[0]
        poor = level in ("dissatisfied", "very_dissatisfied")
        at = done + timedelta(seconds=self.rng.randint(3, 40))
        self.event(row["id"], "rated", at, window, "device:rate-1", {"level": level, "reason": "等候时间过长" if poor
                                                                       else None, "channel": "evaluator",
                                                                       "clerk": clerk})
        if poor:
            self.event(row["id"], "followup_opened", at, window, "system",
                       {"clerk": clerk, "level": level, "due": (self.day + timedelta(days=7)).isoformat()})

    def fill(self, tickets: int) -> None:
        services = [s.code for s in self.config.services]
        weights = [8 if s.category == "户籍管理" else 3 if s.category in ("社会保障", "养老保障", "医疗保障") else 1
                   for s in self.config.services]
        for _ in range(tickets):
            hour = self.rng.choice((8.6, 9.1, 9.5, 10.0, 10.4, 11.0, 14.2, 14.6, 15.0, 15.5, 16.0, 16.7))
            issued = self.at(hour + self.rng.random() * 0.45)
            row = self.ticket(self.rng.choices(services, weights=weights)[0], issued)
            self.event(row["id"], "issued", issued, None, "device:kiosk-1", {"priority": None, "channel": "kiosk"})
            self.serve(row, issued)
        for k in range(12):  # appointments of the day: most kept
            action = "appointment_checked_in" if k % 4 else "appointment_forfeited"
            self.event(None, action, self.at(9), None, "system", {
                "appointment": f"{self.day}-{k}", "service": self.rng.choice(services), "date": self.day.isoformat()})


def populate(storage: Storage, config: HallConfig, first: date, days: int, tickets: int, seed: int = 2026) -> int:
    """Fill ``days`` business days from ``first`` with ``tickets`` residents each; returns the events written."""
    rng = random.Random(seed)
    ids = {"ticket": 0, "event": 0}
    with storage.write() as session:
        known = {staff.username: staff for staff in session.scalars(select(Staff))}
        for window, clerk in CLERKS.items():
            name, number = ("王小红", "李建国", "陈静", "赵敏", "刘洋", "孙丽")[window - 1], f"10{window:02d}"
            if clerk in known:  # a hall's own account: it only gets the demo's name and 工号
                known[clerk].display_name, known[clerk].staff_no = name, number
            else:
                session.add(Staff(username=clerk, display_name=name, staff_no=number, role="clerk",
                                  password_hash="-", failed_logins=0))
        for k in range(days):
            day = Day(config, first + timedelta(days=k), rng, ids)
            day.fill(tickets)
            session.execute(insert(Ticket), day.tickets)
            session.execute(insert(TicketEvent), day.events)
            session.execute(insert(CaseRecord), day.cases)
            if day.complaints:
                session.execute(insert(Complaint), day.complaints)
    return ids["event"]


def run(runs: int, days: int, tickets: int) -> common.Result:
    from server.app import create_app
    from server.clock import ManualClock
    from server.hall import Settings

    speed = common.speed_index()
    with tempfile.TemporaryDirectory(prefix="hallq-bench-stats-") as folder:
        config = load_config(common.ROOT / "config.toml")
        first = date(2026, 10, 1)
        last = first + timedelta(days=days - 1)
        url = f"sqlite:///{folder}/hallq.db"
        storage = Storage(url)
        storage.create_schema()
        started = time.perf_counter()
        written = populate(storage, config, first, days, tickets)
        fill_seconds = time.perf_counter() - started
        storage.dispose()
        clock = ManualClock(datetime.combine(last + timedelta(days=5), datetime.min.time(), config.timezone))
        app = create_app(Settings(common.ROOT / "config.toml", Path(folder) / "instance", url, clock),
                         async_mode="threading")
        hall = app.extensions["hallq"]
        hall.accounts.add_user("admin", "admin", "admin-bench-pw")
        client = app.test_client()
        client.post("/api/auth/login", json={"username": "admin", "password": "admin-bench-pw"})
        common.wait_for_quiet()
        domain, http = [], []
        report = hall.stats.report(first, last)  # warm-up
        for _ in range(runs):
            start = time.perf_counter()
            report = hall.stats.report(first, last)
            domain.append(time.perf_counter() - start)
            start = time.perf_counter()
            answer = client.get(f"/api/stats?from={first}&to={last}")
            http.append(time.perf_counter() - start)
            assert answer.status_code == 200, answer.json
        app.extensions["hallq_stop"]()
        hall.storage.dispose()
    stats = {"Statistics.report (in-process)": common.Stats.of(domain),
             "GET /api/stats (Flask, JSON)": common.Stats.of(http)}
    total = report["total"]
    return common.Result(
        "stats", f"Statistics for {days} days x {tickets} tickets on SQLite ({runs} runs)", stats,
        [common.Target("GET /api/stats p99", stats["GET /api/stats (Flask, JSON)"].p99, 1000, "ms")],
        {"python speed index (ms, lower is faster)": speed, "events in the log": written,
         "tickets issued": total["issued"], "served": total["served"], "rated": total["rated"],
         "satisfaction rate": total["satisfaction_rate"], "filling the database (s)": round(fill_seconds, 1)})


if __name__ == "__main__":
    options = common.arguments(__doc__ or "", runs=30, days=30, tickets=300)
    run(options.runs, options.days, options.tickets).report()
