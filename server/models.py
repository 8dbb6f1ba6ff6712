"""What the hall stores. Nothing here is ever deleted at day change: history is the audit trail. Only the records that
hold personal data change, by `hallq purge`, after their retention: appointments are deleted; the duty log, enquiries
and closed complaints have their personal fields blanked, once their month is archived (server/archives.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Index, Integer, String, false, text, true
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
    #: the appointment this ticket was issued for at check-in (called before regular tickets of its service); no
    #: foreign key: the number stays an appointment's after `hallq purge` has deleted the appointment's record
    appointment_id: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_tickets_track", "track_token"),
        Index("ix_tickets_queue", "business_date", "status", "service", "queue_at"),
        Index("ix_tickets_number", "business_date", "number"),
        # the day's latest finished (each window's pace): read from the end, however long the day has been. Partial:
        # PostgreSQL, whose statistics have not seen today's rows yet, would take any index starting with the day for
        # the waiting line too, and walk the day's finished tickets
        Index("ix_tickets_finished", "business_date", "finished_at", sqlite_where=text("finished_at IS NOT NULL"),
              postgresql_where=text("finished_at IS NOT NULL")),
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


class WindowDay(Base):
    """今日已办 of a window: the tickets it finished (办结) that business day, counted in each 办结's own transaction
    so the screens never count the day's tickets."""

    __tablename__ = "window_days"

    # the day first: the screens read one day's rows, and the history grows by a row per window a day
    business_date: Mapped[date] = mapped_column(Date, primary_key=True)
    window_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    served: Mapped[int] = mapped_column(Integer)


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
        # the latest calls for the screens: read from the end of one action's rows (id: in the order they are shown)
        Index("ix_events_action", "action", "at", "id"),
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
    #: 党员: the window screen shows the badge while they are signed in (场所设施标准 2.1.5: 党员“亮身份”)
    party_member: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))
    #: unused since issue 14 (wrong passwords slow down in memory, server/throttle.py, instead of locking the
    #: account); kept so an installed hall's database needs no migration and an older hallq can still read it
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: set when an admin disables the account (the clerk left): it cannot log in; its records stay
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: raised by logout, a password change or reset and disabling: every session signed with an older value ends
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Device(Base):
    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: when the device last connected or made a request with its token (shown to the admin)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: set when an admin revokes the device: its token stops working; the row stays for the record
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ExtendedService(Base):
    """延时服务: one per session (上午, 下午 …) at whose end residents were still waiting, the midday break included."""

    __tablename__ = "extended_services"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    business_date: Mapped[date] = mapped_column(Date)
    #: the session it followed (上午, 下午); None for a ticket left open on a day the calendar had no session
    session: Mapped[str | None] = mapped_column(String)
    #: the session's scheduled end
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: residents still waiting when it started, and those served between its start and its end
    waiting_at_start: Mapped[int] = mapped_column(Integer, default=0)
    served: Mapped[int] = mapped_column(Integer, default=0)
    #: window ids and staff usernames that called or served during it
    windows: Mapped[list[int]] = mapped_column(JSON, default=list)
    clerks: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: tickets still open when the next business day began (numbers), never deleted
    anomalies: Mapped[list[str]] = mapped_column(JSON, default=list)

    __table_args__ = (Index("ux_extended_session", "business_date", "started_at", unique=True),)


class Evaluation(Base):
    """一事一评: the rating of one finished ticket, at most one whichever channel (the tablet or the phone).

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

    受理 is ``recorded_at`` by ``clerk`` (the 办结 at the window); the other time points of 2.2 (审核, 决定, 送达)
    are marked by the clerk as the case goes on. ``due`` is the date the case must be finished by: a 承诺件's
    promised date, a 补办件's from the day its materials were complete (补齐, 3.3.2.2). ``limit_due`` is the date
    the item's 承诺时限 gives: a later ``due`` is an extension, with its reason. A 报批件 has two stages (2.4,
    3.5.2.2): 上报 by ``forward_due``, then the resident answered by ``answer_due`` after the 批复 arrived.
    A 退回件's resident may ask for 复核, answered by ``review_due`` (3.2.2.1). ``closed_at``: nothing is left to do.
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
    #: False: nobody chose, the default 即办件 was recorded (call-next finishing the resident before)
    chosen: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    #: the date the item's 承诺时限 gives; ``due`` later than it is an extension
    limit_due: Mapped[date | None] = mapped_column(Date)
    #: how many times the date was set later than the 承诺时限 allows, and the latest reason
    extensions: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    extension_reason: Mapped[str | None] = mapped_column(String(200))
    # the time points of 2.2 after 受理: 审核, 决定, 送达, each by whom
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_by: Mapped[str | None] = mapped_column(String(64))
    #: 补办件: the materials were complete (补齐); the 承诺时限 counts from that day
    supplemented_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    supplemented_by: Mapped[str | None] = mapped_column(String(64))
    #: 报批件, stage 1: 上报 to the higher office, due within [cases] approval_working_days of 受理
    forward_due: Mapped[date | None] = mapped_column(Date)
    forwarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    forwarded_by: Mapped[str | None] = mapped_column(String(64))
    #: 报批件, stage 2: the 批复 arrived; the resident is answered by ``answer_due`` (送达 is the answer)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by: Mapped[str | None] = mapped_column(String(64))
    answer_due: Mapped[date | None] = mapped_column(Date)
    #: 退回件: the resident asked for 复核; answered by ``review_due`` with ``review_result``
    review_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_due: Mapped[date | None] = mapped_column(Date)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    review_result: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_cases_open", "type", "closed_at"),)


class Complaint(Base):
    """投诉 (服务质量反馈和投诉制度, 4.3; 3.4.2.4): one complaint, from whichever channel, its handler, the answer due
    to the resident and whether they accepted it. ``name`` and ``contact`` are personal: the guide desk and the
    admin see them, `hallq purge` blanks them after the retention period."""

    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    business_date: Mapped[date] = mapped_column(Date)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: phone 来电, letter 来信, visit 来访, evaluator 评价器, online 网上
    channel: Mapped[str] = mapped_column(String(16))
    #: the window and the clerk complained about, when known
    window_id: Mapped[int | None] = mapped_column(Integer)
    clerk: Mapped[str | None] = mapped_column(String(64))
    #: the 不满意 rating it was opened from (at most one complaint a rating)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), unique=True)
    name: Mapped[str] = mapped_column(String(32), default="", server_default="")
    contact: Mapped[str] = mapped_column(String(32), default="", server_default="")
    #: what the resident complains of and asks for
    request: Mapped[str] = mapped_column(String(1000))
    #: the staff member who investigates and answers
    handler: Mapped[str | None] = mapped_column(String(64))
    #: the answer to the resident is due by then ([complaints] answer_working_days)
    due: Mapped[date] = mapped_column(Date)
    answer: Mapped[str | None] = mapped_column(String(1000))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by: Mapped[str | None] = mapped_column(String(64))
    #: 投诉属实: counts against the clerk and the window in the assessment
    upheld: Mapped[bool | None] = mapped_column(Boolean)
    #: the resident accepted the answer (None: not yet asked)
    accepted: Mapped[bool | None] = mapped_column(Boolean)
    registered_by: Mapped[str] = mapped_column(String(64))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_complaints_day", "business_date"), Index("ix_complaints_open", "closed_at", "due"))


class Appointment(Base):
    """预约: one line of the 《中心预约服务登记表》. Holds a resident's name, phone and ID digits: only the guide desk
    and the admin see them in full, and `hallq purge` deletes the record after the retention period."""

    __tablename__ = "appointments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: the 6 digits told to the resident, typed at the kiosk to check in
    code: Mapped[str] = mapped_column(String(6), unique=True)
    service: Mapped[str] = mapped_column(String(32))
    #: the day of the appointment, and the agreed time (a slot's start, or any time for home and holiday visits)
    business_date: Mapped[date] = mapped_column(Date)
    slot: Mapped[str] = mapped_column(String(5))
    slot_end: Mapped[str | None] = mapped_column(String(5))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: window, home (上门服务), holiday (on a day the hall is closed)
    kind: Mapped[str] = mapped_column(String(16))
    #: phone, letter, desk, online
    channel: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(32))
    phone: Mapped[str] = mapped_column(String(16))
    id_last6: Mapped[str | None] = mapped_column(String(6))
    notes: Mapped[str] = mapped_column(String(200), default="")
    #: booked, checked_in, forfeited, cancelled, rejected, done, not_done
    status: Mapped[str] = mapped_column(String(16))
    #: why it was rejected or cancelled, or the note of a home or holiday visit's outcome
    reason: Mapped[str | None] = mapped_column(String(200))
    #: the staff member who goes on a home visit or serves on the holiday
    assigned_to: Mapped[str | None] = mapped_column(String(64))
    #: 登记人: the staff member (or device) who registered it
    booked_by: Mapped[str] = mapped_column(String(64))
    booked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))

    __table_args__ = (
        Index("ix_appointments_day", "business_date", "slot"),
        Index("ix_appointments_due", "status", "starts_at"),
        Index("ix_appointments_phone", "phone", "business_date"),
        # one active appointment per person (phone) per item per day
        Index("ux_appointments_active", "phone", "service", "business_date", unique=True,
              sqlite_where=text("status IN ('booked', 'checked_in')"),
              postgresql_where=text("status IN ('booked', 'checked_in')")),
    )


class DutyLogEntry(Base):
    """值班记录: what happened at the guide desk that day (notable events, emergencies), with time and author."""

    __tablename__ = "duty_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    business_date: Mapped[date] = mapped_column(Date)
    #: when it happened (the author may log it a little later)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: general, emergency (突发事件), major (重大事件)
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(String(1000))
    author: Mapped[str] = mapped_column(String(64))
    logged_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_duty_log_day", "business_date", "at"),)


class Enquiry(Base):
    """来电来访登记: one phone call, letter or walk-in question, what was answered and where it was referred."""

    __tablename__ = "enquiries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    business_date: Mapped[date] = mapped_column(Date)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: phone, visit, letter
    channel: Mapped[str] = mapped_column(String(16))
    #: who asked and how to reach them: optional, personal
    who: Mapped[str] = mapped_column(String(32), default="")
    contact: Mapped[str] = mapped_column(String(32), default="")
    subject: Mapped[str] = mapped_column(String(500))
    answer: Mapped[str] = mapped_column(String(1000), default="")
    #: 转办: the window or department it was handed on to
    referred_to: Mapped[str] = mapped_column(String(100), default="")
    author: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_enquiries_day", "business_date", "at"),)
