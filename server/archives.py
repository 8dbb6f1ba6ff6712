"""档案 (机构建设 5 档案管理, seed lines 303-314): the guide desk's registers are kept, one XLSX file a month, before
`hallq purge` blanks their personal fields — 专人负责保管 (5.1: the admin downloads them, prints the paper copy and
keeps the file: 纸质档案和电子档案各一套), 定期清卷 (5.4: the purge, only once the month is kept).

A month's file holds three sheets in the columns of the registers on the guide desk's screens: the duty log
(值班记录) and the enquiry register (来电来访登记) of the days of that month, and the complaints (投诉) closed in that
month (5.2: 已办结的业务档案…及时入柜 — a complaint is filed when it is finished, so a month's file never changes
once the month is over). It carries the personal data those registers show the guide desk and the admin, no more.

Files live in INSTANCE/archives (0700), each 0600, named ``archive-YYYY-MM.xlsx`` by the server alone: the download
serves only such a name, of a file that exists.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.auth import display_names
from server.clock import Clock, business_date
from server.config import HallConfig
from server.db import Storage, write_private
from server.models import Complaint, DutyLogEntry, Enquiry, TicketEvent
from server.queue import DomainError
from server.spreadsheet import register_sheet, saved, workbook
from server.vocabulary import COMPLAINT_CHANNELS, DUTY_KINDS, ENQUIRY_CHANNELS

FOLDER = "archives"
NAME = re.compile(r"archive-(\d{4})-(0[1-9]|1[0-2])\.xlsx")
#: the columns of each sheet: the guide desk's register screens (guide.html), with the day added
DUTY_COLUMNS = ("序号", "日期", "时间", "类别", "记录内容", "记录人")
ENQUIRY_COLUMNS = ("序号", "日期", "时间", "方式", "来电来访人", "联系方式", "咨询事项", "答复", "转办", "登记人")
COMPLAINT_COLUMNS = ("序号", "收到日期", "方式", "窗口", "被投诉人", "投诉人", "联系方式", "投诉事项及诉求", "承办人",
                     "答复期限", "答复", "答复时间", "是否属实", "是否接受答复", "办结时间", "登记人")
_YES_NO = {True: "是", False: "否", None: ""}


def month_of(value: str) -> date:
    """``YYYY-MM`` → the month's first day."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", value.strip())
    if match is None or not 1 <= int(match[2]) <= 12 or int(match[1]) < 2000:
        raise DomainError("invalid", "bad_month", f"month {value!r}: expected YYYY-MM, e.g. 2026-11")
    return date(int(match[1]), int(match[2]), 1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def month_text(month: date) -> str:
    return f"{month:%Y-%m}"


def file_name(month: date) -> str:
    return f"archive-{month_text(month)}.xlsx"


@dataclass(frozen=True)
class ArchiveFile:
    name: str
    month: date
    size: int
    #: when the file was written
    made_at: datetime


@dataclass(frozen=True)
class Made:
    path: Path
    month: date
    duty_log: int
    enquiries: int
    complaints: int
    #: an earlier file of that month was replaced (nothing of the month had been purged)
    replaced: bool

    def text(self) -> str:
        return (f"{'replaced' if self.replaced else 'wrote'} {self.path}: {month_text(self.month)}, "
                f"{self.duty_log} duty log entries, {self.enquiries} enquiries, {self.complaints} complaints")


class Archives:
    """The month files of one hall's instance folder."""

    def __init__(self, storage: Storage, config: HallConfig, clock: Clock, instance: Path):
        self.storage = storage
        self.config = config
        self.clock = clock
        self.folder = instance / FOLDER

    # ------------------------------------------------------------------ the files

    def path(self, month: date) -> Path:
        return self.folder / file_name(month)

    def kept(self, month: date) -> bool:
        return self.path(month).is_file()

    def files(self) -> list[ArchiveFile]:
        """Every month file, newest month first."""
        if not self.folder.is_dir():
            return []
        found = []
        for path in self.folder.iterdir():
            match = NAME.fullmatch(path.name)
            if match and path.is_file():
                stat = path.stat()
                found.append(ArchiveFile(path.name, date(int(match[1]), int(match[2]), 1), stat.st_size,
                                         datetime.fromtimestamp(stat.st_mtime, UTC)))
        return sorted(found, key=lambda f: f.month, reverse=True)

    def file(self, name: str) -> Path:
        """The file of a name the server made; anything else (another name, ``../``, a missing month) is 404."""
        if NAME.fullmatch(name) is None or not (self.folder / name).is_file():
            raise DomainError("not_found", "no_such_archive", "没有这个档案文件")
        return self.folder / name

    # ------------------------------------------------------------------ making them

    def this_month(self) -> date:
        return business_date(self.clock.now(), self.config.timezone).replace(day=1)

    def make(self, month: date, actor: str = "cli") -> Made:
        """Write the month's file: only once the month is over (its registers no longer change). Written again
        while nothing of the month was purged, it is replaced by the full month; after a purge, the file kept
        holds what the records no longer do, so it is never replaced."""
        if month >= self.this_month():
            raise DomainError("conflict", "month_not_over",
                              f"{month_text(month)} is not over yet: its archive can be made from "
                              f"{next_month(month).isoformat()}")
        path = self.path(month)
        replaced = path.exists()
        with self.storage.read() as session:
            if replaced and month_text(month) in purged_months(session):
                raise DomainError("conflict", "archive_kept",
                                  f"{path} is kept as it is: records of {month_text(month)} were purged since it "
                                  "was written, a new file would lack their personal fields")
            sheets = self._sheets(session, month)
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.folder.chmod(0o700)
        write_private(path, _workbook(self.config.name, month, sheets))
        now = self.clock.now()
        counts = [len(rows) for _, _, rows in sheets]
        with self.storage.write() as session:
            session.add(TicketEvent(ticket_id=None, action="archive_made", window_id=None, actor=actor, at=now,
                                    detail={"month": month_text(month), "duty_log": counts[0],
                                            "enquiries": counts[1], "complaints": counts[2]}))
        return Made(path, month, *counts, replaced=replaced)

    def missing(self) -> list[date]:
        """The months that are over, have records and no file: what `hallq archive` without --month writes."""
        with self.storage.read() as session:
            months = record_months(session, self.config, self.this_month())
        return [month for month in months if not self.kept(month)]

    def downloaded(self, name: str, actor: str) -> None:
        """Reading the archive is registered (5.5: 查阅或复印档案…办理登记手续)."""
        with self.storage.write() as session:
            session.add(TicketEvent(ticket_id=None, action="archive_downloaded", window_id=None, actor=actor,
                                    at=self.clock.now(), detail={"file": name}))

    def _sheets(self, session: Session, month: date) -> list[tuple[str, Sequence[str], list[tuple[Any, ...]]]]:
        end = next_month(month)
        zone = self.config.timezone
        duty = session.scalars(select(DutyLogEntry).where(DutyLogEntry.business_date >= month,
                                                          DutyLogEntry.business_date < end)
                               .order_by(DutyLogEntry.at, DutyLogEntry.id)).all()
        enquiries = session.scalars(select(Enquiry).where(Enquiry.business_date >= month, Enquiry.business_date < end)
                                    .order_by(Enquiry.at, Enquiry.id)).all()
        complaints = closed_complaints(session, self.config, month, end)
        names = display_names(session, [*(e.author for e in duty), *(e.author for e in enquiries),
                                        *(c.clerk for c in complaints), *(c.handler for c in complaints),
                                        *(c.registered_by for c in complaints)])

        def name(user: str | None) -> str:
            return names.get(user, user) if user else ""

        def local(instant: datetime | None, form: str = "%Y-%m-%d %H:%M") -> str:
            return instant.astimezone(zone).strftime(form) if instant else ""

        return [
            ("值班记录", DUTY_COLUMNS, [(n, e.business_date.isoformat(), local(e.at, "%H:%M"), DUTY_KINDS[e.kind],
                                     e.text, name(e.author)) for n, e in enumerate(duty, start=1)]),
            ("来电来访登记", ENQUIRY_COLUMNS, [
                (n, e.business_date.isoformat(), local(e.at, "%H:%M"), ENQUIRY_CHANNELS[e.channel], e.who, e.contact,
                 e.subject, e.answer, e.referred_to, name(e.author)) for n, e in enumerate(enquiries, start=1)]),
            ("投诉登记", COMPLAINT_COLUMNS, [
                (n, c.business_date.isoformat(), COMPLAINT_CHANNELS.get(c.channel, c.channel),
                 f"{c.window_id}号窗口" if c.window_id else "", name(c.clerk), c.name, c.contact, c.request,
                 name(c.handler), c.due.isoformat(), c.answer or "", local(c.answered_at), _YES_NO[c.upheld],
                 _YES_NO[c.accepted], local(c.closed_at), name(c.registered_by))
                for n, c in enumerate(complaints, start=1)]),
        ]


# ---------------------------------------------------------------- shared with the purge (server/retention.py)

def closed_complaints(session: Session, config: HallConfig, start: date, end: date) -> list[Complaint]:
    """Complaints closed on the business days [start, end), in the order they were closed."""
    return list(session.scalars(select(Complaint).where(
        Complaint.closed_at >= _start_of(start, config), Complaint.closed_at < _start_of(end, config))
        .order_by(Complaint.closed_at, Complaint.id)).all())


def record_months(session: Session, config: HallConfig, end: date) -> list[date]:
    """The months before ``end`` with a duty log entry, an enquiry (by their day) or a closed complaint (by the day
    it was closed), in order. Reads the days only."""
    days = {day for model in (DutyLogEntry, Enquiry)
            for day in session.scalars(select(model.business_date).where(model.business_date < end).distinct())}
    days |= {business_date(closed, config.timezone) for closed in session.scalars(
        select(Complaint.closed_at).where(Complaint.closed_at < _start_of(end, config)))}
    return sorted({day.replace(day=1) for day in days})


def closing_day(complaint: Complaint, config: HallConfig) -> date:
    assert complaint.closed_at is not None
    return business_date(complaint.closed_at, config.timezone)


def _purges(session: Session) -> list[dict[str, Any]]:
    return [event.detail or {} for event in session.scalars(
        select(TicketEvent).where(TicketEvent.action == "records_purged"))]


def purged_months(session: Session) -> set[str]:
    """Months (YYYY-MM) of which `hallq purge` has blanked records."""
    return {month for detail in _purges(session) for month in detail.get("months", [])}


def purged_before(session: Session) -> date:
    """Every record of a day before this one was purged already (by the purge that reached furthest): a new purge
    need not read them again. The desk writes only today's entries and a complaint closes today, so none appear
    there later."""
    return max((date.fromisoformat(detail["before"]) for detail in _purges(session) if "before" in detail),
               default=date(2000, 1, 1))


def _start_of(day: date, config: HallConfig) -> datetime:
    return datetime.combine(day, time(0), config.timezone)


def _workbook(hall_name: str, month: date, sheets: list[tuple[str, Sequence[str], list[tuple[Any, ...]]]]) -> bytes:
    """One sheet a register: title, month and count, the header row repeated on every printed A4 page."""
    book = workbook()
    book.remove(book.active)
    for title, columns, rows in sheets:
        sheet = book.create_sheet(title)
        register_sheet(sheet, f"{hall_name}　{title}　{month.year}年{month.month}月", f"共 {len(rows)} 条", columns,
                       rows)
    return saved(book)
