"""一事一评: the tablet at a window, the tracking page, 未评价 by the server's own timeout, 整改 follow-ups."""

from __future__ import annotations

import time
from datetime import date, datetime
from typing import Any
from urllib.parse import urlparse

from flask_socketio import SocketIOTestClient
from sqlalchemy import select

from server.cluster import SoleProcess
from server.models import Evaluation, TicketEvent
from tests.api.quality import RatingHall, err
from tests.conftest import SHANGHAI

SATISFIED = {"level": "satisfied"}


def events(rh: RatingHall, ticket_id: int) -> list[TicketEvent]:
    with rh.h.hall.storage.read() as session:
        return list(session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
                                    .order_by(TicketEvent.id)))


def phone(ticket: dict[str, Any]) -> str:
    return urlparse(ticket["track_url"]).path


def test_the_tablet_shows_who_served_and_rates_once(rating_hall: RatingHall) -> None:
    rh = rating_hall
    clerk = rh.h.staff("clerk1", window=1)
    ticket, _ = rh.serve(clerk, 1)
    state = rh.tablet().get("/api/rate/1").json
    assert [level["label"] for level in state["levels"]] == ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
    prompt = state["prompt"]
    assert (prompt["ticket"], prompt["number"], prompt["service_name"], prompt["clerk"], prompt["seconds_left"]) == (
        ticket["id"], "A001", "居民身份证核发", {"name": "王小红", "staff_no": "1001"}, 60)
    answer = rh.tablet().post("/api/rate/1", json={"ticket": ticket["id"], **SATISFIED})
    assert answer.status_code == 200 and answer.json["rating"]["label"] == "满意"
    assert rh.tablet().get("/api/rate/1").json["prompt"] is None
    err(rh.tablet().post("/api/rate/1", json={"ticket": ticket["id"], "level": "basic"}), 409, "already_rated")
    client = rh.h.app.test_client()
    err(client.post(f"{phone(ticket)}/rate", json={"level": "very_satisfied"}), 409, "already_rated")
    assert client.get(f"{phone(ticket)}/state").json["rating"]["level"] == "满意"
    rated = [e for e in events(rh, ticket["id"]) if e.action == "rated"]
    assert len(rated) == 1 and rated[0].actor == "device:rate-1" and rated[0].window_id == 1
    assert rated[0].detail == {"level": "satisfied", "reason": None, "channel": "evaluator", "clerk": "clerk1"}


def test_staff_and_other_devices_cannot_rate_and_a_tablet_rates_only_at_its_window(rating_hall: RatingHall) -> None:
    rh = rating_hall
    clerk = rh.h.staff("clerk1", window=1)
    ticket, _ = rh.serve(clerk, 1)
    body = {"ticket": ticket["id"], **SATISFIED}
    for name in ("clerk1", "admin", "guide"):
        err(rh.h.staff(name).post("/api/rate/1", json=body), 403, "forbidden")
    for device in (rh.h.kiosk(), rh.h.display()):
        err(device.post("/api/rate/1", json=body), 403, "forbidden")
    err(rh.h.app.test_client().post("/api/rate/1", json=body), 401, "unauthorized")
    err(rh.tablet("rate-2").post("/api/rate/1", json=body), 403, "not_this_window")
    err(rh.tablet("rate-2").get("/api/rate/1"), 403, "not_this_window")
    err(rh.tablet("rate-2").post("/api/rate/2", json=body), 403, "not_this_window")  # finished at window 1
    err(rh.tablet("rate-9").get("/api/rate/9"), 403, "evaluator_not_bound")
    # a resident's tracking page cannot be used by a clerk's browser or a device either
    err(clerk.post(f"{phone(ticket)}/rate", json=SATISFIED), 403, "staff_cannot_rate")
    err(rh.tablet().post(f"{phone(ticket)}/rate", json=SATISFIED), 403, "staff_cannot_rate")
    assert rh.tablet().post("/api/rate/1", json=body).status_code == 200


def test_the_tablet_token_can_do_nothing_else(rating_hall: RatingHall) -> None:
    rh = rating_hall
    ticket = rh.take()
    tablet = rh.tablet()
    for method, path in (("post", "/api/tickets"), ("get", "/api/services"), ("get", "/api/windows"),
                         ("get", f"/api/tickets/{ticket['id']}"), ("post", "/api/windows/1/call-next"),
                         ("post", "/api/windows/1/sign-in"), ("get", "/api/stats?date=2026-11-30"),
                         ("get", "/api/followups"), ("get", "/api/cases"), ("get", "/api/hall/status"),
                         ("get", "/api/printers"), ("post", f"/api/tickets/{ticket['id']}/reprint")):
        err(getattr(tablet, method)(path, json={"service": "id-card"} if method == "post" else None), 403,
            "forbidden")
    socket = rh.h.app.extensions["socketio"].test_client(rh.h.app, auth={"token": rh.tokens["rate-1"]})
    names = [message["name"] for message in socket.get_received()]
    assert names == ["rating_prompt"], names  # no snapshot: nothing of the hall but its own prompt
    socket.disconnect()
    unbound = rh.h.app.extensions["socketio"].test_client(rh.h.app, auth={"token": rh.tokens["rate-9"]})
    assert not unbound.is_connected()


def test_a_poor_rating_needs_a_reason_from_the_list(rating_hall: RatingHall) -> None:
    rh = rating_hall
    clerk = rh.h.staff("clerk1", window=1)
    ticket, _ = rh.serve(clerk, 1)
    rate = lambda **body: rh.tablet().post("/api/rate/1", json={"ticket": ticket["id"], **body})  # noqa: E731
    err(rate(level="dissatisfied"), 422, "reason_required")
    err(rate(level="very_dissatisfied", reason="不喜欢"), 422, "bad_reason")
    err(rate(level="basic", reason="等候时间过长"), 422, "reason_not_allowed")
    err(rate(level="good"), 422, "bad_level")
    err(rate(level="dissatisfied", reason="等候时间过长", comment="长" * 201), 422, "comment_too_long")
    err(rh.tablet().post("/api/rate/1", json={"level": "satisfied"}), 422, "missing_field")
    answer = rate(level="very_dissatisfied", reason="服务态度不好",
                  comment="请回电 13812345678，身份证 41010519900307123X")
    assert answer.status_code == 200
    with rh.h.hall.storage.read() as session:
        stored = session.get(Evaluation, ticket["id"])
        assert stored is not None and stored.comment == "请回电 138****5678，身份证 410***********123X"
        assert stored.level == "very_dissatisfied" and stored.reason == "服务态度不好"


def test_no_answer_is_unrated_by_the_server_and_the_phone_may_still_rate_once(rating_hall: RatingHall) -> None:
    rh = rating_hall
    clerk = rh.h.staff("clerk1", window=1)
    ticket, _ = rh.serve(clerk, 1)
    rh.h.clock.advance(seconds=59)
    rh.h.hall.evaluation.tick()
    assert rh.tablet().get("/api/rate/1").json["prompt"]["seconds_left"] == 1
    rh.h.clock.advance(seconds=1)
    rh.h.hall.evaluation.tick()  # what the server's ticker does every 5 s: no tablet needed
    assert [e.detail for e in events(rh, ticket["id"]) if e.action == "unrated"] == [
        {"clerk": "clerk1", "why": "timeout"}]
    assert rh.tablet().get("/api/rate/1").json["prompt"] is None
    err(rh.tablet().post("/api/rate/1", json={"ticket": ticket["id"], **SATISFIED}), 409, "rating_closed")
    resident = rh.h.app.test_client()
    assert resident.get(f"{phone(ticket)}/state").json["rating"]["open"] is True
    answer = resident.post(f"{phone(ticket)}/rate", json={"level": "basic"})
    assert answer.status_code == 200 and answer.json["rating"]["label"] == "基本满意"
    err(resident.post(f"{phone(ticket)}/rate", json=SATISFIED), 409, "already_rated")
    assert [e.action for e in events(rh, ticket["id"])][-2:] == ["unrated", "rated"]
    # the phone's time is limited too (phone_days = 2)
    late, _ = rh.serve(clerk, 1)
    rh.h.clock.advance(days=2)
    assert resident.get(f"{phone(late)}/state").json["rating"]["open"] is False
    err(resident.post(f"{phone(late)}/rate", json=SATISFIED), 409, "rating_closed")
    waiting = rh.take()
    err(resident.post(f"{phone(waiting)}/rate", json=SATISFIED), 409, "not_finished")


def test_the_next_finish_at_the_window_closes_the_open_prompt(rating_hall: RatingHall) -> None:
    rh = rating_hall
    clerk = rh.h.staff("clerk1", window=1)
    first, _ = rh.serve(clerk, 1)
    second = rh.take()
    assert clerk.post("/api/windows/1/call-next").json["ticket"]["id"] == second["id"]
    clerk.post("/api/windows/1/call-next")  # finishes the second one by itself (办结 before the next call)
    assert rh.tablet().get("/api/rate/1").json["prompt"]["ticket"] == second["id"]
    assert [e.detail for e in events(rh, first["id"]) if e.action == "unrated"] == [
        {"clerk": "clerk1", "why": "superseded"}]


def test_poor_ratings_are_followed_up_within_working_days_and_closed_by_an_admin(rating_hall: RatingHall) -> None:
    rh = rating_hall
    clerk = rh.h.staff("clerk1", window=1)
    ticket, _ = rh.serve(clerk, 1)
    good, _ = rh.serve(clerk, 1)
    assert rh.tablet().post("/api/rate/1", json={"ticket": good["id"], **SATISFIED}).status_code == 200
    rh.h.hall.evaluation.tick()
    rh.h.app.test_client().post(f"{phone(ticket)}/rate", json={"level": "dissatisfied", "reason": "办事效率低"})
    admin = rh.h.staff("admin")
    [item] = admin.get("/api/followups").json["followups"]
    # Monday + 3 working days: Tuesday, Wednesday, (Thursday is a holiday) Friday
    assert (item["id"], item["number"], item["window_name"], item["clerk"]["name"], item["clerk"]["staff_no"],
            item["level_name"], item["reason"], item["due"], item["working_days_left"], item["overdue"]) == (
        ticket["id"], ticket["number"], "1号窗口", "王小红", "1001", "不满意", "办事效率低", "2026-12-04", 3, False)
    err(clerk.get("/api/followups"), 403, "forbidden")
    rh.h.clock.set(datetime(2026, 12, 7, 9, 0, tzinfo=SHANGHAI))  # Monday 12-07: Saturday 12-05 was a 调休 working day
    [item] = admin.get("/api/followups").json["followups"]
    assert (item["overdue"], item["working_days_left"]) == (True, -2)
    err(admin.post(f"/api/followups/{ticket['id']}/close", json={"note": "  "}), 422, "note_required")
    err(clerk.post(f"/api/followups/{ticket['id']}/close", json={"note": "已整改"}), 403, "forbidden")
    err(admin.post(f"/api/followups/{good['id']}/close", json={"note": "x"}), 404, "followup_not_found")
    closed = admin.post(f"/api/followups/{ticket['id']}/close", json={"note": "已约谈，窗口增派人员"}).json["followup"]
    assert (closed["closed"], closed["note"], closed["closed_by"], closed["overdue"]) == (
        True, "已约谈，窗口增派人员", "admin", False)
    err(admin.post(f"/api/followups/{ticket['id']}/close", json={"note": "again"}), 409, "followup_closed")
    assert admin.get("/api/followups").json["followups"] == []
    assert [f["id"] for f in admin.get("/api/followups?status=closed").json["followups"]] == [ticket["id"]]
    err(admin.get("/api/followups?status=late"), 422, "bad_status")
    opened, closing = (next(e for e in events(rh, ticket["id"]) if e.action == action)
                       for action in ("followup_opened", "followup_closed"))
    assert opened.detail == {"clerk": "clerk1", "level": "dissatisfied", "due": "2026-12-04"}
    assert closing.actor == "admin" and closing.detail == {"clerk": "clerk1", "due": "2026-12-04", "late": True}
    assert date.fromisoformat(item["due"]).isoweekday() == 5


def prompts(socket: SocketIOTestClient, count: int) -> list[Any]:
    """The rating_prompt pushes received, waiting (bounded) for ``count``: they are sent off the request."""
    seen: list[Any] = []
    deadline = time.monotonic() + 5
    while len(seen) < count and time.monotonic() < deadline:
        seen += [m["args"][0] for m in socket.get_received() if m["name"] == "rating_prompt"]
        time.sleep(0.01)
    return seen


def test_the_tablet_hears_of_a_finish_live_and_gets_the_state_again_on_reconnect(rating_hall: RatingHall) -> None:
    rh = rating_hall
    sio = rh.h.app.extensions["socketio"]
    tablet = sio.test_client(rh.h.app, auth={"token": rh.tokens["rate-1"]})
    other = sio.test_client(rh.h.app, auth={"token": rh.tokens["rate-2"]})
    assert prompts(tablet, 1)[0]["prompt"] is None
    other.get_received()
    clerk = rh.h.staff("clerk1", window=1)
    ticket, _ = rh.serve(clerk, 1)
    [pushed] = prompts(tablet, 1)
    assert (pushed["window"], pushed["prompt"]["ticket"], pushed["prompt"]["clerk"]["name"]) == (1, ticket["id"],
                                                                                                 "王小红")
    tablet.disconnect()  # the tablet loses the network; meanwhile nothing changes
    tablet.connect(auth={"token": rh.tokens["rate-1"]})
    assert prompts(tablet, 1)[0]["prompt"]["ticket"] == ticket["id"]
    rh.h.clock.advance(seconds=61)
    rh.h.hall.evaluation.tick()
    assert prompts(tablet, 1)[0]["prompt"] is None
    assert [m for m in other.get_received() if m["name"] == "rating_prompt"] == []  # window 2 heard nothing
    tablet.disconnect()
    other.disconnect()


def test_the_servers_own_ticker_records_unrated(rating_hall: RatingHall) -> None:
    """The loop `hallq run` runs every 5 s: the engine's tick and the ratings' tick, with nobody pressing anything."""
    from server.app import Ticker

    rh = rating_hall
    ticket, _ = rh.serve(rh.h.staff("clerk1", window=1), 1)
    rh.h.clock.advance(seconds=61)

    class OneRound:
        def sleep(self, seconds: float) -> None:
            ticker.running = False

    ticker = Ticker(OneRound(), rh.h.hall, SoleProcess())  # type: ignore[arg-type]
    ticker.run()
    assert [e.action for e in events(rh, ticket["id"])][-1] == "unrated"


def test_the_tablet_page_is_served_per_window(rating_hall: RatingHall) -> None:
    client = rating_hall.h.app.test_client()
    page = client.get("/rate/1")
    assert page.status_code == 200 and "服务评价" in page.text and 'data-window="1"' in page.text
    missing = client.get("/rate/99")
    assert missing.status_code == 404 and "没有 99 号窗口" in missing.text
