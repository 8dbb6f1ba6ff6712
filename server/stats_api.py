"""REST for the hall's statistics (admin): the figures as JSON, and the same figures as CSV and XLSX."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from flask import Blueprint, Response
from pydantic import Field

from server import stats_export
from server.operations import Answer, File, operation
from server.schemas import Period
from server.vocabulary import UNRATED_RULES
from server.web import hall, parse_day, period_of

bp = Blueprint("stats_api", __name__, url_prefix="/api")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"


class DayOrPeriod(Period):
    """One day (date), or a month, a quarter, a year, or from and to (at most a year); checked by the view
    (bad_period)."""

    #: YYYY-MM-DD: that day alone; wins over the others
    date: str | None = None


def period(query: DayOrPeriod) -> tuple[date, date]:
    """?date=YYYY-MM-DD (one day), ?month=YYYY-MM, ?quarter=YYYY-Qn, ?year=YYYY, or ?from=&to= (at most a
    year)."""
    if query.date is not None:
        day = parse_day(query.date, "date", "bad_period")
        return day, day
    return period_of(query)


class Times(Answer):
    """Seconds: how many, mean, median and p90 (nearest rank); none when there were none."""

    n: int
    mean: float | None
    median: float | None
    p90: float | None


class Ratings(Answer):
    very_satisfied: int
    satisfied: int
    basic: int
    dissatisfied: int
    very_dissatisfied: int
    #: 未评价
    unrated: int


class CaseCounts(Answer):
    immediate: int
    promised: int
    supplement: int
    returned: int
    approval: int


class Stage(Answer):
    """A deadline's outcomes: done by the date, done after it, not done and past it, not done and in time; the
    on-time rate over those whose outcome is known (on time + late + overdue)."""

    on_time: int
    late: int
    overdue: int
    pending: int
    on_time_rate: float | None


class Promised(Stage):
    """承诺件 by outcome (closed by ``due``, the extended date when extended)."""

    total: int
    #: 承诺件 whose date was set beyond the item's 承诺时限 (延期), and how many times in all
    extended: int
    extensions: int


class Answered(Stage):
    """报批件 stage 2: the resident answered after the 批复 (due ``answer_due``)."""

    #: no 批复 yet: the stage has not begun
    awaiting: int


class Approval(Answer):
    """报批件 by stage: 上报 to the higher office, then the answer to the resident after the 批复."""

    total: int
    forward: Stage
    answer: Answered


class Review(Stage):
    """退回件 whose resident asked for 复核, by the outcome of the answer (due ``review_due``)."""

    requested: int


class Complaints(Answer):
    """Complaints of the period (their own business date): all, and those upheld (投诉属实)."""

    received: int
    upheld: int


class Deductions(Answer):
    """Points taken off the score (server/assessment.py)."""

    complaint: float
    late: float
    extension: float
    satisfaction: float


class Score(Answer):
    """The assessment's score of a clerk or a window for the period (考核, 机构建设 4.5-4.7)."""

    score: float
    deductions: Deductions
    #: deadlines missed (承诺件, 报批件 上报 and answer, 复核: late or overdue), and their share of the deadlines
    #: whose outcome is known (the late deduction's rate, 0-1)
    missed: int
    missed_share: float
    #: the share of 承诺件 extended (the extension deduction's rate, 0-1)
    extended_share: float


class Kept(Answer):
    """Appointments dated in the period: checked in / (checked in + forfeited)."""

    checked_in: int
    forfeited: int
    kept_rate: float | None


class Figures(Answer):
    """The figures of one scope: the whole period, a day, an item, a window or a staff member."""

    #: "total", the day, the item's code, the window's id or the staff member's username
    key: str | int
    name: str
    #: none for a window and a staff member (a ticket is issued to an item, not a window)
    issued: int | None
    served: int
    no_show: int
    transferred: int
    waiting: Times
    service_time: Times
    ratings: Ratings
    #: the five levels' ratings (未评价 not among them)
    rated: int
    satisfaction_rate: float | None
    #: every case recorded, the 即办件 call-next or F5 recorded by default among them
    cases: CaseCounts
    #: 即办件 a clerk chose, and those recorded by default (nobody chose)
    immediate_chosen: int
    immediate_default: int
    #: 即办件 a clerk chose ÷ cases a clerk chose (the defaults left out of both)
    immediate_share: float | None
    promised: Promised
    approval: Approval
    review: Review
    complaints: Complaints
    #: by_window and by_clerk only
    assessment: Score | None
    #: none for a window and a staff member
    appointments: Kept | None
    #: the staff member's 工号 (by_clerk only)
    staff_no: str | None = None


class Formula(Answer):
    basic_counts_satisfied: bool
    unrated: Literal[tuple(UNRATED_RULES)]  # type: ignore[valid-type]
    unrated_name: str
    target_rate: float
    #: the formula in words: 满意率 = （非常满意+满意）÷（五级评价总数）…
    text: str


class AssessmentFormula(Answer):
    """config.toml [assessment]: the points, and the formula in words."""

    base_points: int
    complaint_points: int
    late_points: int
    extension_points: int
    satisfaction_points: int
    text: str


class Span(Answer):
    """A period, and its days: all of them (the report) or those 延时服务 happened on (its totals)."""

    first: date = Field(alias="from")
    last: date = Field(alias="to")
    days: int


class ExtendedTotals(Span):
    """延时服务 in the period: the days it happened, the times (次), the residents served."""

    sessions: int
    served: int
    text: str
    minutes: float
    anomalies: int


class Report(Span):
    """The hall's figures of a period (server/stats.py says how each is computed)."""

    generated_at: datetime
    timezone: str
    formula: Formula
    assessment: AssessmentFormula
    total: Figures
    by_day: list[Figures]
    by_service: list[Figures]
    by_window: list[Figures]
    by_clerk: list[Figures]
    #: issued tickets by the local hour, 0 to 23
    arrivals_by_hour: list[int]
    extended: ExtendedTotals


@operation(bp, "get", "/stats", summary="Statistics and the staff assessment for ?date=, ?month=, ?quarter=, "
           "?year= or ?from=&to= (admin)", tag="statistics", roles=("admin",), query=DayOrPeriod, answer=Report)
def figures(query: DayOrPeriod) -> dict[str, Any]:
    return hall().stats.report(*period(query))


def _download(content: bytes, mimetype: str, report: dict[str, Any], suffix: str) -> Response:
    name = f"hallq-stats-{report['from']}_{report['to']}.{suffix}"
    return Response(content, mimetype=mimetype, headers={"Content-Disposition": f"attachment; filename={name}",
                                                         "Cache-Control": "no-store"})


@operation(bp, "get", "/stats.csv", summary="The same figures as CSV (UTF-8 with BOM)", tag="statistics",
           roles=("admin",), query=DayOrPeriod, answer=File(CSV))
def figures_csv(query: DayOrPeriod) -> Response:
    report = hall().stats.report(*period(query))
    return _download(stats_export.to_csv(report), CSV, report, "csv")


@operation(bp, "get", "/stats.xlsx", summary="The same figures as XLSX, and the assessment of the clerks and of the "
           "windows on sheets of their own", tag="statistics", roles=("admin",),
           query=DayOrPeriod, answer=File(XLSX))
def figures_xlsx(query: DayOrPeriod) -> Response:
    report = hall().stats.report(*period(query))
    return _download(stats_export.to_xlsx(report), XLSX, report, "xlsx")
