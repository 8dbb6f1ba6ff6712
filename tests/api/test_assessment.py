"""Issue 16: the case statistics (extensions, the 报批件 stages, 复核, default 即办件 apart) and the staff assessment
(考核, 机构建设 4.5-4.7) per clerk and per window, with hand-computed figures; the chain day → month → quarter →
year; the quarter and year periods; the assessment's XLSX sheets.

Residents are served through the API (the engine's 办结 records a case); what the case code of issue 16 records
later (types, dates, stages) is written straight into the case rows, complaints straight into their table."""

from __future__ import annotations

import io
import random
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from server.clock import ManualClock
from server.models import CaseRecord, Complaint
from server.stats_export import ASSESSMENT_HEADER
from tests.api.conftest import open_hall_app
from tests.api.quality import RATING_HALL, RatingHall, err
from tests.conftest import SHANGHAI

DAY = date(2026, 11, 30)
TABLETS = {1: "rate-1", 2: "rate-2"}
SERVICE = {1: "id-card", 2: "pension"}
CLERK = {1: "clerk1", 2: "clerk2"}


@pytest.fixture
def hall_of_200(tmp_path: Path, database_url: str, clock: ManualClock) -> Iterator[RatingHall]:
    """The rating hall scoring out of 200: a day of nine residents misses a large share of its deadlines, and the
    score must not reach its floor of 0 for the test to show each deduction."""
    for hall_app in open_hall_app(tmp_path, database_url, clock, RATING_HALL + "\n[assessment]\nbase_points = 200\n"):
        yield RatingHall(hall_app)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), SHANGHAI)


def serve(rh: RatingHall, clerk: FlaskClient, window: int, level: str | None) -> int:
    """One resident served at ``window`` (a default 即办件 recorded at 办结), rated on the window's tablet."""
    ticket, _ = rh.serve(clerk, window, SERVICE[window])
    if level is not None:
        body = {"ticket": ticket["id"], "level": level,
                **({"reason": "等候时间过长"} if level in ("dissatisfied", "very_dissatisfied") else {})}
        assert rh.tablet(TABLETS[window]).post(f"/api/rate/{window}", json=body).status_code == 200
    return ticket["id"]


def set_case(rh: RatingHall, ticket: int, **columns: Any) -> None:
    """What the case code records after 办结 (issue 16's columns), written into the ticket's case row: a type the
    clerk chose unless ``chosen=False`` (the 办结 itself recorded the default 即办件)."""
    with rh.h.hall.storage.write() as session:
        record = session.scalars(select(CaseRecord).where(CaseRecord.ticket_id == ticket)).one()
        for name, value in {"chosen": True, **columns}.items():
            setattr(record, name, value)


def complain(rh: RatingHall, day: date, window: int | None, clerk: str | None, upheld: bool | None) -> None:
    with rh.h.hall.storage.write() as session:
        session.add(Complaint(business_date=day, received_at=at(day, 15), channel="phone", window_id=window,
                              clerk=clerk, request="办事慢", due=day, registered_by="guide", upheld=upheld))


# ---------------------------------------------------------------- one day, worked out by hand

def quiet(rh: RatingHall) -> None:
    """The server's ticker stopped: the test records 未评价 itself (tick), so no figure changes between queries."""
    rh.h.app.extensions["hallq_ticker"].stop()


def one_day(rh: RatingHall) -> None:
    """Monday 2026-11-30: clerk1 serves six residents at window 1, clerk2 three at window 2 (see the test)."""
    quiet(rh)
    rh.h.clock.set(at(DAY, 9))
    first, second = rh.h.staff("clerk1", window=1), rh.h.staff("clerk2", window=2)
    t = [serve(rh, first, 1, level) for level in ("very_satisfied", "satisfied", "basic", "dissatisfied", None,
                                                   "satisfied")]
    t += [serve(rh, second, 2, level) for level in ("very_satisfied", "very_dissatisfied", "satisfied", None)]
    set_case(rh, t[0], chosen=False)  # 即办件 by default: call-next / F5 without a choice
    set_case(rh, t[1], chosen=False)
    set_case(rh, t[2])  # 即办件 the clerk chose
    set_case(rh, t[3], type="promised", due=date(2026, 12, 2), limit_due=date(2026, 12, 2),
             closed_at=at(date(2026, 12, 2), 17))  # on time
    set_case(rh, t[4], type="promised", due=date(2026, 12, 8), limit_due=date(2026, 12, 2), extensions=1,
             extension_reason="需现场踏勘", closed_at=at(date(2026, 12, 9), 9))  # extended, and still late
    set_case(rh, t[5], type="approval", forward_due=date(2026, 12, 2), forwarded_at=at(date(2026, 12, 1), 10),
             approved_at=at(date(2026, 12, 4), 10), answer_due=date(2026, 12, 8))  # 上报 on time, answer overdue
    set_case(rh, t[6], type="approval", forward_due=date(2026, 12, 2))  # never forwarded: 上报 overdue
    set_case(rh, t[7], type="returned", reason="主件缺少", review_requested_at=at(date(2026, 12, 1), 9),
             review_due=date(2026, 12, 4), reviewed_at=at(date(2026, 12, 3), 16), review_result="维持")
    set_case(rh, t[8], type="promised", due=date(2026, 12, 15), limit_due=date(2026, 12, 4), extensions=2)
    # a 报批件 as migration 0004 left one recorded before issue 16: its reply received, when it was forwarded and
    # whether the resident was answered unknown: in neither stage
    set_case(rh, t[9], type="approval", forward_due=date(2026, 12, 2), approved_at=at(date(2026, 12, 4), 9),
             closed_at=at(date(2026, 12, 4), 9))
    complain(rh, DAY, 1, "clerk1", upheld=True)
    complain(rh, DAY, 1, "clerk1", upheld=False)
    complain(rh, DAY, 2, "clerk2", upheld=True)
    complain(rh, DAY, None, None, upheld=None)  # about the hall, not yet investigated
    complain(rh, date(2026, 12, 1), 2, "clerk2", upheld=True)  # the next day: another period
    rh.h.clock.set(at(date(2026, 12, 10), 9))
    rh.h.hall.evaluation.tick()


def test_the_case_figures_and_the_assessment_of_a_day(hall_of_200: RatingHall) -> None:
    rh = hall_of_200
    one_day(rh)
    report = rh.h.staff("admin").get(f"/api/stats?date={DAY}").json
    total = report["total"]
    assert total["cases"] == {"immediate": 3, "promised": 3, "supplement": 0, "returned": 1, "approval": 3}
    # point 5: the two defaults stay out of the share: 1 chosen 即办件 of the 8 cases a clerk chose
    assert (total["immediate_chosen"], total["immediate_default"]) == (1, 2)
    assert total["immediate_share"] == pytest.approx(1 / 8, abs=5e-5)
    # point 1: on time by the (extended) date; extended counted as cases and as times
    assert total["promised"] == {"total": 3, "on_time": 1, "late": 1, "overdue": 0, "pending": 1,
                                 "on_time_rate": 0.5, "extended": 2, "extensions": 3}
    # point 2: 上报 and the answer after the 批复, each stage apart; 复核 of a 退回件
    assert total["approval"] == {
        "total": 3, "forward": {"on_time": 1, "late": 0, "overdue": 1, "pending": 0, "on_time_rate": 0.5},
        "answer": {"on_time": 0, "late": 0, "overdue": 1, "pending": 0, "on_time_rate": 0.0, "awaiting": 1}}
    assert total["review"] == {"requested": 1, "on_time": 1, "late": 0, "overdue": 0, "pending": 0,
                               "on_time_rate": 1.0}
    assert total["complaints"] == {"received": 4, "upheld": 2} and total["assessment"] is None

    clerks = {g["key"]: g for g in report["by_clerk"]}
    windows = {g["key"]: g for g in report["by_window"]}
    assert set(clerks) == {"clerk1", "clerk2"} and set(windows) == {1, 2}
    first, second = clerks["clerk1"], clerks["clerk2"]
    assert (first["served"], first["complaints"], first["immediate_default"]) == (6, {"received": 2, "upheld": 1}, 2)
    # clerk1: 满意率 (2 + 1 + 1 of 5 rated, 未评价 left out) 80%, 18 points short of 98%; one complaint upheld;
    # 2 of 4 deadlines missed (承诺件: on time, late; 报批件: 上报 on time, answer overdue): 50%; 1 of 2 承诺件
    # extended: 50%. 200 − 5 − 50 − 50 − 18
    assert first["satisfaction_rate"] == 0.8
    assert first["assessment"] == {"score": 77.0, "deductions": {"complaint": 5, "late": 50.0, "extension": 50.0,
                                                                 "satisfaction": 18.0},
                                   "missed": 2, "missed_share": 0.5, "extended_share": 0.5}
    # clerk2: 2 of 3 satisfied (66.67%): 31.33 short; one complaint upheld that day (the next day's is not
    # this period's); 1 of 2 deadlines known missed (上报 overdue, 复核 on time; the answer awaits its 批复 and the
    # 承诺件 is not due): 50%; its one 承诺件 extended (twice: counted once): 100%. 200 − 5 − 50 − 100 − 31.33
    assert second["assessment"] == {"score": 13.67, "deductions": {"complaint": 5, "late": 50.0, "extension": 100.0,
                                                                   "satisfaction": 31.33},
                                    "missed": 1, "missed_share": 0.5, "extended_share": 1.0}
    # a window's figures are its clerks' at it: here one clerk each, so the same score
    assert windows[1]["assessment"] == first["assessment"] and windows[2]["assessment"] == second["assessment"]
    assert windows[2]["complaints"] == {"received": 1, "upheld": 1}
    assert report["assessment"]["text"].startswith("得分 = 200 − 投诉属实件数×5 − 办件超时率(%)×1 − 承诺件延期率(%)×1")


def test_the_assessment_sheets_of_the_excel_export(hall_of_200: RatingHall) -> None:
    rh = hall_of_200
    one_day(rh)
    admin = rh.h.staff("admin")
    answer = admin.get(f"/api/stats.xlsx?date={DAY}")
    assert answer.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(answer.get_data()))
    assert book.sheetnames == ["统计", "工作人员考核", "窗口考核"]
    sheets = (("工作人员考核", {"王小红": "1001", "clerk2": ""}), ("窗口考核", {"1号窗口": "", "2号窗口": ""}))
    for title, names in sheets:
        sheet = [["" if cell is None else cell for cell in row] for row in book[title].iter_rows(values_only=True)]
        assert sheet[0][:2] == ["考核期间", f"{DAY} 至 {DAY}"] and sheet[1][1].startswith("得分 = 200")
        assert sheet[4] == ASSESSMENT_HEADER
        lines = {row[0]: dict(zip(ASSESSMENT_HEADER, row, strict=True)) for row in sheet[5:]}
        assert {name: line["工号"] for name, line in lines.items()} == names
        first, second = lines[next(iter(names))], lines[list(names)[1]]
        assert (first["办结"], first["满意率(%)"], first["超时(件次)"], first["超时率(%)"], first["投诉属实"],
                first["得分"]) == (6, 80, 2, 50, 1, 77)
        assert (second["扣分：满意率未达标"], second["承诺件延期"], second["延期率(%)"], second["得分"]) == (
            31.33, 1, 100, 13.67)
    for client in (rh.h.staff("clerk1"), rh.h.staff("guide")):
        err(client.get(f"/api/stats.xlsx?date={DAY}"), 403, "forbidden")


def test_a_name_typed_as_a_formula_stays_text_on_the_assessment_sheets(rating_hall: RatingHall) -> None:
    rh = rating_hall
    rh.h.hall.accounts.add_user("clerk1", "clerk", "clerk1-secret-pw", display_name="=1+2", staff_no="@SUM(A1)")
    rh.h.clock.set(at(DAY, 9))
    serve(rh, rh.h.staff("clerk1", window=1), 1, "satisfied")
    book = openpyxl.load_workbook(io.BytesIO(rh.h.staff("admin").get(f"/api/stats.xlsx?date={DAY}").get_data()))
    sheet = book["工作人员考核"]
    assert [cell.data_type for row in sheet.iter_rows() for cell in row if cell.data_type == "f"] == []
    assert [row[:2] for row in sheet.iter_rows(min_row=6, values_only=True)] == [("'=1+2", "'@SUM(A1)")]


# ---------------------------------------------------------------- quarters and years

@pytest.mark.parametrize(("query", "first", "last"), [
    ("quarter=2026-Q1", "2026-01-01", "2026-03-31"), ("quarter=2026-Q4", "2026-10-01", "2026-12-31"),
    ("quarter=2028-Q1", "2028-01-01", "2028-03-31"), ("year=2026", "2026-01-01", "2026-12-31"),
    ("year=2028", "2028-01-01", "2028-12-31"), ("month=2026-12", "2026-12-01", "2026-12-31"),
    ("quarter=2026-Q2&from=2026-01-01&to=2026-01-02", "2026-04-01", "2026-06-30")])
def test_a_quarter_and_a_year_are_periods(rating_hall: RatingHall, query: str, first: str, last: str) -> None:
    report = rating_hall.h.staff("admin").get(f"/api/stats?{query}").json
    assert (report["from"], report["to"]) == (first, last)
    assert report["by_day"][0]["key"] == first and report["by_day"][-1]["key"] == last


@pytest.mark.parametrize("query", ["quarter=2026-Q5", "quarter=2026-Q0", "quarter=2026Q1", "quarter=2026-q1",
                                   "quarter=26-Q1", "quarter=", "year=26", "year=2026-01", "year=abcd",
                                   "year=1999", "year=2100", "quarter=2100-Q1", "month=2026-13",
                                   "year=2026&quarter=2026-Q1", "month=2026-01&year=2026"])
def test_a_nonsense_quarter_or_year_is_refused(rating_hall: RatingHall, query: str) -> None:
    admin = rating_hall.h.staff("admin")
    err(admin.get(f"/api/stats?{query}"), 422, "bad_period")
    err(admin.get(f"/api/stats.xlsx?{query}"), 422, "bad_period")


# ---------------------------------------------------------------- the chain: day → month → quarter → year

CHAIN_DAYS = (date(2026, 1, 15), date(2026, 1, 20), date(2026, 2, 10), date(2026, 4, 14), date(2026, 6, 9),
              date(2026, 7, 8), date(2026, 9, 15), date(2026, 10, 20), date(2026, 11, 2), date(2026, 11, 30))
LEVELS = ("very_satisfied", "satisfied", "basic", "dissatisfied", "very_dissatisfied", None)


def a_year(rh: RatingHall) -> None:
    """Ten working days of 2026, each with a few residents at windows 1 and 2, clerk1 moving to window 2 on some
    days (so a window's figures are more than one clerk's), cases of every kind, complaints."""
    quiet(rh)
    rng = random.Random(16)
    for day in CHAIN_DAYS:
        rh.h.clock.set(at(day, 9))
        swap = rng.random() < 0.4
        seats = {1: rh.h.staff("clerk2" if swap else "clerk1", window=1),
                 2: rh.h.staff("clerk1" if swap else "clerk2", window=2)}
        for _ in range(rng.randint(2, 6)):
            window = rng.choice((1, 2))
            ticket = serve(rh, seats[window], window, rng.choice(LEVELS))
            kind = rng.choice(("default", "immediate", "promised", "approval", "returned", "supplement"))
            late = at(day.replace(day=28), 9)  # after every date below
            if kind == "default":
                set_case(rh, ticket, chosen=False)
            elif kind == "promised":
                set_case(rh, ticket, type="promised", due=day.replace(day=25), extensions=rng.choice((0, 0, 1, 2)),
                         closed_at=rng.choice((None, at(day, 16), late)))
            elif kind == "approval":
                set_case(rh, ticket, type="approval", forward_due=day.replace(day=25),
                         forwarded_at=rng.choice((None, at(day, 16), late)),
                         approved_at=rng.choice((None, at(day, 17))), answer_due=day.replace(day=26),
                         closed_at=rng.choice((None, late)))
            elif kind == "returned":
                set_case(rh, ticket, type="returned", reason="主件缺少",
                         review_requested_at=rng.choice((None, at(day, 17))), review_due=day.replace(day=25),
                         reviewed_at=rng.choice((None, late)))
            elif kind == "supplement":
                set_case(rh, ticket, type="supplement", materials=["户口簿"])
        for window, seat in seats.items():
            assert seat.post(f"/api/windows/{window}/sign-out").status_code == 200
        for _ in range(rng.randint(0, 2)):
            window = rng.choice((1, 2))
            clerk = CLERK[window] if not swap else CLERK[3 - window]
            complain(rh, day, window, clerk, rng.choice((True, False, None)))
    rh.h.clock.set(at(date(2027, 1, 10), 9))
    rh.h.hall.evaluation.tick()


def counts(figures: dict[str, Any], prefix: str = "") -> Counter[str]:
    """Every count of one scope's figures, flattened (rates, times and scores left out: they are recomputed)."""
    flat: Counter[str] = Counter()
    for name, value in figures.items():
        if isinstance(value, dict):
            flat.update(counts(value, f"{prefix}{name}."))
        elif isinstance(value, int) and not isinstance(value, bool) and name not in ("key", "days"):
            flat[f"{prefix}{name}"] = value
    return flat


def scopes(report: dict[str, Any]) -> dict[Any, Counter[str]]:
    """The counts of the period, of each clerk and of each window (zeros left out)."""
    answer = {"total": counts({k: v for k, v in report["total"].items() if k != "appointments"})}
    answer |= {("clerk", g["key"]): counts(g) for g in report["by_clerk"]}
    answer |= {("window", g["key"]): counts(g) for g in report["by_window"]}
    return {scope: +flat for scope, flat in answer.items() if +flat}


def added(reports: list[dict[str, Any]]) -> dict[Any, Counter[str]]:
    total: dict[Any, Counter[str]] = {}
    for report in reports:
        for scope, flat in scopes(report).items():
            total.setdefault(scope, Counter()).update(flat)
    return total


def expected_score(flat: Counter[str], rate: float | None) -> float:
    """The default [assessment] on summed counts: 100 − 5 × upheld − the % of deadlines missed − the % of 承诺件
    extended − the satisfaction shortfall in percentage points."""
    stages = ("promised", "approval.forward", "approval.answer", "review")
    missed = sum(flat[f"{stage}.{outcome}"] for stage in stages for outcome in ("late", "overdue"))
    known = missed + sum(flat[f"{stage}.on_time"] for stage in stages)
    late = round(missed / known * 100, 2) if known else 0
    extended = round(flat["promised.extended"] / flat["promised.total"] * 100, 2) if flat["promised.total"] else 0
    shortfall = round(max(0.0, 0.98 - rate) * 100, 2) if rate is not None else 0
    return round(max(0.0, 100 - 5 * flat["complaints.upheld"] - late - extended - shortfall), 2)


def test_the_assessment_is_chained_day_month_quarter_year(rating_hall: RatingHall) -> None:
    """4.6 层层挂钩: a month's counts are its days' summed, a quarter's its months', the year's its quarters',
    for the hall, each clerk and each window; rates and scores are recomputed from the summed counts."""
    rh = rating_hall
    a_year(rh)
    admin = rh.h.staff("admin")
    get = lambda query: admin.get(f"/api/stats?{query}").json  # noqa: E731
    days = {day: get(f"date={day}") for day in CHAIN_DAYS}
    months = {f"2026-{m:02d}": get(f"month=2026-{m:02d}") for m in range(1, 13)}
    quarters = {q: get(f"quarter=2026-Q{q}") for q in range(1, 5)}
    year = get("year=2026")
    for name, month in months.items():
        assert scopes(month) == added([d for day, d in days.items() if day.isoformat()[:7] == name]), name
    for q, quarter in quarters.items():
        assert scopes(quarter) == added([months[f"2026-{m:02d}"] for m in range(3 * q - 2, 3 * q + 1)]), q
    summed = added(list(quarters.values()))
    assert scopes(year) == summed
    assert year["total"]["served"] == sum(d["total"]["served"] for d in days.values()) > 30
    # a window's counts are what its clerks did at it: the two windows add up to the two clerks
    assert sum(g["served"] for g in year["by_window"]) == sum(g["served"] for g in year["by_clerk"])
    assert (sum(g["complaints"]["upheld"] for g in year["by_window"])
            == sum(g["complaints"]["upheld"] for g in year["by_clerk"]))
    # rates recomputed from the summed ratings (基本满意 counts, 未评价 left out), not averaged; so is the score
    groups = [year["total"], *year["by_clerk"], *year["by_window"]]
    for group in groups:
        flat = summed["total" if group is year["total"] else
                      ("clerk" if isinstance(group["key"], str) else "window", group["key"])]
        good = flat["ratings.very_satisfied"] + flat["ratings.satisfied"] + flat["ratings.basic"]
        rate = round(good / flat["rated"], 4) if flat["rated"] else None
        assert group["satisfaction_rate"] == rate
        if group is not year["total"]:
            assert group["assessment"]["score"] == pytest.approx(expected_score(flat, rate), abs=0.006)
    rates = [q["total"]["satisfaction_rate"] for q in quarters.values()]
    assert year["total"]["satisfaction_rate"] != pytest.approx(sum(rates) / len(rates), abs=1e-4)
    assert {g["key"] for g in year["by_clerk"]} == {"clerk1", "clerk2"}
