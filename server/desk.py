"""The guide desk's own books (seed 4.3.4-4.4.4 and 5.4.1): the duty log 值班记录 — the day's notable events and
emergencies, with the time and who wrote it — and the register of calls, letters and walk-in enquiries 来电来访登记
(who asked, what, the answer, where it was referred).

Both may hold personal data, so only the guide desk and the admin read them; after the retention period `hallq purge`
blanks it, once the month is archived (server/archives.py, server/retention.py). Each entry also writes an event row
without any of it, so the hall's statistics (enquiries a day, emergencies a month) outlive it.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.auth import display_names
from server.clock import Clock, business_date
from server.config import HallConfig
from server.db import Storage
from server.events import EventBus, HallEvent
from server.models import DutyLogEntry, Enquiry, TicketEvent
from server.queue import DomainError
from server.vocabulary import DUTY_KINDS, ENQUIRY_CHANNELS

log = logging.getLogger(__name__)

EVENTS = ("duty_logged", "enquiry_registered")


def _text(value: str | None, what: str, longest: int, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise DomainError("invalid", "missing_field", f"请填写{what}")
    if len(value) > longest:
        raise DomainError("invalid", "too_long", f"{what}最多 {longest} 字")
    return value


class DeskRecords:
    def __init__(self, storage: Storage, config: HallConfig, clock: Clock, bus: EventBus):
        self.storage = storage
        self.config = config
        self.clock = clock
        self.bus = bus

    # ------------------------------------------------------------------ 值班记录

    def log_duty(self, kind: str, text: str, author: str, at: time | None = None) -> dict[str, Any]:
        """One entry of today's duty log; ``at``: when it happened today (default: now)."""
        if kind not in DUTY_KINDS:
            raise DomainError("invalid", "bad_kind", f"kind 只能是 {', '.join(DUTY_KINDS)} 之一")
        text = _text(text, "记录内容", 1000, required=True)
        now, happened = self._when(at)
        with self.storage.write() as session:
            entry = DutyLogEntry(business_date=business_date(now, self.config.timezone), at=happened, kind=kind,
                                 text=text, author=author, logged_at=now)
            session.add(entry)
            session.flush()
            event = self._record(session, "duty_logged", author, now, {"kind": kind, "entry": entry.id})
            result = self._duty_json(session, [entry])[0]
        self.bus.publish([event])
        return result

    def duty_log(self, day: date) -> list[dict[str, Any]]:
        with self.storage.read() as session:
            return self._duty_json(session, session.scalars(select(DutyLogEntry).where(
                DutyLogEntry.business_date == day).order_by(DutyLogEntry.at, DutyLogEntry.id)).all())

    # ------------------------------------------------------------------ 来电来访登记

    def register_enquiry(self, channel: str, subject: str, author: str, answer: str = "", who: str = "",
                         contact: str = "", referred_to: str = "", at: time | None = None) -> dict[str, Any]:
        if channel not in ENQUIRY_CHANNELS:
            raise DomainError("invalid", "bad_channel", f"channel 只能是 {', '.join(ENQUIRY_CHANNELS)} 之一")
        entry_fields = {"subject": _text(subject, "咨询事项", 500, required=True),
                        "answer": _text(answer, "答复", 1000), "who": _text(who, "来电来访人", 32),
                        "contact": _text(contact, "联系方式", 32), "referred_to": _text(referred_to, "转办", 100)}
        now, happened = self._when(at)
        with self.storage.write() as session:
            entry = Enquiry(business_date=business_date(now, self.config.timezone), at=happened, channel=channel,
                            author=author, **entry_fields)
            session.add(entry)
            session.flush()
            event = self._record(session, "enquiry_registered", author, now,
                                 {"channel": channel, "referred": bool(entry.referred_to), "entry": entry.id})
            result = self._enquiry_json(session, [entry])[0]
        self.bus.publish([event])
        return result

    def enquiries(self, day: date) -> list[dict[str, Any]]:
        with self.storage.read() as session:
            return self._enquiry_json(session, session.scalars(select(Enquiry).where(
                Enquiry.business_date == day).order_by(Enquiry.at, Enquiry.id)).all())

    # ------------------------------------------------------------------ internals

    def _when(self, at: time | None) -> tuple[datetime, datetime]:
        """Now, and the instant of ``at`` today: it cannot lie in the future."""
        now = self.clock.now()
        if at is None:
            return now, now
        zone = self.config.timezone
        happened = datetime.combine(business_date(now, zone), at).replace(tzinfo=zone)
        if happened > now:
            raise DomainError("invalid", "in_the_future", f"时间 {at:%H:%M} 还没到，请填写已经发生的时间")
        return now, happened

    def _record(self, session: Session, action: str, author: str, now: datetime, detail: dict[str, Any]) -> HallEvent:
        detail = {**detail, "date": business_date(now, self.config.timezone).isoformat()}
        session.add(TicketEvent(ticket_id=None, action=action, window_id=None, actor=author, at=now, detail=detail))
        log.info("%s by %s: %s", action, author, detail)  # the detail holds no personal data
        return HallEvent(action, now, actor=author, detail=detail)

    def _local(self, instant: datetime) -> str:
        return instant.astimezone(self.config.timezone).isoformat()

    def _duty_json(self, session: Session, entries: list[DutyLogEntry]) -> list[dict[str, Any]]:
        names = display_names(session, (e.author for e in entries))
        return [{"id": e.id, "date": e.business_date.isoformat(), "at": self._local(e.at), "kind": e.kind,
                 "kind_text": DUTY_KINDS[e.kind], "text": e.text, "author": e.author,
                 "author_name": names.get(e.author, e.author), "logged_at": self._local(e.logged_at)}
                for e in entries]

    def _enquiry_json(self, session: Session, entries: list[Enquiry]) -> list[dict[str, Any]]:
        names = display_names(session, (e.author for e in entries))
        return [{"id": e.id, "date": e.business_date.isoformat(), "at": self._local(e.at), "channel": e.channel,
                 "channel_text": ENQUIRY_CHANNELS[e.channel], "who": e.who, "contact": e.contact,
                 "subject": e.subject, "answer": e.answer, "referred_to": e.referred_to, "author": e.author,
                 "author_name": names.get(e.author, e.author)} for e in entries]
