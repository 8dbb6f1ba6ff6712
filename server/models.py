"""What the hall stores. Nothing here is ever deleted at day change: history is the audit trail."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC on every backend, returned timezone-aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to UTCDateTime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class TicketStatus:
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    DONE = "done"
    NO_SHOW = "no_show"
    TRANSFERRED = "transferred"
    ALL = (WAITING, CALLED, SERVING, DONE, NO_SHOW, TRANSFERRED)


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(8))
    service: Mapped[str] = mapped_column(String(32))
    business_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str | None] = mapped_column(String(16))
    #: the resident's place in line: the first issue time, kept across transfers
    queue_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    called_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    window_id: Mapped[int | None] = mapped_column(Integer)
    #: set when a clerk transferred the resident to one particular window
    target_window: Mapped[int | None] = mapped_column(Integer)
    recalls: Mapped[int] = mapped_column(Integer, default=0)
    #: kiosk or desk: how the number was taken
    channel: Mapped[str] = mapped_column(String(16))
    transferred_from: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    #: the unguessable key of the resident's phone tracking page (/t/<token>); a transfer keeps it
    track_token: Mapped[str] = mapped_column(String(32))

    __table_args__ = (
        Index("ix_tickets_track", "track_token"),
        Index("ix_tickets_queue", "business_date", "status", "service", "queue_at"),
        Index("ix_tickets_number", "business_date", "number"),
        # one paper number per resident per day; a transfer continues the same number on a new row
        Index("ux_tickets_number", "business_date", "number", unique=True,
              sqlite_where=text("transferred_from IS NULL"), postgresql_where=text("transferred_from IS NULL")),
    )


class DailyCounter(Base):
    """The last number given per service and business date; incremented atomically by an upsert."""

    __tablename__ = "daily_counters"

    service: Mapped[str] = mapped_column(String(32), primary_key=True)
    business_date: Mapped[date] = mapped_column(Date, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class TicketEvent(Base):
    """One row per state change: the audit trail and the source of every statistic."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    action: Mapped[str] = mapped_column(String(24))
    window_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_events_at", "at"),
        Index("ix_events_ticket", "ticket_id"),
    )


class WindowState(Base):
    __tablename__ = "window_states"

    window_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: closed (no clerk), open, paused
    status: Mapped[str] = mapped_column(String(16), default="closed")
    clerk: Mapped[str | None] = mapped_column(String(64))
    current_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    since: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    #: 工号, shown on the window screen
    staff_no: Mapped[str] = mapped_column(String(32), default="")
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Device(Base):
    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)


class ExtendedService(Base):
    """延时服务: one per business day on which residents were still waiting at closing time."""

    __tablename__ = "extended_services"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    business_date: Mapped[date] = mapped_column(Date, unique=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: residents still waiting when it started, and those served after closing time
    waiting_at_start: Mapped[int] = mapped_column(Integer, default=0)
    served: Mapped[int] = mapped_column(Integer, default=0)
    #: window ids and staff usernames that called or served after closing time
    windows: Mapped[list[int]] = mapped_column(JSON, default=list)
    clerks: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: tickets still open when the next business day began (numbers), never deleted
    anomalies: Mapped[list[str]] = mapped_column(JSON, default=list)


class Evaluation(Base):
    """一次一评: the rating of one finished ticket, at most one whichever channel (the tablet or the phone).

    Created at 办结 as ``pending`` (the window's tablet asks until ``due_at``), then ``rated`` or ``unrated``
    (未评价: the phone may still rate). A poor rating carries its follow-up (整改). The ticket_events rows
    (rated, unrated, followup_opened, followup_closed) are the history the statistics read.
    """

    __tablename__ = "evaluations"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    window_id: Mapped[int] = mapped_column(Integer)
    #: the staff member who finished the ticket (the one being rated)
    clerk: Mapped[str] = mapped_column(String(64))
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16))
    level: Mapped[str | None] = mapped_column(String(24))
    reason: Mapped[str | None] = mapped_column(String(64))
    #: the resident's own words, long digit runs (phone, ID numbers) masked before they are stored
    comment: Mapped[str | None] = mapped_column(String(200))
    channel: Mapped[str | None] = mapped_column(String(16))
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    followup_due: Mapped[date | None] = mapped_column(Date)
    followup_closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    followup_closed_by: Mapped[str | None] = mapped_column(String(64))
    followup_note: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        Index("ix_evaluations_state", "state", "window_id"),
        Index("ix_evaluations_followup", "followup_due"),
    )


class CaseRecord(Base):
    """五件制: how a finished ticket's case was handled (即办件, 承诺件, 补办件, 退回件, 报批件).

    ``due`` is a 承诺件's promised completion date or a 报批件's reply due date; ``closed_at`` when the 承诺件 was
    completed or the 报批件's reply came back.
    """

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    window_id: Mapped[int] = mapped_column(Integer)
    clerk: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due: Mapped[date | None] = mapped_column(Date)
    materials: Mapped[list[str] | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(String(200))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_cases_open", "type", "closed_at"),)
