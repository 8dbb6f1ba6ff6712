"""五件制 at 办结: the case types, their checks, overdue 承诺件 and 报批件 by the calendar, the printable notices."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from server.models import TicketEvent
from tests.api.quality import RatingHall, err
from tests.conftest import SHANGHAI


def case_events(rh: RatingHall) -> list[TicketEvent]:
    with rh.h.hall.storage.read() as session:
        return list(session.scalars(select(TicketEvent).where(TicketEvent.action.like("case_%"))
                                    .order_by(TicketEvent.id)))


def test_every_case_type_is_recorded_at_finish(rating_hall: RatingHall) -> None:
    rh = rating_hall
    clerk = rh.h.staff("clerk1", window=1)
    answers = [rh.serve(clerk, 1, case=case)[1]["case"] for case in (
        None, {"case": "immediate"}, {"case": "promised", "due": "2026-12-10"}, {"case": "promised"},
        {"case": "supplement", "materials": ["户口簿", "近期一寸照片", "户口簿"]},
        {"case": "returned", "reason": "申报材料主件缺少"}, {"case": "approval", "working_days": 3})]
    assert [(a["type"], a["type_name"], a["due"]) for a in answers] == [
        ("immediate", "即办件", None), ("immediate", "即办件", None), ("promised", "承诺件", "2026-12-10"),
        ("promised", "承诺件", "2026-12-05"),  # 4 working days: Tue, Wed, (Thu holiday) Fri, Sat (调休)
        ("supplement", "补办件", None), ("returned", "退回件", None),
        ("approval", "报批件", "2026-12-04")]  # 3 working days: Tue, Wed, Fri
    assert answers[4]["materials"] == ["户口簿", "近期一寸照片"] and answers[5]["reason"] == "申报材料主件缺少"
    assert [a["notice_name"] for a in answers] == [None, None, "承诺件受理通知书", "承诺件受理通知书",
                                                    "申请材料补正通知书", "退回件通知书", None]
    recorded = [e.detail for e in case_events(rh)]
    assert recorded[0] == {"type": "immediate", "default": True} and recorded[1] == {"type": "immediate"}
    assert recorded[4] == {"type": "supplement", "materials": ["户口簿", "近期一寸照片"]}
    assert {e.actor for e in case_events(rh)} == {"clerk1"}


def test_call_next_finishing_the_resident_before_records_the_default_immediate_case(rating_hall: RatingHall) -> None:
    rh = rating_hall
    clerk = rh.h.staff("clerk1", window=1)
    first, second = rh.take(), rh.take()
    clerk.post("/api/windows/1/call-next")
    assert clerk.post("/api/windows/1/call-next").json["ticket"]["id"] == second["id"]
    [event] = case_events(rh)
    assert (event.ticket_id, event.detail) == (first["id"], {"type": "immediate", "default": True})


def test_a_wrong_case_finishes_nothing(rating_hall: RatingHall) -> None:
    rh = rating_hall
    clerk = rh.h.staff("clerk1", window=1)
    rh.take()
    clerk.post("/api/windows/1/call-next")
    for body, code in (({"case": "urgent"}, "bad_case"), ({"due": "2026-12-10"}, "case_required"),
                       ({"case": "promised", "due": "2026-11-29"}, "bad_due"),
                       ({"case": "promised", "due": "next week"}, "bad_due"),
                       ({"case": "approval", "working_days": 0}, "bad_due"),
                       ({"case": "supplement"}, "materials_required"),
                       ({"case": "supplement", "materials": []}, "materials_required"),
                       ({"case": "supplement", "materials": ["户口簿", 3]}, "bad_materials"),
                       ({"case": "returned", "reason": " "}, "reason_required"),
                       ({"case": "immediate", "reason": "x"}, "case_field"),
                       ({"case": "returned", "reason": "x", "materials": ["y"]}, "case_field")):
        err(clerk.post("/api/windows/1/finish", json=body), 422, code)
    assert clerk.get("/api/windows").json["windows"][0]["current"]["status"] == "called"
    assert case_events(rh) == []


def test_overdue_promises_and_replies_are_flagged_to_their_clerk_and_the_admin(rating_hall: RatingHall) -> None:
    rh = rating_hall
    clerk = rh.h.staff("clerk1", window=1)
    other = rh.h.staff("clerk2", window=3)
    _, promised = rh.serve(clerk, 1, case={"case": "promised"})  # due Saturday 12-05 (调休)
    _, approval = rh.serve(clerk, 1, case={"case": "approval", "due": "2026-12-07"})
    rh.serve(clerk, 1, case={"case": "returned", "reason": "不符合政策"})
    [mine_one, mine_two] = clerk.get("/api/cases").json["cases"]
    assert (mine_one["id"], mine_one["overdue"], mine_one["working_days_left"]) == (promised["case"]["id"], False, 4)
    assert (mine_two["id"], mine_two["working_days_left"]) == (approval["case"]["id"], 5)
    assert other.get("/api/cases").json["cases"] == []  # not theirs
    assert len(rh.h.staff("admin").get("/api/cases").json["cases"]) == 2
    rh.h.clock.set(datetime(2026, 12, 7, 9, 0, tzinfo=SHANGHAI))  # Monday: the promise was due on Saturday
    flagged = {c["type"]: (c["overdue"], c["working_days_left"]) for c in clerk.get("/api/cases").json["cases"]}
    assert flagged == {"promised": (True, -1), "approval": (False, 0)}
    err(other.post(f"/api/cases/{promised['case']['id']}/close"), 403, "not_your_case")
    done = clerk.post(f"/api/cases/{promised['case']['id']}/close").json["case"]
    assert (done["open"], done["overdue"], done["closed_by"]) == (False, False, "clerk1")
    err(clerk.post(f"/api/cases/{promised['case']['id']}/close"), 409, "case_closed")
    replied = rh.h.staff("admin").post(f"/api/cases/{approval['case']['id']}/close").json["case"]
    assert replied["closed_by"] == "admin"
    err(clerk.post(f"/api/cases/{approval['case']['id'] + 1}/close"), 409, "not_closable")
    err(clerk.post("/api/cases/999/close"), 404, "case_not_found")
    err(rh.h.kiosk().get("/api/cases"), 403, "forbidden")
    closing = [(e.action, e.detail) for e in case_events(rh) if e.action != "case_recorded"]
    assert closing == [("case_completed", {"type": "promised", "due": "2026-12-05", "on_time": False}),
                       ("case_replied", {"type": "approval", "due": "2026-12-07", "on_time": True})]
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
