"""五件制 at 办结: the case types, their checks, overdue 承诺件 and 报批件 by the calendar, the printable notices."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from server.clock import ManualClock
from server.events import HallEvent
from server.models import TicketEvent
from tests.api.conftest import open_hall_app
from tests.api.quality import RATING_HALL, RatingHall, err
from tests.conftest import SHANGHAI

#: RATING_HALL with the items' 承诺时限: 户口迁移 10 working days, 养老保险参保登记 即办, 居民身份证核发 none of its own
#: ([cases] promised_working_days = 4); a 投诉电话. Monday 2026-11-30; Thursday 12-03 a holiday, Saturday 12-05 调休.
CASE_HALL = (RATING_HALL.replace('prefix = "B"\n', 'prefix = "B"\npromised_working_days = 10\n')
             .replace('prefix = "L"\n', 'prefix = "L"\npromised_working_days = "即办"\n')
             .replace('name = "测试便民服务中心"\n', 'name = "测试便民服务中心"\ncomplaint_phone = "0571-8888 1234"\n'))


@pytest.fixture
def case_hall(tmp_path: Path, database_url: str, clock: ManualClock) -> Iterator[RatingHall]:
    for hall_app in open_hall_app(tmp_path, database_url, clock, CASE_HALL):
        yield RatingHall(hall_app)


def at(rh: RatingHall, month: int, day: int, hour: int = 10) -> None:
    rh.h.clock.set(datetime(2026, month, day, hour, 0, tzinfo=SHANGHAI))


def case_events(rh: RatingHall) -> list[TicketEvent]:
    with rh.h.hall.storage.read() as session:
        return list(session.scalars(select(TicketEvent).where(TicketEvent.action.like("case_%"))
                                    .order_by(TicketEvent.id)))


def test_every_case_type_is_recorded_at_finish(rating_hall: RatingHall) -> None:
    rh = rating_hall
    clerk = rh.h.staff("clerk1", window=1)
    answers = [rh.serve(clerk, 1, case=case)[1]["case"] for case in (
        None, {"case": "immediate"}, {"case": "promised", "due": "2026-12-02"}, {"case": "promised"},
        {"case": "supplement", "materials": ["户口簿", "近期一寸照片", "户口簿"]},
        {"case": "returned", "reason": "申报材料主件缺少"}, {"case": "approval"})]
    assert [(a["type"], a["type_name"], a["due"], a["limit_due"], a["open"]) for a in answers] == [
        ("immediate", "即办件", None, None, False), ("immediate", "即办件", None, None, False),
        ("promised", "承诺件", "2026-12-02", "2026-12-05", True),  # earlier than the 承诺时限: no reason needed
        ("promised", "承诺件", "2026-12-05", "2026-12-05", True),  # 4 working days: Tue, Wed, (Thu holiday) Fri, Sat
        ("supplement", "补办件", None, None, True), ("returned", "退回件", None, None, False),
        ("approval", "报批件", None, None, True)]
    assert answers[6]["forward_due"] == "2026-12-02"  # 上报 within 2 working days: Tue, Wed
    assert [a["chosen"] for a in answers] == [False, True, True, True, True, True, True]
    assert answers[4]["materials"] == ["户口簿", "近期一寸照片"] and answers[5]["reason"] == "申报材料主件缺少"
    assert [a["notice_name"] for a in answers] == [None, None, "承诺件受理通知书", "承诺件受理通知书",
                                                    "申请材料补正通知书", "退回件通知书", "报批件受理通知书"]
    # 即办件 and 退回件: 受理、审核、决定、送达 all at 办结, by the clerk; the others wait for their next step
    for answer in answers[:2] + answers[5:6]:
        assert [(s["step"], s["at"], s["by"]) for s in answer["steps"]] == [
            (step, answer["recorded_at"], "clerk1") for step in ("accepted", "checked", "decided", "delivered")]
        assert answer["next_step"] is None and answer["closed_at"] is None
    assert [a["next_step"] for a in answers[2:5] + answers[6:]] == ["checked", "checked", "supplemented", "checked"]
    recorded = [e.detail for e in case_events(rh)]
    assert recorded[0] == {"type": "immediate", "default": True} and recorded[1] == {"type": "immediate"}
    assert recorded[3] == {"type": "promised", "due": "2026-12-05", "limit_due": "2026-12-05"}
    assert recorded[4] == {"type": "supplement", "materials": ["户口簿", "近期一寸照片"]}
    assert recorded[6] == {"type": "approval", "forward_due": "2026-12-02"}
    assert {e.actor for e in case_events(rh)} == {"clerk1"}


def test_call_next_finishing_the_resident_before_records_the_default_immediate_case(rating_hall: RatingHall) -> None:
    rh = rating_hall
    clerk = rh.h.staff("clerk1", window=1)
    first, second = rh.take(), rh.take()
    clerk.post("/api/windows/1/call-next")
    assert clerk.post("/api/windows/1/call-next").json["ticket"]["id"] == second["id"]
    [event] = case_events(rh)
    assert (event.ticket_id, event.detail) == (first["id"], {"type": "immediate", "default": True})
    [case] = rh.h.staff("admin").get("/api/cases/period?month=2026-11").json["cases"]
    assert (case["ticket"], case["type"], case["chosen"]) == (first["id"], "immediate", False)  # not a clerk's choice


def test_a_wrong_case_finishes_nothing(rating_hall: RatingHall) -> None:
    rh = rating_hall
    clerk = rh.h.staff("clerk1", window=1)
    rh.take()
    clerk.post("/api/windows/1/call-next")
    for body, code in (({"case": "urgent"}, "bad_case"), ({"due": "2026-12-10"}, "case_required"),
                       ({"case": "promised", "due": "2026-11-29"}, "bad_due"),
                       ({"case": "promised", "due": "next week"}, "bad_due"),
                       ({"case": "promised", "due": "2027-12-02", "extension_reason": "x"}, "bad_due"),
                       ({"case": "promised", "working_days": 0}, "bad_due"),
                       ({"case": "promised", "due": "2026-12-10"}, "extension_reason_required"),
                       ({"case": "promised", "due": "2026-12-10", "extension_reason": " "},
                        "extension_reason_required"),
                       ({"case": "promised", "due": "2026-12-04", "extension_reason": "x"}, "no_extension"),
                       ({"case": "approval", "due": "2026-12-04"}, "case_field"),
                       ({"case": "supplement"}, "materials_required"),
                       ({"case": "supplement", "materials": []}, "materials_required"),
                       ({"case": "supplement", "materials": ["户口簿", 3]}, "bad_materials"),
                       ({"case": "returned", "reason": " "}, "reason_required"),
                       ({"case": "immediate", "reason": "x"}, "case_field"),
                       ({"case": "returned", "reason": "x", "materials": ["y"]}, "case_field")):
        err(clerk.post("/api/windows/1/finish", json=body), 422, code)
    assert clerk.get("/api/windows").json["windows"][0]["current"]["status"] == "called"
    assert case_events(rh) == []


def test_overdue_cases_are_flagged_to_their_clerk_and_the_admin_and_closed_at_once(rating_hall: RatingHall) -> None:
    rh = rating_hall
    clerk = rh.h.staff("clerk1", window=1)
    other = rh.h.staff("clerk2", window=3)
    _, promised = rh.serve(clerk, 1, case={"case": "promised"})  # due Saturday 12-05 (调休)
    _, approval = rh.serve(clerk, 1, case={"case": "approval"})  # 上报 by Wednesday 12-02
    rh.serve(clerk, 1, case={"case": "returned", "reason": "不符合政策"})
    promised_id, approval_id = promised["case"]["id"], approval["case"]["id"]
    [first, second] = clerk.get("/api/cases").json["cases"]  # the earliest deadline first
    assert (first["id"], first["deadline"], first["working_days_left"]) == (approval_id, "2026-12-02", 2)
    assert (second["id"], second["overdue"], second["working_days_left"]) == (promised_id, False, 4)
    assert other.get("/api/cases").json["cases"] == []  # not theirs
    assert len(rh.h.staff("admin").get("/api/cases").json["cases"]) == 2
    at(rh, 12, 5, 18)  # Saturday (调休): the promise is due today, the 上报 was due on Wednesday
    flagged = {c["type"]: (c["overdue"], c["forward_overdue"]) for c in clerk.get("/api/cases").json["cases"]}
    assert flagged == {"promised": (False, False), "approval": (True, True)}
    at(rh, 12, 7, 9)  # Monday: the promise was due on Saturday
    [late] = [c for c in clerk.get("/api/cases").json["cases"] if c["type"] == "promised"]
    assert (late["overdue"], late["working_days_left"]) == (True, -1)
    err(other.post(f"/api/cases/{promised_id}/close"), 403, "not_your_case")
    done = clerk.post(f"/api/cases/{promised_id}/close").json["case"]
    assert (done["open"], done["overdue"], done["closed_by"], done["next_step"]) == (False, False, "clerk1", None)
    assert {(s["at"], s["by"]) for s in done["steps"][1:]} == {(done["closed_at"], "clerk1")}
    err(clerk.post(f"/api/cases/{promised_id}/close"), 409, "case_closed")
    replied = rh.h.staff("admin").post(f"/api/cases/{approval_id}/close").json["case"]
    assert replied["closed_by"] == "admin" and replied["steps"][-1]["by"] == "admin"
    err(clerk.post(f"/api/cases/{approval_id + 1}/close"), 409, "not_closable")
    err(clerk.post("/api/cases/999/close"), 404, "case_not_found")
    err(rh.h.kiosk().get("/api/cases"), 403, "forbidden")
    closing = [(e.action, e.detail) for e in case_events(rh) if e.ticket_id == promised["case"]["ticket"]][1:]
    assert closing == [("case_checked", {"type": "promised", "step": "checked"}),
                       ("case_decided", {"type": "promised", "step": "decided"}),
                       ("case_completed", {"type": "promised", "step": "delivered", "due": "2026-12-05",
                                           "on_time": False})]
    assert clerk.get("/api/cases").json["cases"] == []


def test_the_notices_print_everything_the_resident_must_know(rating_hall: RatingHall) -> None:
    rh = rating_hall
    clerk = rh.h.staff("clerk1", window=1)
    materials = ["户口簿", "原身份证（换领、补领时）", "近期一寸免冠彩色照片1张"]
    _, supplement = rh.serve(clerk, 1, case={"case": "supplement", "materials": materials})
    _, returned = rh.serve(clerk, 1, case={"case": "returned", "reason": "经现场踏勘不具备批准条件"})
    _, immediate = rh.serve(clerk, 1)
    page = clerk.get(supplement["case"]["notice"])
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "申请材料补正通知书" in text and "1号窗口" in text and "王小红（工号 1001）" in text
    assert all(f"<li>{item}</li>" in text for item in materials) and "/caller/static/notice.css" in text
    assert "@page { size: A4" in clerk.get("/caller/static/notice.css").get_data(as_text=True)
    text = clerk.get(returned["case"]["notice"]).get_data(as_text=True)
    assert "退回件通知书" in text and "经现场踏勘不具备批准条件" in text and "申请复核" in text
    assert rh.h.app.test_client().get(supplement["case"]["notice"]).status_code == 401
    assert rh.h.kiosk().get(supplement["case"]["notice"]).status_code == 403
    assert clerk.get(f"/caller/notice/{immediate['case']['id']}").status_code == 404
    options = clerk.get("/api/cases/options").json
    assert options["promised_due"] == "2026-12-05" and options["materials"]["id-card"] == []


def test_one_rule_for_who_sees_a_case_its_clerk_and_the_admin_everywhere(rating_hall: RatingHall) -> None:
    """Issue 14 (9): the list, reading one case, closing it and its printable notice follow the same rule."""
    rh = rating_hall
    clerk = rh.h.staff("clerk1", window=1)
    _, promised = rh.serve(clerk, 1, case={"case": "promised"})
    case_id = promised["case"]["id"]
    callers = {"clerk1": clerk, "clerk2": rh.h.staff("clerk2", window=3), "guide": rh.h.staff("guide"),
               "admin": rh.h.staff("admin"), "kiosk": rh.h.kiosk(), "nobody": rh.h.app.test_client()}

    def sees(name: str) -> tuple[bool, int, int]:
        client = callers[name]
        listed = client.get("/api/cases")
        return (listed.status_code == 200 and [c["id"] for c in listed.json["cases"]] == [case_id],
                client.get(f"/api/cases/{case_id}").status_code, client.get(f"/caller/notice/{case_id}").status_code)

    assert {name: sees(name) for name in callers} == {
        "clerk1": (True, 200, 200), "admin": (True, 200, 200), "clerk2": (False, 403, 403),
        "guide": (False, 403, 403), "kiosk": (False, 403, 403), "nobody": (False, 401, 401)}
    assert callers["clerk2"].get("/api/cases").json["cases"] == []
    err(callers["clerk2"].get(f"/api/cases/{case_id}"), 403, "not_your_case")
    err(callers["guide"].get(f"/api/cases/{case_id}"), 403, "forbidden")
    for name in ("clerk2", "guide", "kiosk"):
        assert callers[name].post(f"/api/cases/{case_id}/close").status_code == 403
    assert callers["admin"].post(f"/api/cases/{case_id}/close").status_code == 200
    # a closed case tells nobody else that it is closed: the rule is checked first
    err(callers["clerk2"].post(f"/api/cases/{case_id}/close"), 403, "not_your_case")
    err(callers["clerk2"].get("/api/cases/999"), 404, "case_not_found")


# ---------------------------------------------------------------- issue 16: 承诺时限, time points, stages, 复核

def test_a_promise_is_due_by_the_items_limit_and_a_later_date_is_an_extension(case_hall: RatingHall) -> None:
    """3.4.2.2: 在公开承诺的时限内办结，不得随意延长: the date comes from the item; later needs a reason."""
    rh = case_hall
    clerk = rh.h.staff("clerk1", window=3)
    options = clerk.get("/api/cases/options").json
    assert options["promised"] == {
        "id-card": {"working_days": 4, "immediate": False, "due": "2026-12-05"},
        "hukou": {"working_days": 10, "immediate": False, "due": "2026-12-14"},
        "pension": {"working_days": None, "immediate": True, "due": "2026-11-30"}}
    assert (options["answer_working_days"], options["review_working_days"]) == (2, 3)
    hukou = rh.serve(clerk, 3, "hukou", {"case": "promised"})[1]["case"]
    assert (hukou["due"], hukou["limit_due"], hukou["extensions"]) == ("2026-12-14", "2026-12-14", 0)
    pension = rh.serve(clerk, 3, "pension", {"case": "promised"})[1]["case"]
    assert (pension["due"], pension["limit_due"]) == ("2026-11-30", "2026-11-30")  # 即办: today
    rh.take("pension")
    clerk.post("/api/windows/3/call-next")
    err(clerk.post("/api/windows/3/finish", json={"case": "promised", "due": "2026-12-01"}), 422,
        "extension_reason_required")
    assert clerk.get("/api/windows").json["windows"][2]["current"]["status"] == "called"  # nothing finished
    late = clerk.post("/api/windows/3/finish", json={"case": "promised", "due": "2026-12-01",
                                                      "extension_reason": "需上级部门会签"}).json["case"]
    assert (late["due"], late["limit_due"], late["extensions"], late["extension_reason"]) == (
        "2026-12-01", "2026-11-30", 1, "需上级部门会签")
    assert case_events(rh)[-1].detail == {"type": "promised", "due": "2026-12-01", "limit_due": "2026-11-30",
                                          "extension_reason": "需上级部门会签"}
    # an open promise extended later: a later date, a reason, one more extension
    extend = f"/api/cases/{late['id']}/extend"
    err(clerk.post(extend, json={"due": "2026-12-01", "reason": "x"}), 422, "bad_due")
    err(clerk.post(extend, json={"due": "2027-12-31", "reason": "x"}), 422, "bad_due")
    err(clerk.post(extend, json={"due": "2026-12-08", "reason": "  "}), 422, "extension_reason_required")
    again = clerk.post(extend, json={"due": "2026-12-08", "reason": "现场踏勘改期"}).json["case"]
    assert (again["due"], again["extensions"], again["extension_reason"]) == ("2026-12-08", 2, "现场踏勘改期")
    assert case_events(rh)[-1].action == "case_extended"
    assert case_events(rh)[-1].detail == {"type": "promised", "due": "2026-12-08", "previous": "2026-12-01",
                                          "extension_reason": "现场踏勘改期"}
    err(rh.h.staff("clerk2", window=1).post(extend, json={"due": "2026-12-09", "reason": "x"}), 403, "not_your_case")
    approval = rh.serve(clerk, 3, "hukou", {"case": "approval"})[1]["case"]
    err(clerk.post(f"/api/cases/{approval['id']}/extend", json={"due": "2026-12-09", "reason": "x"}), 409,
        "not_extendable")
    immediate = rh.serve(clerk, 3, "hukou")[1]["case"]
    err(clerk.post(f"/api/cases/{immediate['id']}/extend", json={"due": "2026-12-09", "reason": "x"}), 409,
        "not_closable")


def test_the_time_points_are_marked_in_order_each_once(case_hall: RatingHall) -> None:
    """2.2: 受理、审核、决定、送达, each with when and by whom; 决定 before 审核, or a step twice, is refused."""
    rh = case_hall
    published: list[HallEvent] = []
    rh.h.hall.bus.subscribe(published.append)
    clerk = rh.h.staff("clerk1", window=1)
    case = rh.serve(clerk, 1, case={"case": "promised"})[1]["case"]
    step = f"/api/cases/{case['id']}/step"
    err(clerk.post(step, json={"step": "decided"}), 409, "step_order")
    err(clerk.post(step, json={"step": "forwarded"}), 409, "not_a_step")
    err(clerk.post(step, json={"step": "tea"}), 422, "bad_step")
    at(rh, 12, 1, 9)
    checked = clerk.post(step, json={"step": "checked"}).json["case"]
    assert checked["steps"][1] == {"step": "checked", "at": "2026-12-01T01:00:00+00:00", "by": "clerk1"}
    assert checked["next_step"] == "decided"
    err(clerk.post(step, json={"step": "checked"}), 409, "step_done")
    at(rh, 12, 2, 9)
    rh.h.staff("admin").post(step, json={"step": "decided"})
    at(rh, 12, 4, 15)
    done = clerk.post(step, json={"step": "delivered"}).json["case"]
    assert [(s["step"], s["at"][:10], s["by"]) for s in done["steps"]] == [
        ("accepted", "2026-11-30", "clerk1"), ("checked", "2026-12-01", "clerk1"),
        ("decided", "2026-12-02", "admin"), ("delivered", "2026-12-04", "clerk1")]
    assert (done["open"], done["closed_at"], done["closed_by"]) == (False, done["steps"][-1]["at"], "clerk1")
    err(clerk.post(step, json={"step": "delivered"}), 409, "case_closed")
    immediate = rh.serve(clerk, 1)[1]["case"]
    err(clerk.post(f"/api/cases/{immediate['id']}/step", json={"step": "checked"}), 409, "not_closable")
    assert [(e.action, e.actor) for e in case_events(rh)[1:4]] == [
        ("case_checked", "clerk1"), ("case_decided", "admin"), ("case_completed", "clerk1")]
    assert case_events(rh)[3].detail == {"type": "promised", "step": "delivered", "due": "2026-12-05",
                                         "on_time": True}
    assert [e.kind for e in published if e.kind.startswith("case_")] == [
        "case_checked", "case_decided", "case_completed"]


def test_a_supplement_case_counts_from_the_day_its_materials_are_complete(case_hall: RatingHall) -> None:
    """3.3.2.2: 补办件的办理期限，从服务对象补齐材料之日起计算; open until 送达."""
    rh = case_hall
    clerk = rh.h.staff("clerk1", window=1)
    case = rh.serve(clerk, 1, "hukou", {"case": "supplement", "materials": ["户口簿"]})[1]["case"]
    assert (case["open"], case["due"], case["next_step"], case["deadline"]) == (True, None, "supplemented", None)
    assert [c["id"] for c in clerk.get("/api/cases").json["cases"]] == [case["id"]]
    step = f"/api/cases/{case['id']}/step"
    err(clerk.post(step, json={"step": "checked"}), 409, "step_order")
    err(clerk.post(f"/api/cases/{case['id']}/extend", json={"due": "2026-12-20", "reason": "x"}), 409,
        "not_extendable")
    at(rh, 12, 4)  # Friday: the materials are complete; 户口迁移 is promised in 10 working days (Sat 12-05 调休)
    complete = clerk.post(step, json={"step": "supplemented"}).json["case"]
    assert (complete["due"], complete["limit_due"], complete["next_step"]) == ("2026-12-17", "2026-12-17", "checked")
    assert case_events(rh)[-1].detail == {"type": "supplement", "step": "supplemented", "due": "2026-12-17"}
    at(rh, 12, 18)
    assert clerk.get("/api/cases").json["cases"][0]["overdue"] is True
    for name in ("checked", "decided", "delivered"):
        answer = clerk.post(step, json={"step": name})
    assert answer.json["case"]["open"] is False and answer.json["case"]["closed_by"] == "clerk1"
    assert case_events(rh)[-1].detail == {"type": "supplement", "step": "delivered", "due": "2026-12-17",
                                          "on_time": False}


def test_an_approval_case_is_forwarded_then_answered_each_stage_flagged_on_its_day(case_hall: RatingHall) -> None:
    """2.4: 上报时限为 3 个工作日 ([cases] approval_working_days, 2 here), 接到上级批复后 2 日内办结."""
    rh = case_hall
    clerk = rh.h.staff("clerk1", window=1)
    case = rh.serve(clerk, 1, "hukou", {"case": "approval"})[1]["case"]
    step = f"/api/cases/{case['id']}/step"

    def listed() -> dict[str, object]:
        [item] = clerk.get("/api/cases").json["cases"]
        return {key: item[key] for key in ("forward_overdue", "answer_overdue", "overdue", "deadline")}

    at(rh, 12, 2, 23)  # Wednesday night: 上报 is due today
    assert listed() == {"forward_overdue": False, "answer_overdue": False, "overdue": False, "deadline": "2026-12-02"}
    at(rh, 12, 3, 9)  # the holiday: the limit has passed
    assert listed() == {"forward_overdue": True, "answer_overdue": False, "overdue": True, "deadline": "2026-12-02"}
    err(clerk.post(step, json={"step": "forwarded"}), 409, "step_order")  # 审核 at the window first
    clerk.post(step, json={"step": "checked"})
    err(clerk.post(step, json={"step": "approved"}), 409, "step_order")
    at(rh, 12, 4, 9)
    forwarded = clerk.post(step, json={"step": "forwarded"}).json["case"]
    assert forwarded["forward_overdue"] is False and forwarded["deadline"] is None  # waiting for the 批复
    assert case_events(rh)[-1].detail == {"type": "approval", "step": "forwarded", "on_time": False}
    at(rh, 12, 4, 16)  # the 批复 arrives on Friday: the resident is answered by Monday (Saturday 调休 counts)
    approved = clerk.post(step, json={"step": "approved"}).json["case"]
    assert (approved["answer_due"], approved["deadline"], approved["next_step"]) == (
        "2026-12-07", "2026-12-07", "delivered")
    at(rh, 12, 7, 23)
    assert listed() == {"forward_overdue": False, "answer_overdue": False, "overdue": False, "deadline": "2026-12-07"}
    at(rh, 12, 8, 9)
    assert listed() == {"forward_overdue": False, "answer_overdue": True, "overdue": True, "deadline": "2026-12-07"}
    done = clerk.post(step, json={"step": "delivered"}).json["case"]
    assert (done["open"], done["answer_overdue"], done["closed_by"]) == (False, False, "clerk1")
    assert case_events(rh)[-1].detail == {"type": "approval", "step": "delivered", "due": "2026-12-07",
                                          "on_time": False}
    assert [s["step"] for s in done["steps"]] == ["accepted", "checked", "forwarded", "approved", "delivered"]


def test_a_returned_cases_review_is_recorded_and_answered_in_time(case_hall: RatingHall) -> None:
    """3.2.2.3: 服务对象对退回件有异议的，有权…申请复核; 3.2.2.1: 最长不超过 3 个工作日."""
    rh = case_hall
    clerk = rh.h.staff("clerk1", window=1)
    returned = rh.serve(clerk, 1, case={"case": "returned", "reason": "申报材料主件缺少"})[1]["case"]
    other = rh.serve(clerk, 1, case={"case": "returned", "reason": "主件缺少"})[1]["case"]
    promised = rh.serve(clerk, 1, case={"case": "promised"})[1]["case"]
    err(clerk.post(f"/api/cases/{promised['id']}/review-request"), 409, "not_returned")
    err(clerk.post(f"/api/cases/{other['id']}/review", json={"result": "upheld"}), 409, "step_order")
    at(rh, 12, 1)
    asked = clerk.post(f"/api/cases/{returned['id']}/review-request").json["case"]
    # Tuesday + 3 working days: Wednesday, (Thursday a holiday) Friday, Saturday (调休)
    assert (asked["review_due"], asked["deadline"], asked["open"]) == ("2026-12-05", "2026-12-05", False)
    err(clerk.post(f"/api/cases/{returned['id']}/review-request"), 409, "step_done")
    assert [c["id"] for c in clerk.get("/api/cases").json["cases"]] == [returned["id"], promised["id"]]
    at(rh, 12, 5, 23)
    assert clerk.get(f"/api/cases/{returned['id']}").json["case"]["review_overdue"] is False
    at(rh, 12, 7, 9)
    assert clerk.get(f"/api/cases/{returned['id']}").json["case"]["review_overdue"] is True
    err(clerk.post(f"/api/cases/{returned['id']}/review", json={"result": "maybe"}), 422, "bad_result")
    answered = rh.h.staff("admin").post(f"/api/cases/{returned['id']}/review",
                                        json={"result": "revoked", "text": "主件已补交，撤销退回"}).json["case"]
    assert (answered["review_result"], answered["reviewed_by"], answered["review_overdue"]) == (
        "撤销：主件已补交，撤销退回", "admin", False)
    err(clerk.post(f"/api/cases/{returned['id']}/review", json={"result": "upheld"}), 409, "step_done")
    assert [(e.action, e.detail) for e in case_events(rh) if e.ticket_id == returned["ticket"]][1:] == [
        ("case_review_requested", {"type": "returned", "review_due": "2026-12-05"}),
        ("case_reviewed", {"type": "returned", "result": "revoked", "on_time": False})]
    assert [c["id"] for c in clerk.get("/api/cases").json["cases"]] == [promised["id"]]


def test_the_cases_of_a_period_with_their_time_points_and_their_export(case_hall: RatingHall) -> None:
    rh = case_hall
    clerk = rh.h.staff("clerk1", window=1)
    promised = rh.serve(clerk, 1, case={"case": "promised"})[1]["case"]
    clerk.post(f"/api/cases/{promised['id']}/step", json={"step": "checked"})
    rh.serve(clerk, 1, case={"case": "returned", "reason": "=HYPERLINK(\"http://x\")"})
    at(rh, 12, 1)
    rh.serve(clerk, 1)
    admin = rh.h.staff("admin")
    november = admin.get("/api/cases/period?month=2026-11").json
    assert (november["first"], november["last"]) == ("2026-11-01", "2026-11-30")
    assert [(c["type"], c["next_step"]) for c in november["cases"]] == [("promised", "decided"), ("returned", None)]
    assert len(clerk.get("/api/cases/period?from=2026-11-30&to=2026-12-01").json["cases"]) == 3
    assert rh.h.staff("clerk2").get("/api/cases/period?month=2026-11").json["cases"] == []
    err(admin.get("/api/cases/period?month=11"), 422, "bad_period")
    assert clerk.get("/api/cases.xlsx?month=2026-11").status_code == 403
    answer = admin.get("/api/cases.xlsx?month=2026-11")
    assert answer.status_code == 200 and answer.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(BytesIO(answer.data)).active
    header = [cell.value for cell in sheet[2]]
    assert header[6:13] == ["受理", "补齐", "审核", "上报", "批复到达", "决定", "送达"]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=3)]
    assert len(rows) == 2 and rows[0][3] == "承诺件" and rows[0][8] == "2026-11-30 09:00 clerk1"
    assert rows[0][9] == "—" and rows[0][11] is None  # 上报 is no step of a 承诺件; 决定 not yet
    assert rows[1][header.index("退回原因")] == "'=HYPERLINK(\"http://x\")"  # typed text stays text


def test_the_promise_notice_is_in_four_copies_and_every_notice_gives_the_complaint_phone(
        case_hall: RatingHall) -> None:
    """3.4.2.1: 一式四联…《通知书》应明确承诺办结时限; 3.2.2.2 and 3.3.2.1: 一式三联; 3.4.2.4: 投诉."""
    rh = case_hall
    clerk = rh.h.staff("clerk1", window=1)
    notices = {case["case"]: clerk.get(rh.serve(clerk, 1, "hukou", case)[1]["case"]["notice"]).get_data(as_text=True)
               for case in ({"case": "promised"}, {"case": "approval"},
                            {"case": "supplement", "materials": ["户口簿"]}, {"case": "returned", "reason": "x"})}
    promise = notices["promised"]
    assert "测试便民服务中心1号窗口承诺件受理通知书" in promise and "2026年12月14日前" in promise
    assert ("本通知书一式四联：第一联存窗口，第二联报中心管理人员，第三联报主管部门领导，第四联交服务对象。"
            in promise)
    assert "测试便民服务中心1号窗口报批件受理通知书" in notices["approval"]
    assert "2026年12月2日前上报上级主管部门" in notices["approval"]
    assert "收到上级批复后 2 个工作日内答复您" in notices["approval"]
    assert "一式三联：第一联存窗口，第二联报中心管理人员，第三联交服务对象。" in notices["approval"]
    assert "测试便民服务中心1号窗口申请材料补正通知书" in notices["supplement"]
    assert "一式三联：第一联存窗口，第二联报中心管理人员，第三联交服务对象。" in notices["supplement"]
    assert "测试便民服务中心1号窗口退回件通知书" in notices["returned"]
    assert "一式三联：第一联存窗口，第二联报“中心”管理员备查，第三联交服务对象。" in notices["returned"]
    assert all("监督投诉电话：0571-8888 1234" in text for text in notices.values())
