"""`hallq purge`: appointments older than the retention period go, the enquiries' personal fields are blanked (once
their month is archived: tests/unit/test_archives.py), the event rows stay; running it again is harmless. Run
through the command itself (in-process), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from server.appointments import Booking
from server.cli import main
from server.clock import ManualClock
from server.hall import Hall, Settings
from server.models import Appointment, DutyLogEntry, Enquiry, TicketEvent
from tests.conftest import SHANGHAI, SMALL_HALL

#: retention 30 days; a slot every day, so any date can be booked
HALL = SMALL_HALL + """
[appointments]
retention_days = 30
days_ahead = 7

[[appointments.slots]]
start = "14:00"
end = "15:00"
capacity = 5
days = [1, 2, 3, 4, 5, 6, 7]
"""


def counts(hall: Hall) -> dict[str, int]:
    with hall.storage.read() as session:
        result = {model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
                  for model in (Appointment, DutyLogEntry, Enquiry)}
        result["enquirers"] = session.scalar(select(func.count()).select_from(Enquiry).where(Enquiry.who != "")) or 0
        result["events"] = session.scalar(select(func.count()).select_from(TicketEvent).where(
            TicketEvent.action != "records_purged")) or 0
        result["purges"] = session.scalar(select(func.count()).select_from(TicketEvent).where(
            TicketEvent.action == "records_purged")) or 0
    return result


@pytest.fixture
def instance(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    config = tmp_path / "hall.toml"
    config.write_text(HALL, encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", database_url)
    return config, tmp_path / "instance"


def records_on(config: Path, folder: Path, day: date, phone: str) -> None:
    """An appointment, a duty log entry and an enquiry of ``day`` (booked the day before)."""
    clock = ManualClock(datetime.combine(day - timedelta(days=1), time(9), SHANGHAI))
    hall = Hall.open(Settings.resolve(config, folder, clock=clock))
    try:
        hall.appointments.book(Booking(service="id-card", day=day, slot="14:00", kind="window", channel="phone",
                                       name="张小三", phone=phone), "guide")
        clock.set(datetime.combine(day, time(10), SHANGHAI))
        hall.desk.log_duty("general", "打印机缺纸，已更换", "guide")
        hall.desk.register_enquiry("phone", "低保怎么申请", "guide", who="李四", contact="13900000000")
    finally:
        hall.storage.dispose()


def test_purge_deletes_old_appointments_blanks_old_enquirers_keeps_the_rest_and_can_run_again(
        instance: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    config, folder = instance
    today = datetime.now(SHANGHAI).date()
    for age, phone in ((200, "13900000001"), (31, "13900000002"), (5, "13900000003")):
        records_on(config, folder, today - timedelta(days=age), phone)
    hall = Hall.open(Settings.resolve(config, folder))
    try:
        before = counts(hall)
        assert before == {"appointments": 3, "duty_log": 3, "enquiries": 3, "enquirers": 3, "events": 9,
                          "purges": 0}
        args = ["purge", "--config", str(config), "--instance", str(folder)]
        assert main(["archive", "--config", str(config), "--instance", str(folder)]) == 0
        assert main(args) == 0
        cutoff = today - timedelta(days=30)
        assert capsys.readouterr().out.strip().splitlines()[-1] == (
            f"purged records older than 30 days (before {cutoff}): 2 appointments deleted; personal fields blanked "
            "in 0 duty log entries, 2 enquiries, 0 complaints")  # the duty log entry holds no number to mask
        archived = len({(today - timedelta(days=age)).replace(day=1) for age in (200, 31, 5)} - {today.replace(day=1)})
        assert counts(hall) == {"appointments": 1, "duty_log": 3, "enquiries": 3, "enquirers": 1,
                                "events": 9 + archived, "purges": 1}  # and one archive_made a finished month
        assert main(args) == 0  # again: nothing more to delete
        assert "0 appointments deleted; personal fields blanked in 0 duty log entries, 0 enquiries" in (
            capsys.readouterr().out)
        assert counts(hall)["purges"] == 1
        with hall.storage.read() as session:
            purge = session.scalars(select(TicketEvent).where(TicketEvent.action == "records_purged")).first()
        assert purge is not None and purge.detail == {
            "before": cutoff.isoformat(), "appointments": 2, "duty_log": 0, "enquiries": 2, "complaints": 0,
            "months": sorted({(today - timedelta(days=age)).strftime("%Y-%m") for age in (200, 31)})}
        assert main([*args, "--days", "-1"]) == 2
        assert "--days must be 0 or more" in capsys.readouterr().err
    finally:
        hall.storage.dispose()
