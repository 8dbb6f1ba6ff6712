"""REST for the case records (五件制): the open 承诺件 and 报批件, and marking them completed or replied."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint

from server.auth import Principal
from server.operations import Answer, operation
from server.schemas import Case, CaseType, OneCase
from server.web import OPERATORS, hall

bp = Blueprint("cases_api", __name__, url_prefix="/api")


class OpenCases(Answer):
    cases: list[Case]


class CaseTypeName(Answer):
    code: CaseType
    #: 即办件, 承诺件, 补办件, 退回件, 报批件
    name: str


class CaseOptions(Answer):
    """What the caller's 办件类型 choice offers."""

    today: date
    types: list[CaseTypeName]
    #: the dates proposed for a 承诺件 and a 报批件: so many working days ([cases] in config.toml) from today
    promised_due: date
    approval_due: date
    promised_working_days: int
    approval_working_days: int
    #: 退回件: the grounds offered first
    return_reasons: list[str]
    #: 补办件: each item's materials (一次性告知), by the item's code: the clerk ticks those missing
    materials: dict[str, list[str]]


@operation(bp, "get", "/cases", summary="Open 承诺件 and 报批件, overdue flagged (those the caller handles)",
           tag="cases", roles=OPERATORS, answer=OpenCases)
def open_cases(who: Principal) -> dict[str, Any]:
    """Those the caller handles (server.cases.handled_by), the earliest date first."""
    return {"cases": hall().cases.open_cases(who)}


@operation(bp, "get", "/cases/options", summary="What the caller's case-type choice proposes", tag="cases",
           roles=OPERATORS, answer=CaseOptions)
def options() -> dict[str, Any]:
    return hall().cases.options()


@operation(bp, "get", "/cases/<int:case_id>", summary="One case record (its clerk or admin)", tag="cases",
           roles=OPERATORS, answer=OneCase, errors=(404,))
def one_case(case_id: int, who: Principal) -> dict[str, Any]:
    return {"case": hall().cases.get(case_id, who)}


@operation(bp, "post", "/cases/<int:case_id>/close", summary="承诺件 completed / 报批件 reply received (the clerk who "
           "took it in, or admin)", tag="cases", roles=OPERATORS, answer=OneCase, errors=(404, 409))
def close_case(case_id: int, who: Principal) -> dict[str, Any]:
    return {"case": hall().cases.close(case_id, who)}
