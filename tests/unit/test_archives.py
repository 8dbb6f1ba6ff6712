"""Archives before purge (issue 16 point 8; 档案管理 5.1-5.5, seed lines 303-318): a finished month's duty log,
enquiries and closed complaints are written to one owner-only XLSX file in the registers' columns; `hallq purge`
refuses to blank a month without its file, and after it blanks the personal fields only. Run through the command
itself (in-process, the system clock: months are counted back from today), on SQLite and PostgreSQL."""

from __future__ import annotations

import stat
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from server.appointments import Booking
from server.archives import COMPLAINT_COLUMNS, DUTY_COLUMNS, ENQUIRY_COLUMNS, file_name, month_text
from server.cli import main
from server.clock import ManualClock
from server.hall import Hall, Settings
from server.models import Appointment, Complaint, DutyLogEntry, Enquiry, TicketEvent
from tests.conftest import SHANGHAI
from tests.unit.test_purge import instance

__all__ = ["instance"]  # the fixture: config and instance folder

TODAY = datetime.now(SHANGHAI).date()
#: the month before last: over, and older than the 30 days of retention
MONTH = (TODAY.replace(day=1) - timedelta(days=40)).replace(day=1)
EARLIER = (MONTH - timedelta(days=1)).replace(day=1)


def hall_at(config: Path, folder: Path, when: datetime) -> Hall:
    return Hall.open(Settings.resolve(config, folder, clock=ManualClock(when)))


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), SHANGHAI)


def fill(config: Path, folder: Path) -> None:
    """MONTH: a duty log entry, an enquiry (name, phone, an ID number in the subject, a formula-like answer), an
    appointment; a complaint received in EARLIER and closed in MONTH, one received in MONTH and still open; one
    duty log entry in EARLIER."""
    day = MONTH.replace(day=10)
    hall = hall_at(config, folder, at(day - timedelta(days=1), 9))
    try:
        hall.appointments.book(Booking(service="id-card", day=day, slot="14:00", kind="window", channel="phone",
                                       name="预约人", phone="13700000007"), "guide")
        hall.settings.clock.set(at(day))  # type: ignore[attr-defined]
        hall.desk.log_duty("emergency", "张先生 13912345678 晕倒，已送医", "guide")
        hall.desk.register_enquiry("phone", "低保怎么申请 110101199001011234", "guide", answer="=1+2 带户口本",
                                   who="李四", contact="13900000000", referred_to="3号窗口")
        hall.settings.clock.set(at(EARLIER.replace(day=5)))  # type: ignore[attr-defined]
        hall.desk.log_duty("general", "打印机缺纸", "guide")
        with hall.storage.write() as session:
            session.add(Complaint(business_date=EARLIER.replace(day=28), received_at=at(EARLIER.replace(day=28)),
                                  channel="phone", window_id=1, clerk="guide", name="王五", contact="13600000006",
                                  request="态度不好，要求道歉", handler="guide", due=MONTH.replace(day=4),
                                  answer="已道歉", answered_at=at(MONTH.replace(day=3)), upheld=True, accepted=True,
                                  registered_by="guide", closed_at=at(MONTH.replace(day=3), 11)))
            session.add(Complaint(business_date=day, received_at=at(day), channel="letter", name="赵六",
                                  contact="13500000005", request="排队太久", due=day + timedelta(days=7),
                                  registered_by="guide"))
    finally:
        hall.storage.dispose()


def run(config: Path, folder: Path, *args: str) -> int:
    return main([*args, "--config", str(config), "--instance", str(folder)])


def cells(path: Path) -> dict[str, list[tuple[object, ...]]]:
    book = load_workbook(path)
    return {sheet.title: [tuple(c.value for c in row) for row in sheet.iter_rows(min_row=3)] for sheet in book}


def test_the_month_file_holds_the_registers_in_their_columns_owner_only(
        instance: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    config, folder = instance
    fill(config, folder)
    assert run(config, folder, "archive", "--month", month_text(MONTH)) == 0
    path = folder / "archives" / file_name(MONTH)
    assert capsys.readouterr().out.startswith(f"wrote {path}: {month_text(MONTH)}, 1 duty log entries, "
                                              "1 enquiries, 1 complaints")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    sheets = cells(path)
    assert list(sheets) == ["值班记录", "来电来访登记", "投诉登记"]
    day = MONTH.replace(day=10).isoformat()
    assert sheets["值班记录"] == [DUTY_COLUMNS,
                              (1, day, "10:00", "突发事件", "张先生 13912345678 晕倒，已送医", "guide")]
    # the columns and values of the guide desk's register, no more: the answer typed as a formula stays text
    hall = hall_at(config, folder, at(TODAY))
    try:
        [shown] = hall.desk.enquiries(MONTH.replace(day=10))
    finally:
        hall.storage.dispose()
    assert sheets["来电来访登记"] == [ENQUIRY_COLUMNS, (
        1, day, "10:00", shown["channel_text"], shown["who"], shown["contact"], shown["subject"], "'" + shown["answer"],
        shown["referred_to"], shown["author_name"])]
    # the complaint closed in the month (received the month before); the open one waits for its closing month
    assert sheets["投诉登记"] == [COMPLAINT_COLUMNS, (
        1, EARLIER.replace(day=28).isoformat(), "来电", "1号窗口", "guide", "王五", "13600000006", "态度不好，要求道歉",
        "guide", MONTH.replace(day=4).isoformat(), "已道歉", f"{MONTH.replace(day=3)} 10:00", "是", "是",
        f"{MONTH.replace(day=3)} 11:00", "guide")]
    everything = {str(value) for rows in sheets.values() for row in rows for value in row}
    assert not {"预约人", "13700000007", "赵六", "13500000005"} & everything  # appointments, an open complaint
    # EARLIER has its duty log entry; the whole run writes it, not this month (not over) nor MONTH again
    assert run(config, folder, "archive") == 0
    assert capsys.readouterr().out.strip().splitlines() == [
        f"wrote {folder / 'archives' / file_name(EARLIER)}: {month_text(EARLIER)}, 1 duty log entries, "
        "0 enquiries, 0 complaints"]
    assert run(config, folder, "archive") == 0
    assert capsys.readouterr().out.startswith("every finished month with records has its archive")
    assert run(config, folder, "archive", "--month", month_text(TODAY)) == 2
    assert f"{month_text(TODAY)} is not over yet" in capsys.readouterr().err
    assert run(config, folder, "archive", "--month", "2026-13") == 2
    assert "expected YYYY-MM" in capsys.readouterr().err


def personal(hall: Hall) -> dict[str, object]:
    with hall.storage.read() as session:
        enquiry = session.scalars(select(Enquiry)).one()
        duty = session.scalars(select(DutyLogEntry).where(DutyLogEntry.kind == "emergency")).one()
        complaints = {c.request: (c.name, c.contact) for c in session.scalars(select(Complaint))}
        return {"enquiry": (enquiry.who, enquiry.contact, enquiry.subject, enquiry.answer, enquiry.referred_to),
                "duty": duty.text, "complaints": complaints,
                "appointments": session.scalar(select(func.count()).select_from(Appointment)),
                "purges": session.scalar(select(func.count()).select_from(TicketEvent).where(
                    TicketEvent.action == "records_purged"))}


def test_purge_refuses_a_month_without_its_archive_then_blanks_the_personal_fields(
        instance: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    config, folder = instance
    fill(config, folder)
    hall = hall_at(config, folder, at(TODAY))
    try:
        whole = personal(hall)
        assert run(config, folder, "purge") == 2
        refusal = capsys.readouterr().err
        assert f"no archive of {month_text(MONTH)} in {folder / 'archives'}" in refusal
        assert f"hallq archive --month {month_text(MONTH)}" in refusal
        assert month_text(EARLIER) not in refusal  # its only entry holds nothing personal: nothing to blank there
        assert personal(hall) == whole  # nothing changed, the appointment not deleted either

        assert run(config, folder, "archive", "--month", month_text(MONTH)) == 0
        kept = cells(folder / "archives" / file_name(MONTH))
        assert run(config, folder, "purge") == 0
        assert capsys.readouterr().out.strip().splitlines()[-1] == (
            f"purged records older than 30 days (before {TODAY - timedelta(days=30)}): 1 appointments deleted; "
            "personal fields blanked in 1 duty log entries, 1 enquiries, 1 complaints")
        assert personal(hall) == {
            "enquiry": ("", "", "低保怎么申请 110***********1234", "=1+2 带户口本", "3号窗口"),
            "duty": "张先生 139****5678 晕倒，已送医",
            "complaints": {"态度不好，要求道歉": ("", ""), "排队太久": ("赵六", "13500000005")},  # open: whole
            "appointments": 0, "purges": 1}
        with hall.storage.read() as session:
            event = session.scalars(select(TicketEvent).where(TicketEvent.action == "records_purged")).one()
        assert event.detail == {"before": (TODAY - timedelta(days=30)).isoformat(), "appointments": 1, "duty_log": 1,
                                "enquiries": 1, "complaints": 1, "months": [month_text(MONTH)]}
        assert run(config, folder, "purge") == 0  # again: nothing left to blank
        assert "0 appointments deleted; personal fields blanked in 0 duty log entries, 0 enquiries, 0 complaints" in (
            capsys.readouterr().out)
        assert personal(hall)["purges"] == 1

        # the file kept is the only full copy now: never replaced; a month not purged may be written again
        assert run(config, folder, "archive", "--month", month_text(MONTH)) == 2
        assert "is kept as it is" in capsys.readouterr().err
        assert cells(folder / "archives" / file_name(MONTH)) == kept
        assert run(config, folder, "archive", "--month", month_text(EARLIER)) == 0
        assert run(config, folder, "archive", "--month", month_text(EARLIER)) == 0
        assert capsys.readouterr().out.splitlines()[-1].startswith("replaced ")

    finally:
        hall.storage.dispose()


def test_a_month_not_over_cannot_be_purged(instance: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """With --days reaching into this month, its records would be blanked with no archive possible yet."""
    config, folder = instance
    if TODAY.day == 1:
        pytest.skip("on the first of a month no earlier day of it exists")
    hall = hall_at(config, folder, at(TODAY.replace(day=1), 9))
    try:
        hall.desk.register_enquiry("visit", "问路", "guide", who="钱七")
    finally:
        hall.storage.dispose()
    assert run(config, folder, "purge", "--days", "0") == 2
    assert (f"{month_text(TODAY)} is not over: its archive can be made from "
            f"{(TODAY.replace(day=28) + timedelta(days=4)).replace(day=1)}") in capsys.readouterr().err
