"""`hallq purge`: the records that hold personal data — appointments, the duty log, the enquiry register — are
deleted once older than the retention period (PIPL: kept only as long as needed). Event rows hold none and stay,
so the audit trail and the statistics outlive the records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import delete

from server.clock import Clock, business_date
from server.config import HallConfig
from server.db import Storage
from server.models import Appointment, DutyLogEntry, Enquiry, TicketEvent
from server.queue import DomainError


@dataclass(frozen=True)
class Purged:
    #: records of days before this one were deleted
    before: date
    days: int
    appointments: int
    duty_log: int
    enquiries: int

    def text(self) -> str:
        return (f"purged records older than {self.days} days (before {self.before}): {self.appointments} "
                f"appointments, {self.duty_log} duty log entries, {self.enquiries} enquiries")


def purge(storage: Storage, config: HallConfig, clock: Clock, days: int | None = None, actor: str = "cli") -> Purged:
    """Delete what is older than ``days`` (default ``[appointments] retention_days``); running it again deletes
    nothing more. A purge that deleted anything is itself recorded (counts only)."""
    days = config.appointments.retention_days if days is None else days
    if days < 0:
        raise DomainError("invalid", "bad_days", "--days must be 0 or more")
    now = clock.now()
    before = business_date(now, config.timezone) - timedelta(days=days)
    with storage.write() as session:
        counts = [session.execute(delete(model).where(model.business_date < before)).rowcount
                  for model in (Appointment, DutyLogEntry, Enquiry)]
        purged = Purged(before, days, *counts)
        if any(counts):
            session.add(TicketEvent(ticket_id=None, action="records_purged", window_id=None, actor=actor, at=now,
                                    detail={"before": before.isoformat(), "appointments": counts[0],
                                            "duty_log": counts[1], "enquiries": counts[2]}))
    return purged
