"""`hallq purge` (PIPL: personal data kept only as long as needed; 机构建设 5.4 定期清卷, seed lines 313-314).

Past the retention period, appointments are deleted (as before: the 登记表 of a day is printed from the guide
desk); the duty log, the enquiry register and the closed complaints keep their records, the hall's own account of
its work and the assessment's complaints (4.6), with their personal fields blanked: the enquirer's and the
complainant's name and contact emptied, phone and ID numbers in free text masked (138****1234). That happens only
to months whose archive (server/archives.py) is kept: otherwise the purge refuses, names the months and changes
nothing. Event rows hold no personal data and stay, so the audit trail and the statistics outlive the records."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from server.archives import Archives, closed_complaints, closing_day, month_text, next_month, purged_before
from server.clock import Clock, business_date
from server.config import HallConfig
from server.db import Storage
from server.models import Appointment, Complaint, DutyLogEntry, Enquiry, TicketEvent
from server.privacy import mask_numbers
from server.queue import DomainError

#: what a record keeps once purged: its fields' new values
_BLANKED: dict[type, Callable[[Any], dict[str, Any]]] = {
    DutyLogEntry: lambda e: {"text": mask_numbers(e.text)},
    Enquiry: lambda e: {"who": "", "contact": "", "subject": mask_numbers(e.subject), "answer": mask_numbers(e.answer)},
    Complaint: lambda c: {"name": "", "contact": "", "request": mask_numbers(c.request),
                          "answer": mask_numbers(c.answer) if c.answer else c.answer},
}


@dataclass(frozen=True)
class Purged:
    #: records of days before this one were purged
    before: date
    days: int
    #: deleted
    appointments: int
    #: personal fields blanked
    duty_log: int
    enquiries: int
    complaints: int
    #: the months (YYYY-MM) of the blanked records, each with its archive
    months: tuple[str, ...]

    def text(self) -> str:
        return (f"purged records older than {self.days} days (before {self.before}): {self.appointments} "
                f"appointments deleted; personal fields blanked in {self.duty_log} duty log entries, "
                f"{self.enquiries} enquiries, {self.complaints} complaints")


def purge(storage: Storage, config: HallConfig, clock: Clock, archives: Archives, days: int | None = None,
          actor: str = "cli") -> Purged:
    """Purge what is older than ``days`` (default ``[appointments] retention_days``); running it again changes
    nothing more. Refused while a month it would blank has no archive. A purge that changed anything is itself
    recorded (counts and months only)."""
    days = config.appointments.retention_days if days is None else days
    if days < 0:
        raise DomainError("invalid", "bad_days", "--days must be 0 or more")
    now = clock.now()
    before = business_date(now, config.timezone) - timedelta(days=days)
    with storage.write() as session:
        changes = _changes(session, config, before)
        months = sorted({month for _, _, month in changes})
        _refuse_without_archives(archives, months)
        for record, fields, _ in changes:
            for name, value in fields.items():
                setattr(record, name, value)
        appointments = session.execute(delete(Appointment).where(Appointment.business_date < before)).rowcount
        counts = [sum(isinstance(record, model) for record, _, _ in changes)
                  for model in (DutyLogEntry, Enquiry, Complaint)]
        purged = Purged(before, days, appointments, *counts, months=tuple(month_text(m) for m in months))
        if appointments or changes:
            session.add(TicketEvent(ticket_id=None, action="records_purged", window_id=None, actor=actor, at=now,
                                    detail={"before": before.isoformat(), "appointments": appointments,
                                            "duty_log": counts[0], "enquiries": counts[1], "complaints": counts[2],
                                            "months": list(purged.months)}))
    return purged


def _changes(session: Session, config: HallConfig, before: date) -> list[tuple[Any, dict[str, Any], date]]:
    """(record, its blanked fields, its month) of every record before ``before`` that still holds personal data:
    duty log entries and enquiries by their day, complaints by the day they were closed (open ones stay whole).
    Those an earlier purge reached are not read again."""
    since = purged_before(session)
    records: list[tuple[Any, date]] = [
        (record, record.business_date) for model in (DutyLogEntry, Enquiry)
        for record in session.scalars(select(model).where(model.business_date >= since, model.business_date < before))]
    records += [(c, closing_day(c, config)) for c in closed_complaints(session, config, since, before)]
    changes = []
    for record, day in records:
        fields = _BLANKED[type(record)](record)
        if any(getattr(record, name) != value for name, value in fields.items()):
            changes.append((record, fields, day.replace(day=1)))
    return changes


def _refuse_without_archives(archives: Archives, months: list[date]) -> None:
    """Nothing is blanked before its month is kept (5.1): name each month and how to keep it."""
    missing = [month for month in months if not archives.kept(month)]
    if not missing:
        return
    this_month = archives.this_month()
    steps = [f"hallq archive --month {month_text(m)}" if m < this_month else
             f"{month_text(m)} is not over: its archive can be made from {next_month(m).isoformat()}, purge with "
             "more --days until then" for m in missing]
    raise DomainError("conflict", "archive_missing",
                      f"purge refused: no archive of {', '.join(month_text(m) for m in missing)} in "
                      f"{archives.folder} (值班记录、来电来访登记、投诉 of the month are kept there before their "
                      f"personal fields are blanked). Make it first: {'; '.join(steps)} "
                      "(or `hallq archive` for every finished month)")
