"""投诉: the complaint register (机构建设 4.3): registered at the guide desk or by the admin, due by working days,
answered, upheld or not, accepted or not, closed; a poor rating opened as one; the complainant private."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from server.auth import Principal
from server.complaints import Complaints
from server.models import Complaint, TicketEvent
from server.queue import DomainError
from tests.api.quality import RatingHall, err
from tests.api.test_realtime import received, socketio_of
from tests.conftest import SHANGHAI

COMPLAINT = {"channel": "phone", "request": "1号窗口态度生硬，要求说明情况", "window": 1, "clerk": "clerk1",
             "name": "张小三", "contact": "13812341234", "handler": "admin"}


def register(rh: RatingHall, body: dict[str, Any] | None = None, who: str = "guide") -> dict[str, Any]:
    answer = rh.h.staff(who).post("/api/complaints", json=body or COMPLAINT)
    assert answer.status_code == 201, answer.json
    return answer.json["complaint"]


def complaint_events(rh: RatingHall) -> list[TicketEvent]:
    with rh.h.hall.storage.read() as session:
        return list(session.scalars(select(TicketEvent).where(TicketEvent.action.like("complaint_%"))
                                    .order_by(TicketEvent.id)))


def test_the_answer_is_due_by_working_days_across_a_holiday_a_weekend_and_a_make_up_day(
        rating_hall: RatingHall) -> None:
    """Monday 11-30 + 5 working days: 12-01, 12-02, (12-03 holiday), 12-04, 12-05 (调休), (Sunday), 12-07."""
    rh = rating_hall
    assert rh.h.staff("guide").get("/api/complaints/setup").json["due_today"] == "2026-12-07"
    complaint = register(rh)
    assert (complaint["date"], complaint["due"], complaint["working_days_left"], complaint["overdue"]) == (
        "2026-11-30", "2026-12-07", 5, False)
    assert (complaint["channel_text"], complaint["window_name"], complaint["clerk"]["username"],
            complaint["handler"]["username"], complaint["open"]) == ("来电", "1号窗口", "clerk1", "admin", True)
    rh.h.clock.set(datetime(2026, 12, 4, 10, 0, tzinfo=SHANGHAI))  # a Friday: Sat (调休), Mon, Tue, Wed, Thu
    assert register(rh)["due"] == "2026-12-10"


def test_only_the_guide_desk_and_the_admin_see_the_complainant(rating_hall: RatingHall,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    rh = rating_hall
    with caplog.at_level(logging.DEBUG):
        made = register(rh)
    for who in ("guide", "admin"):
        seen = rh.h.staff(who).get("/api/complaints").json["complaints"]
        assert [(c["name"], c["contact"]) for c in seen] == [("张小三", "13812341234")]
    concerned = rh.h.staff("clerk1")
    mine = concerned.get("/api/complaints").json["complaints"]
    assert [(c["id"], c["name"], c["contact"], c["request"]) for c in mine] == [
        (made["id"], None, None, COMPLAINT["request"])]
    assert concerned.get(f"/api/complaints/{made['id']}").json["complaint"]["name"] is None
    other = rh.h.staff("clerk2")
    assert other.get("/api/complaints").json["complaints"] == []
    err(other.get(f"/api/complaints/{made['id']}"), 404, "complaint_not_found")
    err(concerned.post("/api/complaints", json=COMPLAINT), 403, "forbidden")
    err(concerned.post(f"/api/complaints/{made['id']}/answer", json={"answer": "x", "upheld": False}), 403,
        "forbidden")
    for device in (rh.h.kiosk(), rh.h.display(), rh.tablet()):
        err(device.get("/api/complaints"), 403, "forbidden")
    err(rh.h.app.test_client().get("/api/complaints"), 401, "unauthorized")
    # never in the audit trail nor the log: the name, the contact, what was said
    secrets = ("张小三", "13812341234", "态度生硬")
    assert [e.action for e in complaint_events(rh)] == ["complaint_registered"]
    assert complaint_events(rh)[0].detail == {"complaint": made["id"], "clerk": "clerk1", "channel": "phone",
                                              "due": "2026-12-07"}
    assert complaint_events(rh)[0].ticket_id is None and complaint_events(rh)[0].window_id == 1
    assert not any(secret in record.getMessage() for record in caplog.records for secret in secrets)


def test_overdue_when_unanswered_after_the_due_day_then_answered_late_closed_and_refused_after(
        rating_hall: RatingHall) -> None:
    rh = rating_hall
    made = register(rh)
    admin, guide = rh.h.staff("admin"), rh.h.staff("guide")
    rh.h.clock.set(datetime(2026, 12, 7, 16, 0, tzinfo=SHANGHAI))  # the due day itself: not yet overdue
    assert admin.get(f"/api/complaints/{made['id']}").json["complaint"]["overdue"] is False
    assert admin.get("/api/complaints?status=overdue").json["complaints"] == []
    rh.h.clock.set(datetime(2026, 12, 8, 9, 0, tzinfo=SHANGHAI))
    late = admin.get(f"/api/complaints/{made['id']}").json["complaint"]
    assert (late["overdue"], late["working_days_left"]) == (True, -1)
    assert [c["id"] for c in guide.get("/api/complaints?status=overdue").json["complaints"]] == [made["id"]]
    err(admin.post(f"/api/complaints/{made['id']}/close", json={"accepted": True}), 409, "not_answered")
    err(guide.post(f"/api/complaints/{made['id']}/answer", json={"answer": "已核实", "upheld": True}), 403,
        "forbidden")
    answered = admin.post(f"/api/complaints/{made['id']}/answer",
                          json={"answer": "经核实属实，已对窗口人员批评教育，电话 13812341234 回访", "upheld": True})
    assert answered.status_code == 200, answered.json
    c = answered.json["complaint"]
    assert (c["overdue"], c["working_days_left"], c["answered_on_time"], c["upheld"], c["answered_by"]) == (
        False, None, False, True, "admin")
    assert "13812341234" not in c["answer"] and "138****1234" in c["answer"]
    err(admin.post(f"/api/complaints/{made['id']}/answer", json={"answer": "再答", "upheld": False}), 409,
        "already_answered")
    closed = admin.post(f"/api/complaints/{made['id']}/close", json={"accepted": False}).json["complaint"]
    assert (closed["open"], closed["accepted"], closed["closed_at"] is not None) == (False, False, True)
    err(admin.post(f"/api/complaints/{made['id']}/close", json={"accepted": True}), 409, "complaint_closed")
    err(guide.post(f"/api/complaints/{made['id']}/handler", json={"handler": "guide"}), 409, "complaint_closed")
    assert guide.get("/api/complaints").json["complaints"] == []
    assert [c["id"] for c in guide.get("/api/complaints?status=closed").json["complaints"]] == [made["id"]]
    events = complaint_events(rh)
    assert [e.action for e in events] == ["complaint_registered", "complaint_answered", "complaint_closed"]
    assert events[1].detail == {"complaint": made["id"], "clerk": "clerk1", "upheld": True, "on_time": False}
    assert events[2].detail == {"complaint": made["id"], "clerk": "clerk1", "accepted": False, "upheld": True}


def test_a_poor_rating_opens_one_complaint_prefilled_and_only_one(rating_hall: RatingHall) -> None:
    rh = rating_hall
    clerk = rh.h.staff("clerk1", window=1)
    poor, _ = rh.serve(clerk, 1)
    rated = rh.tablet().post("/api/rate/1", json={"ticket": poor["id"], "level": "dissatisfied",
                                                  "reason": "服务态度不好", "comment": "说话很冲"})
    assert rated.status_code == 200, rated.json
    good, _ = rh.serve(clerk, 1)
    assert rh.tablet().post("/api/rate/1", json={"ticket": good["id"], "level": "satisfied"}).status_code == 200
    admin = rh.h.staff("admin")
    assert admin.get("/api/followups").json["followups"][0]["complaint"] is None
    err(admin.post(f"/api/complaints/from-rating/{poor['id']}", json={"handler": "clerk1"}), 422,
        "handler_concerned")
    opened = admin.post(f"/api/complaints/from-rating/{poor['id']}", json={"handler": "guide"})
    assert opened.status_code == 201, opened.json
    c = opened.json["complaint"]
    assert (c["channel"], c["channel_text"], c["window"], c["clerk"]["name"], c["ticket"], c["number"],
            c["request"], c["name"], c["contact"], c["handler"]["username"]) == (
        "evaluator", "评价器", 1, "王小红", poor["id"], "A001", "评价不满意；服务态度不好；说话很冲", "", "", "guide")
    assert admin.get("/api/followups").json["followups"][0]["complaint"] == c["id"]
    again = rh.h.staff("guide").post(f"/api/complaints/from-rating/{poor['id']}")
    err(again, 409, "complaint_exists")
    assert again.json["error"]["detail"] == {"complaint": c["id"]}
    err(admin.post(f"/api/complaints/from-rating/{good['id']}"), 409, "not_poor")
    err(admin.post("/api/complaints/from-rating/9999"), 404, "rating_not_found")
    err(clerk.post(f"/api/complaints/from-rating/{poor['id']}"), 403, "forbidden")
    [event] = complaint_events(rh)
    assert (event.ticket_id, event.window_id, event.action) == (poor["id"], 1, "complaint_registered")
    assert event.detail == {"complaint": c["id"], "clerk": "clerk1", "channel": "evaluator", "due": "2026-12-07"}


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"request": "x"}, 422, "missing_field"),
    ({"channel": "fax", "request": "x"}, 422, "bad_channel"),
    ({"channel": "phone"}, 422, "missing_field"),
    ({"channel": "phone", "request": "   "}, 422, "missing_field"),
    ({"channel": "phone", "request": "长" * 1001}, 422, "too_long"),
    ({"channel": "phone", "request": "x", "name": "名" * 33}, 422, "too_long"),
    ({"channel": "phone", "request": "x", "window": 99}, 422, "bad_window"),
    ({"channel": "phone", "request": "x", "window": "1"}, 422, "bad_field"),
    ({"channel": "phone", "request": "x", "clerk": "nobody"}, 422, "bad_clerk"),
    ({"channel": "phone", "request": "x", "handler": "nobody"}, 422, "bad_handler"),
    ({"channel": "phone", "request": "x", "clerk": "guide", "handler": "guide"}, 422, "handler_concerned"),
])
def test_bad_input_is_refused_with_its_reason(rating_hall: RatingHall, body: dict[str, Any], status: int,
                                              code: str) -> None:
    err(rating_hall.h.staff("guide").post("/api/complaints", json=body), status, code)
    assert complaint_events(rating_hall) == []


def test_the_register_filters_by_period_channel_window_and_clerk(rating_hall: RatingHall) -> None:
    rh = rating_hall
    first = register(rh)
    second = register(rh, {"channel": "letter", "request": "等候太久", "window": 2}, who="admin")
    rh.h.clock.set(datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI))
    third = register(rh, {"channel": "online", "request": "网上投诉：材料说明不清"})
    guide = rh.h.staff("guide")

    def ids(query: str) -> list[int]:
        answer = guide.get(f"/api/complaints?{query}")
        assert answer.status_code == 200, answer.json
        return [c["id"] for c in answer.json["complaints"]]

    assert ids("status=all") == [first["id"], second["id"], third["id"]]
    assert ids("status=all&month=2026-12") == [third["id"]]
    assert ids("from=2026-11-30&to=2026-11-30") == [first["id"], second["id"]]
    assert ids("channel=letter") == [second["id"]]
    assert ids("window=1") == [first["id"]]
    assert ids("clerk=clerk1") == [first["id"]]
    err(guide.get("/api/complaints?status=late"), 422, "bad_status")
    err(guide.get("/api/complaints?month=2026-13"), 422, "bad_period")
    err(guide.get("/api/complaints?window=first"), 422, "bad_window")
    err(guide.get("/api/complaints?channel=fax"), 422, "bad_channel")
    assigned = guide.post(f"/api/complaints/{third['id']}/handler", json={"handler": "clerk2"})
    assert assigned.json["complaint"]["handler"]["username"] == "clerk2"
    err(guide.post(f"/api/complaints/{first['id']}/handler", json={"handler": "clerk1"}), 422, "handler_concerned")
    err(guide.post("/api/complaints/9999/handler", json={"handler": "clerk2"}), 404, "complaint_not_found")


def test_the_guide_desk_hears_each_step_without_whom_it_concerns(rating_hall: RatingHall) -> None:
    """The `guide` hint reaches every staff screen (clerks too): the complaint's number, nothing else."""
    rh = rating_hall
    desk = socketio_of(rh.h).test_client(rh.h.app, flask_test_client=rh.h.staff("guide"))
    display = socketio_of(rh.h).test_client(rh.h.app, auth={"token": rh.h.display_token})
    desk.get_received()
    display.get_received()
    made = register(rh)
    rh.h.staff("admin").post(f"/api/complaints/{made['id']}/answer", json={"answer": "已答复", "upheld": False})
    assert received(desk, "guide") == [{"event": "complaint_registered", "complaint": made["id"]},
                                       {"event": "complaint_answered", "complaint": made["id"]}]
    assert "guide" not in {m["name"] for m in display.get_received()}
    desk.disconnect()
    display.disconnect()


def test_two_desks_opening_the_same_rating_at_once_make_one_complaint(rating_hall: RatingHall,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Both pass the check before either has written: the database's unique ticket_id refuses the second, a 409."""
    rh = rating_hall
    poor, _ = rh.serve(rh.h.staff("clerk1", window=1), 1)
    rh.tablet().post("/api/rate/1", json={"ticket": poor["id"], "level": "very_dissatisfied", "reason": "其他"})
    monkeypatch.setattr(Complaints, "_no_complaint_yet", staticmethod(lambda _session, _ticket: None))
    complaints, admin = rh.h.hall.complaints, Principal("staff", "admin", "admin")
    complaints.from_rating(poor["id"], admin)
    with pytest.raises(DomainError) as refused:
        complaints.from_rating(poor["id"], admin)
    assert (refused.value.kind, refused.value.code) == ("conflict", "complaint_exists")
    with rh.h.hall.storage.read() as session:
        assert len(session.scalars(select(Complaint)).all()) == 1
    assert len(complaint_events(rh)) == 1
