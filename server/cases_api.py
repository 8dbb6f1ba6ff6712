"""REST for the case records (五件制): what is left to do, the time points marked one by one (审核、决定、送达; 补齐;
上报、批复), extensions with their reason, 复核 of a 退回件, and the cases of a period with an XLSX export."""

from __future__ import annotations

from datetime import date
from io import BytesIO
from typing import Any

from flask import Blueprint, Response, send_file

from server.auth import Principal
from server.cases import STEP_EVENTS
from server.cases_export import to_xlsx
from server.operations import Answer, Body, File, operation
from server.schemas import Case, CaseType, OneCase, Period, one_of
from server.vocabulary import REVIEW_RESULTS
from server.web import OPERATORS, hall, period_of

bp = Blueprint("cases_api", __name__, url_prefix="/api")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class OpenCases(Answer):
    cases: list[Case]


class PeriodCases(Answer):
    first: date
    last: date
    cases: list[Case]


class CaseTypeName(Answer):
    code: CaseType
    #: 即办件, 承诺件, 补办件, 退回件, 报批件
    name: str


class ItemLimit(Answer):
    """An item's 承诺时限 (config.toml [[services]] promised_working_days) and the date it gives from today."""

    #: working days; null for 即办 items
    working_days: int | None
    #: 即办: finished on the spot, any later date is an extension
    immediate: bool
    due: date


class CaseOptions(Answer):
    """What the caller's 办件类型 choice offers."""

    today: date
    types: list[CaseTypeName]
    #: the hall's default 承诺件 date ([cases] promised_working_days from today), for items without their own
    promised_due: date
    #: each item's 承诺时限 and the 承诺件 date it gives, by the item's code: a later date needs a reason
    promised: dict[str, ItemLimit]
    #: the date a 报批件 taken in today must be forwarded (上报) by
    approval_due: date
    promised_working_days: int
    approval_working_days: int
    #: 报批件: the resident is answered within so many working days of the 批复
    answer_working_days: int
    #: 退回件: a 复核 is answered within so many working days
    review_working_days: int
    #: 退回件: the grounds offered first
    return_reasons: list[str]
    #: 补办件: each item's materials (一次性告知), by the item's code: the clerk ticks those missing
    materials: dict[str, list[str]]


class StepChoice(Body):
    #: supplemented 补齐, checked 审核, forwarded 上报, approved 批复到达, decided 决定, delivered 送达 (checked by the
    #: domain: bad_step)
    step: one_of(STEP_EVENTS)  # type: ignore[valid-type]


class Extension(Body):
    #: the new date, YYYY-MM-DD, later than the current one and within a year
    due: str
    #: why (at most 200 characters)
    reason: str


class ReviewAnswer(Body):
    #: upheld 维持 (the 退回 stands), revoked 撤销
    result: one_of(REVIEW_RESULTS)  # type: ignore[valid-type]
    #: what the resident was told (at most 200 characters)
    text: str | None = None


@operation(bp, "get", "/cases", summary="What is left to do: open 承诺件, 补办件 and 报批件 and 退回件 awaiting 复核, "
           "overdue stages flagged (those the caller handles)", tag="cases", roles=OPERATORS, answer=OpenCases)
def open_cases(who: Principal) -> dict[str, Any]:
    """Those the caller handles (server.cases.handled_by), the earliest deadline first."""
    return {"cases": hall().cases.open_cases(who)}


@operation(bp, "get", "/cases/options", summary="What the caller's case-type choice proposes", tag="cases",
           roles=OPERATORS, answer=CaseOptions)
def options() -> dict[str, Any]:
    return hall().cases.options()


@operation(bp, "get", "/cases/period", summary="Every case of a period with its time points (those the caller "
           "handles: the admin sees all)", tag="cases", roles=OPERATORS, query=Period, answer=PeriodCases,
           errors=(422,))
def period_cases(who: Principal, query: Period) -> dict[str, Any]:
    first, last = period_of(query)
    return {"first": first.isoformat(), "last": last.isoformat(), "cases": hall().cases.of_period(first, last, who)}


@operation(bp, "get", "/cases.xlsx", summary="The cases of a period with their time points as XLSX (admin)",
           tag="cases", roles=("admin",), query=Period, answer=File(XLSX), errors=(422,))
def cases_xlsx(who: Principal, query: Period) -> Response:
    first, last = period_of(query)
    config = hall().config
    data = to_xlsx(config.name, first, last, hall().cases.of_period(first, last, who), config.timezone)
    return send_file(BytesIO(data), mimetype=XLSX, as_attachment=True, max_age=0,
                     download_name=f"办件登记表-{first.isoformat()}-{last.isoformat()}.xlsx")


@operation(bp, "get", "/cases/<int:case_id>", summary="One case record (its clerk or admin)", tag="cases",
           roles=OPERATORS, answer=OneCase, errors=(404,))
def one_case(case_id: int, who: Principal) -> dict[str, Any]:
    return {"case": hall().cases.get(case_id, who)}


@operation(bp, "post", "/cases/<int:case_id>/step", summary="Mark the case's next time point (审核, 决定, 送达; 补齐; "
           "上报, 批复到达)", tag="cases", roles=OPERATORS, body=StepChoice, answer=OneCase, errors=(404, 409))
def mark_step(case_id: int, who: Principal, data: StepChoice) -> dict[str, Any]:
    return {"case": hall().cases.mark(case_id, data.step, who)}


@operation(bp, "post", "/cases/<int:case_id>/close", summary="办结 at once: every time point not yet marked is "
           "marked now (the clerk who took it in, or admin)", tag="cases", roles=OPERATORS, answer=OneCase,
           errors=(404, 409))
def close_case(case_id: int, who: Principal) -> dict[str, Any]:
    return {"case": hall().cases.close(case_id, who)}


@operation(bp, "post", "/cases/<int:case_id>/extend", summary="A later date for an open 承诺件 or 补办件, with the "
           "reason (an extension)", tag="cases", roles=OPERATORS, body=Extension, answer=OneCase,
           errors=(404, 409))
def extend_case(case_id: int, who: Principal, data: Extension) -> dict[str, Any]:
    return {"case": hall().cases.extend(case_id, data.due, data.reason, who)}


@operation(bp, "post", "/cases/<int:case_id>/review-request", summary="退回件: the resident asked for 复核",
           tag="cases", roles=OPERATORS, answer=OneCase, errors=(404, 409))
def request_review(case_id: int, who: Principal) -> dict[str, Any]:
    return {"case": hall().cases.request_review(case_id, who)}


@operation(bp, "post", "/cases/<int:case_id>/review", summary="退回件: the 复核's answer (维持 or 撤销)", tag="cases",
           roles=OPERATORS, body=ReviewAnswer, answer=OneCase, errors=(404, 409))
def answer_review(case_id: int, who: Principal, data: ReviewAnswer) -> dict[str, Any]:
    return {"case": hall().cases.answer_review(case_id, data.result, data.text, who)}
