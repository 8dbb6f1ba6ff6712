"""The queue engine: issuing numbers and everything a window does with them.

Plain Python over a Storage and a Clock, no Flask. Every method runs in one transaction, writes an
event row for each state change, commits, and only then publishes domain events, so nothing slow
(sockets, printers, voice) ever runs inside a transaction.

Two guarantees hold on SQLite and PostgreSQL alike: numbers come from an atomic upsert of a
per-(service, date) counter, so no two residents get the same number; a ticket moves from waiting to
called only through a conditional UPDATE, so no ticket is called at two windows.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, Row, func, select
from sqlalchemy.orm import Session

from server import extended, line
from server import queue_sql as sql
from server.calendar import HallCalendar
from server.clock import Clock, business_date
from server.config import HallConfig, Service, Window
from server.db import Storage
from server.events import EventBus, HallEvent, TicketView
from server.hours import Hours
from server.models import Staff, Ticket, TicketEvent, TicketStatus, WindowState
from server.policy import Candidate, Rule, choose_next, passed_by
from server.vocabulary import PRIORITIES, TICKET_STATUS
from server.wayfinding import CAME_FROM, STAFFED, Wayfinding

S = TicketStatus
_MAX_NUMBER = 999
_CALL_ATTEMPTS = 8


class DomainError(Exception):
    """A request the hall's rules refuse. ``kind`` is invalid, not_found, conflict or forbidden."""

    def __init__(self, kind: str, code: str, message: str, detail: dict[str, Any] | None = None):
        super().__init__(message)
        self.kind = kind
        self.code = code
        self.message = message
        #: facts a screen needs to offer the next step (e.g. the item of a forfeited appointment); never personal
        self.detail = detail


@dataclass(frozen=True)
class AppointmentClaim:
    """An appointment checking in: its ticket is issued and ``settle(session, ticket, now)`` marks the appointment
    checked in, in one transaction, so a code can never give two tickets."""

    appointment_id: int
    settle: Callable[[Session, Ticket, datetime], None]


#: Called inside the transaction of every 办结 (finish, and call-next's automatic one) with its connection, the
#: ticket's id, the window, the staff member, the instant and what the clerk said about the case (None: nothing).
#: Hooks write with Core statements on that connection (call-next runs no ORM flush) and return the event rows
#: they want recorded (``record_row``): the engine writes them with its own, a call's in one statement.
FinishHook = Callable[[Connection, int, int, str, datetime, Any], list[dict[str, Any]]]


class QueueEngine:
    def __init__(self, storage: Storage, config: HallConfig, clock: Clock, bus: EventBus):
        self.storage = storage
        self.config = config
        self.clock = clock
        self.bus = bus
        self.finish_hooks: list[FinishHook] = []  # the case record (五件制) and the rating prompt (一事一评)
        self.hours = Hours(HallCalendar(config.calendar, config.timezone))
        self.wayfinding = Wayfinding(config)
        self._lines = {window.id: sql.CallingLine.of(window) for window in config.windows}
        self._rules = {window.id: _rule(config, window) for window in config.windows}
        self._next_number_sql = sql.next_number(storage.dialect)
        self._count_served = sql.count_served(storage.dialect)
        self._recent_calls_sql = sql.recent_calls(RECENT_CALLS)
        self._calling_turn = sql.CALLING_TURN if storage.dialect == "postgresql" else None

    # ------------------------------------------------------------------ set-up

    def ensure_windows(self) -> None:
        """One state row per configured window, so every window action can lock an existing row."""
        with self.storage.write() as session:
            known = set(session.scalars(select(WindowState.window_id)))
            for window in self.config.windows:
                if window.id not in known:
                    session.add(WindowState(window_id=window.id, status="closed"))

    # ------------------------------------------------------------------ reading

    def today(self) -> date:
        return business_date(self.clock.now(), self.config.timezone)

    def ticket(self, ticket_id: int) -> TicketView:
        with self.storage.read() as session:
            ticket = session.get(Ticket, ticket_id)
            if ticket is None:
                raise DomainError("not_found", "ticket_not_found", f"没有编号为 {ticket_id} 的票")
            return self._view(session, ticket)

    def by_number(self, number: str) -> TicketView:
        """Today's ticket of a paper number (its latest row: a transfer continues it), for the guide desk."""
        number = number.strip().upper()
        with self.storage.read() as session:
            connection = session.connection()
            ticket = connection.execute(sql.BY_NUMBER, {"day": self.today(), "number": number}).first()
            if ticket is None:
                raise DomainError("not_found", "number_not_found", f"今天没有 {number} 号")
            return self._view_of(connection, ticket, self._place(connection, ticket))

    def tracked(self, token: str) -> TicketView | None:
        """The ticket behind a phone tracking page: its latest row (a transfer continues it on a new one)."""
        with self.storage.read() as session:
            ticket = session.scalars(select(Ticket).where(Ticket.track_token == token)
                                     .order_by(Ticket.id.desc()).limit(1)).first()
            return self._view(session, ticket) if ticket is not None else None

    def record_print(self, ticket_id: int, number: str, for_actor: str, printer: str,
                     error: dict[str, str] | None) -> None:
        """The outcome of a print job; ``for_actor`` asked for the paper. A failure goes into the ticket's
        history (staff may be asked why there was no paper); a success is only announced: it happens for every
        ticket, and a transaction each would double the cost of issuing one."""
        now = self.clock.now()
        detail: dict[str, Any] = {"printer": printer, "for": for_actor}
        if error is not None:
            detail["error"] = error
            with self.storage.write() as session:
                session.add(TicketEvent(ticket_id=ticket_id, action="print_failed", window_id=None,
                                        actor=f"printer:{printer}", at=now, detail=detail))
        self.bus.publish([HallEvent("print_failed" if error else "printed", now, actor=f"printer:{printer}",
                                    detail={**detail, "ticket": ticket_id, "number": number})])

    def request_reprint(self, ticket_id: int, actor: str, printer: str) -> TicketView:
        """补打 at the desk: recorded here, printed by the printing adapter that hears the event."""
        now = self.clock.now()
        detail = {"printer": printer}
        with self.storage.write() as session:
            ticket = session.get(Ticket, ticket_id)
            if ticket is None:
                raise DomainError("not_found", "ticket_not_found", f"没有编号为 {ticket_id} 的票")
            self._record(session, ticket, "reprint_requested", None, actor, now, detail)
            view = self._view(session, ticket)
        self.bus.publish([HallEvent("reprint_requested", now, view, actor=actor, detail=detail)])
        return view

    def _waiting_by_service(self, session: Session, day: date) -> dict[str, int]:
        rows = session.execute(
            select(Ticket.service, func.count()).where(Ticket.business_date == day, Ticket.status == S.WAITING)
            .group_by(Ticket.service))
        return {service: count for service, count in rows}

    def services(self) -> list[dict[str, Any]]:
        with self.storage.read() as session:
            waiting = self._waiting_by_service(session, self.today())
            staffed = self._staffed(session.connection())
        return [self._service_json(service, waiting, staffed) for service in self.config.services]

    def windows(self) -> list[dict[str, Any]]:
        with self.storage.read() as session:
            return self._windows_json(session, self.today())

    def snapshot(self) -> dict[str, Any]:
        """Everything a screen shows, as of now: sent on connect, reconnect and after changes."""
        now = self.clock.now()
        day = business_date(now, self.config.timezone)
        with self.storage.read() as session:
            waiting = self._waiting_by_service(session, day)
            windows = self._windows_json(session, day)
            recent = self._recent_calls(session.connection(), day)
            status = self._status(session, now, day, sum(waiting.values()))
        staffed = {window["id"]: window["status"] for window in windows if window["status"] != "closed"}
        return {
            "hall": {"name": self.config.name, "notice": self.config.notice, "business_date": day.isoformat(),
                     "timezone": self.config.timezone.key, "zoned": self.wayfinding.zoned},
            "services": [self._service_json(service, waiting, staffed) for service in self.config.services],
            "windows": windows,
            "recent_calls": recent,
            "status": status,
            "server_time": now.isoformat(),
        }

    # ------------------------------------------------------------------ issuing

    def issue(self, service_code: str, priority: str | None, actor: str, channel: str = "kiosk",
              appointment: AppointmentClaim | None = None) -> TicketView:
        """A number for a resident. Outside hours or over a cap the kiosk is refused with what to do instead;
        staff at the desk may still issue, and the ticket records which rule they overrode. A checked-in
        ``appointment`` already has its place: its own check-in window decides, not the hours or caps."""
        service = self._service(service_code)
        if priority is not None and priority not in PRIORITIES:
            raise DomainError("invalid", "bad_priority",
                              f"priority 只能是 {', '.join(PRIORITIES)} 之一或 null")
        now = self.clock.now()
        day = business_date(now, self.config.timezone)
        overrides: list[str] = []
        refused_as = channel if appointment is None else "appointment"  # only a kiosk walk-in is refused
        if (closed := self.hours.refusal(now)) is not None:
            if refused_as == "kiosk":
                raise DomainError("conflict", closed.code, closed.message)
            overrides.append(closed.code)
        with self.storage.write() as session:
            connection = session.connection()
            seq = self._next_number(connection, service, day, refused_as)
            if service.daily_cap is not None and seq > service.daily_cap:
                overrides.append("cap_reached")  # only staff get here: the kiosk was refused in _next_number
            if self._session_full(connection, service, day, now):
                if refused_as == "kiosk":
                    refusal = self.hours.session_cap(service.name, now)
                    raise DomainError("conflict", refusal.code, refusal.message)
                overrides.append("session_cap_reached")
            ticket = connection.execute(sql.NEW_TICKET, {
                "number": f"{service.prefix}{seq:03d}", "service": service.code, "business_date": day,
                "status": S.WAITING, "priority": priority, "queue_at": now, "issued_at": now, "recalls": 0,
                "channel": channel, "track_token": secrets.token_urlsafe(12),
                "appointment_id": appointment.appointment_id if appointment else None}).one()
            detail: dict[str, Any] = {"priority": priority, "channel": channel}
            if overrides:
                detail["override"] = overrides
            if appointment is not None:
                detail["appointment"] = appointment.appointment_id
            self._record(connection, ticket, "issued", None, actor, now, detail)
            if appointment is not None:
                appointment.settle(session, ticket, now)
            view = self._view_of(connection, ticket, self._place(connection, ticket))
        self.bus.publish([HallEvent("issued", now, view, actor=actor, detail=detail)])
        return view

    def _session_full(self, connection: Connection, service: Service, day: date, now: datetime) -> bool:
        """Has this session already issued its cap of this service (transfers do not count twice)?"""
        start = self.hours.session_start(now)
        if service.session_cap is None or start is None:
            return False
        issued = connection.execute(sql.SESSION_ISSUED, {"service": service.code, "day": day, "start": start,
                                                         "now": now})
        return issued.scalar_one() >= service.session_cap

    def status(self) -> dict[str, Any]:
        """The hall's state for every screen: open, closed or extended (延时服务), the session, when it opens next."""
        now = self.clock.now()
        day = business_date(now, self.config.timezone)
        with self.storage.read() as session:
            return self._status(session, now, day, None)

    def _status(self, session: Session, now: datetime, day: date, waiting: int | None) -> dict[str, Any]:
        """``waiting``: today's waiting residents when the caller has counted them already."""
        status = {**self.hours.status(now), "business_date": day.isoformat(), "extended": None}
        record = extended.active(session, day)
        if record is not None:
            if waiting is None:
                waiting = sum(self._waiting_by_service(session, day).values())
            status["state"] = "extended"
            status["extended"] = {**extended.summary(record, self.config.timezone), "waiting": waiting,
                                  "windows": extended.waiting_by_window(session, self.config, day)}
        return status

    # ------------------------------------------------------------------ 延时服务 and the day's end

    def tick(self) -> None:
        """What the time calls for: 延时服务 starts at a session's end (midday or evening) while residents wait,
        ends when the last is served; tickets left open from an earlier day are flagged. Run every few seconds by
        the server."""
        now = self.clock.now()
        with self.storage.write() as session:
            happened = extended.advance(session, self.hours.calendar, now, business_date(now, self.config.timezone))
        self.bus.publish([HallEvent(kind, now) for kind in happened])

    def extended_records(self, first: date, last: date) -> dict[str, Any]:
        """延时服务 of the days from ``first`` to ``last`` (server/extended.py ``between``)."""
        return extended.between(self.storage, self.config.timezone, first, last)

    def move(self, ticket_id: int, window_id: int, actor: str) -> TicketView:
        """The admin (首席代表/中心负责人) sends a waiting resident to another window."""
        window = self._window(window_id)
        now = self.clock.now()
        with self.storage.write() as session:
            ticket = session.get(Ticket, ticket_id)
            if ticket is None:
                raise DomainError("not_found", "ticket_not_found", f"没有编号为 {ticket_id} 的票")
            if ticket.status != S.WAITING:
                raise DomainError("conflict", "not_waiting", f"{ticket.number} 号不在等候中，不能调整窗口")
            ticket.target_window = window.id
            self._record(session, ticket, "moved", window.id, actor, now, {"window": window.id})
            view = self._view(session, ticket)
        self.bus.publish([HallEvent("moved", now, view, window_id=window.id, actor=actor)])
        return view

    def _keep_extended_covered(self, session: Session, window: Window, now: datetime, leaving: str) -> None:
        """During 延时服务 a clerk stays while residents of their items wait, unless another window takes them."""
        day = business_date(now, self.config.timezone)
        if extended.active(session, day) is None:
            return
        if (left := extended.uncovered(session, self.config, window, day)):
            raise DomainError("conflict", "extended_service", f"延时服务：还有 {left} 人等候本窗口的事项，"
                              f"请办完或请其他窗口接办（转移）后再{leaving}")

    def _next_number(self, connection: Connection, service: Service, day: date, channel: str) -> int:
        seq: int = connection.execute(self._next_number_sql, {"service": service.code, "day": day}).scalar_one()
        if service.daily_cap is not None and seq > service.daily_cap and channel == "kiosk":
            raise DomainError("conflict", "cap_reached", f"今日「{service.name}」号已取完，请到导询台咨询")
        if seq > _MAX_NUMBER:
            raise DomainError("conflict", "numbers_exhausted", f"今日「{service.name}」号码已用完")
        return seq

    # ------------------------------------------------------------------ windows: who is there

    def sign_in(self, window_id: int, staff: str) -> dict[str, Any]:
        now = self.clock.now()
        window = self._window(window_id)
        with self.storage.write() as session:
            state = self._lock_window(session, window.id)
            if state.clerk and state.clerk != staff:
                raise DomainError("conflict", "window_taken", f"{window.name}已由其他工作人员签到")
            for other in session.scalars(select(WindowState).where(WindowState.clerk == staff,
                                                                    WindowState.window_id != window.id)):
                self._require_idle(session, other)
                self._close(session, other, staff, now)
            if state.clerk != staff:
                state.clerk, state.status, state.since = staff, "open", now
                self._record(session, None, "signed_in", window.id, staff, now)
        self.bus.publish([HallEvent("signed_in", now, window_id=window.id)])
        return self.window_json(window.id)

    def sign_out(self, window_id: int, staff: str) -> dict[str, Any]:
        now = self.clock.now()
        with self.storage.write() as session:
            window, state = self._operate(session, window_id, staff)
            self._require_idle(session, state)
            self._keep_extended_covered(session, window, now, "签退")
            self._close(session, state, staff, now)
        self.bus.publish([HallEvent("signed_out", now, window_id=window_id)])
        return self.window_json(window_id)

    def pause(self, window_id: int, staff: str) -> dict[str, Any]:
        return self._set_window_status(window_id, staff, "open", "paused", "window_not_open", "当前窗口未在服务中")

    def resume(self, window_id: int, staff: str) -> dict[str, Any]:
        return self._set_window_status(window_id, staff, "paused", "open", "window_not_paused", "当前窗口未暂停")

    def window_of(self, staff: str) -> int | None:
        """The window this staff member is signed in to, if any."""
        with self.storage.read() as session:
            return session.scalar(select(WindowState.window_id).where(WindowState.clerk == staff))

    def window_json(self, window_id: int) -> dict[str, Any]:
        return next(w for w in self.windows() if w["id"] == window_id)

    # ------------------------------------------------------------------ windows: calling

    def call_next(self, window_id: int, staff: str) -> TicketView | None:
        """Finish the resident at the window (办结) and call whoever the rules say is next."""
        window = self._window(window_id)
        now = self.clock.now()
        events: list[HallEvent] = []
        records: list[dict[str, Any]] = []
        with self.storage.write_then(lambda: self.bus.publish(events)) as session:
            connection = session.connection()
            self._make_room_for_call(connection, window, staff, now, events, records)
            ticket = self._take_next(connection, window, business_date(now, self.config.timezone), now)
            view = self._start_call(connection, window, ticket, staff, now, events, records, special=False)
            write_records(connection, records)
        return view

    def call_number(self, window_id: int, staff: str, number: str) -> TicketView:
        """特呼: call one number out of turn, typically a same-day no-show who has come back."""
        window = self._window(window_id)
        now = self.clock.now()
        number = number.strip().upper()
        events: list[HallEvent] = []
        records: list[dict[str, Any]] = []
        with self.storage.write_then(lambda: self.bus.publish(events)) as session:
            connection = session.connection()
            self._make_room_for_call(connection, window, staff, now, events, records)
            ticket = connection.execute(sql.BY_NUMBER, {
                "day": business_date(now, self.config.timezone), "number": number}).first()
            if ticket is None:
                raise DomainError("not_found", "number_not_found", f"今天没有 {number} 号")
            if ticket.status not in (S.WAITING, S.NO_SHOW):
                raise DomainError("conflict", "not_callable",
                                  f"{number} 号当前状态为「{TICKET_STATUS[ticket.status]}」，不能特呼")
            if not self._serves(window, ticket):
                raise DomainError("conflict", "not_served_here", f"{window.name}不办理 {number} 号的事项")
            taken = connection.execute(sql.TAKE_OUT_OF_TURN, {"ticket": ticket.id, "now": now, "window": window.id})
            if (ticket := taken.first()) is None:
                raise DomainError("conflict", "not_callable", f"{number} 号刚被其他窗口呼叫")
            view = self._start_call(connection, window, ticket, staff, now, events, records, special=True)
            write_records(connection, records)
        assert view is not None
        return view

    def recall(self, window_id: int, staff: str) -> TicketView:
        now = self.clock.now()
        events: list[HallEvent] = []
        with self.storage.write_then(lambda: self.bus.publish(events)) as session:
            window, state = self._operate(session, window_id, staff)
            ticket = self._current(session, state, (S.CALLED,), "重呼")
            if ticket.recalls >= self.config.rules.recall_limit:
                raise DomainError("conflict", "recall_limit",
                                  f"{ticket.number} 号已重呼 {ticket.recalls} 次，请办理过号")
            ticket.recalls += 1
            self._record(session, ticket, "recalled", window.id, staff, now, {"recall": ticket.recalls})
            view = self._view(session, ticket)
            events.append(HallEvent("recalled", now, view, window.id, self.announcement(view.number, window)))
        return view

    def no_show(self, window_id: int, staff: str) -> TicketView:
        return self._close_current(window_id, staff, (S.CALLED,), S.NO_SHOW, "no_show", "过号")

    def start(self, window_id: int, staff: str) -> TicketView:
        now = self.clock.now()
        with self.storage.write() as session:
            window, state = self._operate(session, window_id, staff)
            ticket = self._current(session, state, (S.CALLED,), "开始办理")
            ticket.status, ticket.started_at = S.SERVING, now
            self._record(session, ticket, "started", window.id, staff, now)
            view = self._view(session, ticket)
        self.bus.publish([HallEvent("started", now, view, window.id)])
        return view

    def finish(self, window_id: int, staff: str, case: Any = None) -> TicketView:
        """办结; ``case`` is handed to the finish hooks (the case type the clerk chose)."""
        return self._close_current(window_id, staff, (S.CALLED, S.SERVING), S.DONE, "finished", "办结", case)

    def transfer(self, window_id: int, staff: str, service_code: str | None = None,
                 target_window: int | None = None) -> TicketView:
        """The resident moves on with the same number and keeps their place in line there."""
        if service_code is None and target_window is None:
            raise DomainError("invalid", "transfer_target", "请指定转移到的事项 (service) 或窗口 (window)")
        if target_window == window_id:
            raise DomainError("invalid", "transfer_target", "不能转移到本窗口")
        now = self.clock.now()
        with self.storage.write() as session:
            window, state = self._operate(session, window_id, staff)
            ticket = self._current(session, state, (S.CALLED, S.SERVING), "转移")
            service = self._service(service_code or ticket.service)
            target = self._window(target_window) if target_window is not None else None
            if target is not None and target.id not in self._staffed(session.connection()):
                raise DomainError("conflict", "window_closed", f"{target.name}未开放（无人签到），不能转入")
            if target is None and not self.config.windows_serving(service.code):
                raise DomainError("invalid", "transfer_target", f"没有窗口办理「{service.name}」")
            moved = Ticket(number=ticket.number, service=service.code, business_date=ticket.business_date,
                           status=S.WAITING, priority=ticket.priority, queue_at=ticket.queue_at, issued_at=now,
                           recalls=0, channel=ticket.channel, transferred_from=ticket.id,
                           target_window=target.id if target else None, track_token=ticket.track_token)
            ticket.status, ticket.finished_at = S.TRANSFERRED, now
            state.current_ticket_id = None
            session.add(moved)
            session.flush()
            self._record(session, ticket, "transferred", window.id, staff, now,
                         {"to_ticket": moved.id, "service": service.code, "window": moved.target_window})
            self._record(session, moved, "transferred_in", moved.target_window, staff, now,
                         {"from_ticket": ticket.id, "from_window": window.id})
            view = self._view(session, moved)
        self.bus.publish([HallEvent("transferred", now, view, window.id)])
        return view

    def announcement(self, number: str, window: Window) -> str:
        return self.config.announcement.format(number=number, window=window.name)

    # ------------------------------------------------------------------ internals: windows

    def _window(self, window_id: int) -> Window:
        window = self.config.window(window_id)
        if window is None:
            raise DomainError("not_found", "window_not_found", f"没有 id 为 {window_id} 的窗口")
        return window

    def _service(self, code: str) -> Service:
        service = self.config.service(code)
        if service is None:
            raise DomainError("not_found", "service_not_found", f"没有代码为 {code!r} 的事项")
        return service

    def _lock_window(self, session: Session, window_id: int) -> WindowState:
        state = session.scalars(select(WindowState).where(WindowState.window_id == window_id)
                                .with_for_update()).one_or_none()
        if state is None:
            state = WindowState(window_id=window_id, status="closed")
            session.add(state)
            session.flush()
        return state

    def _operate(self, session: Session, window_id: int, staff: str) -> tuple[Window, WindowState]:
        window = self._window(window_id)
        state = self._lock_window(session, window.id)
        if state.clerk != staff:
            raise DomainError("forbidden", "not_signed_in", f"您未在{window.name}签到，不能操作该窗口")
        return window, state

    def _require_idle(self, session: Session, state: WindowState) -> None:
        if state.current_ticket_id is None:
            return
        ticket = session.get(Ticket, state.current_ticket_id)
        if ticket is not None and ticket.status in (S.CALLED, S.SERVING):
            raise DomainError("conflict", "window_busy", f"{ticket.number} 号尚未办结，请先办结、过号或转移")

    def _close(self, session: Session, state: WindowState, staff: str, now: datetime) -> None:
        state.clerk, state.status, state.current_ticket_id, state.since = None, "closed", None, now
        self._record(session, None, "signed_out", state.window_id, staff, now)

    def _set_window_status(self, window_id: int, staff: str, before: str, after: str, code: str,
                           message: str) -> dict[str, Any]:
        now = self.clock.now()
        with self.storage.write() as session:
            window, state = self._operate(session, window_id, staff)
            if state.status != before:
                raise DomainError("conflict", code, message)
            if after == "paused":
                self._keep_extended_covered(session, window, now, "暂停")
            state.status = after
            self._record(session, None, "paused" if after == "paused" else "resumed", window.id, staff, now)
        self.bus.publish([HallEvent("paused" if after == "paused" else "resumed", now, window_id=window.id)])
        return self.window_json(window.id)

    def _current(self, session: Session, state: WindowState, allowed: tuple[str, ...], action: str) -> Ticket:
        ticket = session.get(Ticket, state.current_ticket_id) if state.current_ticket_id else None
        if ticket is None:
            raise DomainError("conflict", "no_current_ticket", f"当前没有正在呼叫的号码，无法{action}")
        if ticket.status not in allowed:
            raise DomainError("conflict", "wrong_status",
                              f"{ticket.number} 号当前状态为「{TICKET_STATUS[ticket.status]}」，无法{action}")
        return ticket

    def _close_current(self, window_id: int, staff: str, allowed: tuple[str, ...], status: str, action: str,
                       label: str, case: Any = None) -> TicketView:
        now = self.clock.now()
        with self.storage.write() as session:
            window, state = self._operate(session, window_id, staff)
            ticket = self._current(session, state, allowed, label)
            self._end(session, ticket, state, status, action, staff, now, case=case)
            view = self._view(session, ticket)
        self.bus.publish([HallEvent(action, now, view, window.id)])
        return view

    def _end(self, session: Session, ticket: Ticket, state: WindowState, status: str, action: str, staff: str,
             now: datetime, detail: dict[str, Any] | None = None, case: Any = None) -> None:
        if status == S.DONE and ticket.started_at is None:
            ticket.started_at = ticket.called_at
        ticket.status, ticket.finished_at = status, now
        state.current_ticket_id = None
        self._record(session, ticket, action, state.window_id, staff, now, detail)
        if status == S.DONE:
            connection = session.connection()
            write_records(connection, self._finished(connection, ticket, state.window_id, staff, now, case))

    def _finished(self, connection: Connection, ticket: Ticket | Row[Any], window_id: int, staff: str, now: datetime,
                  case: Any) -> list[dict[str, Any]]:
        """Every 办结, in its transaction: the window's 已办 of the ticket's day (a ticket of yesterday finished after
        midnight is yesterday's, as it always was), then the hooks; the event rows they ask for."""
        connection.execute(self._count_served, {"window": window_id, "day": ticket.business_date})
        return [row for hook in self.finish_hooks for row in hook(connection, ticket.id, window_id, staff, now, case)]

    def _make_room_for_call(self, connection: Connection, window: Window, staff: str, now: datetime,
                            events: list[HallEvent], records: list[dict[str, Any]]) -> None:
        """Only the clerk signed in may call, not while paused; calling the next resident finishes the current one
        (办结): a no-show must be marked as such."""
        if self._calling_turn is not None:
            connection.execute(self._calling_turn)
        state = connection.execute(sql.WINDOW, {"window": window.id}).first()
        if state is None or state.clerk != staff:
            raise DomainError("forbidden", "not_signed_in", f"您未在{window.name}签到，不能操作该窗口")
        if state.status == "paused":
            raise DomainError("conflict", "window_paused", f"{window.name}已暂停服务，请先恢复")
        if state.current_ticket_id is None:
            return
        finished = connection.execute(sql.FINISH_CURRENT, {"ticket": state.current_ticket_id, "now": now}).first()
        if finished is not None:
            records.append(record_row(finished.id, "finished", window.id, staff, now, {"auto": True}))
            records += self._finished(connection, finished, window.id, staff, now, None)
            events.append(HallEvent("finished", now, self._view_of(connection, finished), window.id))

    def _start_call(self, connection: Connection, window: Window, ticket: Row[Any] | None, staff: str,
                    now: datetime, events: list[HallEvent], records: list[dict[str, Any]], special: bool
                    ) -> TicketView | None:
        connection.execute(sql.SET_CURRENT, {"window": window.id, "ticket": ticket.id if ticket else None})
        if ticket is None:
            return None
        records.append(record_row(ticket.id, "called", window.id, staff, now, {"special": True} if special else None))
        view = self._view_of(connection, ticket)
        events.append(HallEvent("called", now, view, window.id, self.announcement(view.number, window)))
        return view

    # ------------------------------------------------------------------ internals: choosing

    @staticmethod
    def _serves(window: Window, ticket: Ticket) -> bool:
        if ticket.target_window is not None:
            return ticket.target_window == window.id
        return ticket.service in window.services

    def _take_next(self, connection: Connection, window: Window, day: date, now: datetime) -> Row[Any] | None:
        # 延时服务: strictly first come, first served
        rule = self._rule_now(connection, window.id, day)
        for _ in range(_CALL_ATTEMPTS):
            waiting = self._line_to_choose_from(connection, window.id, day, rule)
            choice = choose_next(waiting, self._passes(connection, day, waiting), rule)
            if choice is None:
                return None
            taken = connection.execute(sql.TAKE, {"ticket": choice.ticket_id, "now": now, "window": window.id})
            if (ticket := taken.first()) is not None:
                return ticket
        raise DomainError("conflict", "busy", "叫号繁忙，请重试")

    def _line_to_choose_from(self, connection: Connection, window_id: int, day: date, rule: Rule) -> list[Candidate]:
        """The front of the window's line that decides its call (``sql.CallingLine``); under 延时服务 (strict
        arrival order) its first resident alone."""
        line = self._lines[window_id]
        heads = [] if rule.strict else connection.execute(line.heads, {"day": day}).all()
        if not heads:
            return _candidates(connection.execute(line.first, {"day": day}))
        last = max(heads, key=lambda row: (row.queue_at, row.id))
        return _candidates(connection.execute(line.until, {"day": day, "until_at": last.queue_at,
                                                           "until_id": last.id}))

    def _rule_now(self, connection: Connection, window_id: int, day: date) -> Rule:
        """The window's rule, or strict arrival order while 延时服务 runs."""
        if connection.execute(sql.EXTENDED_ACTIVE, {"day": day}).first() is not None:
            return replace(self._rules[window_id], strict=True)
        return self._rules[window_id]

    def _passes(self, connection: Connection, day: date, waiting: list[Candidate]) -> Callable[[Candidate], int]:
        """How often each waiting ticket has been passed, read from the day's calls only if the rule asks."""
        counter: Callable[[Candidate], int] | None = None

        def passes(ticket: Candidate) -> int:
            nonlocal counter
            if counter is None:
                calls = connection.execute(sql.CALLS_SINCE, {"day": day, "since": waiting[0].queue_at}).all()
                counter = passed_by([tuple(call) for call in calls], self._windows_for)
            return counter(ticket)

        return passes

    def _windows_for(self, ticket: Candidate) -> frozenset[int]:
        return frozenset(window.id for window in self.wayfinding.windows_for(ticket.service, ticket.target_window))

    # ------------------------------------------------------------------ internals: records and views

    @staticmethod
    def _record(connection: Connection | Session, ticket: Ticket | Row[Any] | None, action: str,
                window_id: int | None, actor: str, at: datetime, detail: dict[str, Any] | None = None) -> None:
        """The event row of a state change. With the ORM, the ticket's own changes must be flushed first."""
        executor = connection.connection() if isinstance(connection, Session) else connection
        executor.execute(sql.RECORD, record_row(ticket.id if ticket is not None else None, action, window_id, actor, at,
                                                detail))

    def _place(self, connection: Connection, ticket: Ticket | Row[Any]) -> line.Place:
        """The ticket's true place in line and its estimated wait, by playing the calling rule forward over the
        windows at work now (all the windows serving it, as if staffed, when none of them is: wait unknown)."""
        if ticket.status != S.WAITING:
            return _NOT_WAITING
        day, now = ticket.business_date, self.clock.now()
        waiting = _candidates(connection.execute(sql.WAITING, {"day": day}))
        target = next((c for c in waiting if c.ticket_id == ticket.id), None)
        if target is None:
            return _NOT_WAITING
        paces = _paces(connection.execute(sql.RECENT_SERVICE, {"day": day}).all())
        at_work = {row.window_id: row for row in connection.execute(sql.DESKS)
                   if row.clerk is not None and row.status == "open"}
        strict = connection.execute(sql.EXTENDED_ACTIVE, {"day": day}).first() is not None
        serving = self._windows_for(target)
        staffed = bool(serving & at_work.keys())
        desks = []
        for window in self.config.windows:
            if staffed and window.id not in at_work:
                continue
            pace = paces.get(window.id, paces.get(None)) if staffed else None
            current = at_work[window.id].called_at if staffed else None
            free_at = max(now, current + (pace or line.DEFAULT_PACE)) if current is not None else now
            rule = replace(self._rules[window.id], strict=strict)
            desks.append(line.Desk(window.id, frozenset(window.services), rule, free_at, pace))
        return line.place_in_line(target, waiting, self._passes(connection, day, waiting), desks, now)

    def _view(self, session: Session, ticket: Ticket) -> TicketView:
        """The view of an ORM ticket, its pending changes flushed so the count of who is ahead sees them."""
        session.flush()
        return self._view_of(session.connection(), ticket, self._place(session.connection(), ticket))

    @staticmethod
    def _staffed(connection: Connection) -> dict[int, str]:
        """The windows a clerk is signed in to, each open or paused."""
        return {window_id: status for window_id, status in connection.execute(STAFFED)}

    def _view_of(self, connection: Connection, ticket: Ticket | Row[Any], place: line.Place | None = None
                 ) -> TicketView:
        """The ticket as screens show it: its place in line, where to go, whether anyone is there now (only asked
        while it waits), and the window it was transferred from (only looked up for a transferred one)."""
        place = place or _NOT_WAITING
        service = self.config.service(ticket.service)
        windows = self.wayfinding.windows_for(ticket.service, ticket.target_window)
        no_open_window, notice = (
            self.wayfinding.notice(windows, self._staffed(connection), self.hours, self.clock.now())
            if ticket.status == S.WAITING else (False, None))
        came_from = (connection.execute(CAME_FROM, {"ticket": ticket.transferred_from}).scalar_one_or_none()
                     if ticket.transferred_from is not None else None)
        return TicketView(id=ticket.id, number=ticket.number, service=ticket.service,
                          service_name=service.name if service else ticket.service, status=ticket.status,
                          priority=ticket.priority, waiting_ahead=place.ahead,
                          estimated_wait_minutes=place.wait_minutes, issued_at=ticket.issued_at,
                          called_at=ticket.called_at, window=ticket.window_id, recalls=ticket.recalls,
                          channel=ticket.channel, track_token=ticket.track_token,
                          appointment=ticket.appointment_id is not None,
                          windows_text=self.wayfinding.places(windows), no_open_window=no_open_window,
                          window_notice=notice, transferred_from_window=came_from)

    def _service_json(self, service: Service, waiting: dict[str, int], staffed: dict[int, str]) -> dict[str, Any]:
        """``open_windows``: the windows serving it with a clerk signed in (paused ones too), for 暂无窗口办理."""
        return {"code": service.code, "name": service.name, "category": service.category,
                "prefix": service.prefix, "waiting": waiting.get(service.code, 0),
                "open_windows": self.wayfinding.open_windows(self.wayfinding.windows_for(service.code, None), staffed)}

    def _windows_json(self, session: Session, day: date) -> list[dict[str, Any]]:
        states = {s.window_id: s for s in session.scalars(select(WindowState))}
        served = dict(session.execute(sql.SERVED_TODAY, {"day": day}).all())  # 今日已办: shown above each window
        current_ids = [s.current_ticket_id for s in states.values() if s.current_ticket_id]
        current = {t.id: t for t in session.scalars(select(Ticket).where(Ticket.id.in_(current_ids)))}
        sources = [t.transferred_from for t in current.values() if t.transferred_from]
        came_from = dict(session.execute(  # 转入: the window each current ticket was transferred from
            select(Ticket.id, Ticket.window_id).where(Ticket.id.in_(sources))).all()) if sources else {}
        clerks = {s.username: s for s in session.scalars(
            select(Staff).where(Staff.username.in_([s.clerk for s in states.values() if s.clerk])))}
        result = []
        for window in self.config.windows:
            state = states.get(window.id)
            ticket = current.get(state.current_ticket_id) if state and state.current_ticket_id else None
            clerk = clerks.get(state.clerk) if state and state.clerk else None
            result.append({
                "id": window.id, "name": window.name, "label": window.label, "zone": window.zone,
                "services": list(window.services), "status": state.status if state else "closed",
                "party_post": window.party_post,
                "clerk": {"name": clerk.display_name, "staff_no": clerk.staff_no, "party_member": clerk.party_member}
                if clerk else None,
                "current": {"id": ticket.id, "number": ticket.number, "status": ticket.status,
                            "service": ticket.service, "appointment": ticket.appointment_id is not None,
                            "transferred_from": came_from.get(ticket.transferred_from)}
                if ticket else None,
                "served_today": served.get(window.id, 0),
            })
        return result

    def _recent_calls(self, connection: Connection, day: date) -> list[dict[str, Any]]:
        """The calls made since the day began, latest first: the bound lets the query stop there on a day with few
        calls instead of reading the history's."""
        since = datetime.combine(day, time.min, self.config.timezone)
        calls = []
        for at, window_id, action, number in connection.execute(self._recent_calls_sql, {"since": since}):
            window = self.config.window(window_id)
            calls.append({"number": number, "window": window_id, "window_name": window.name if window else "",
                          "zone": window.zone if window else "",
                          "text": self.announcement(number, window) if window else "",
                          "recall": action == "recalled", "at": at.isoformat()})
        return calls


#: calls in the snapshot, newest first: enough for a display of one zone to fill its list of 8 from them
RECENT_CALLS = 24


_NOT_WAITING = line.Place(0, None)


def record_row(ticket_id: int | None, action: str, window_id: int | None, actor: str, at: datetime,
               detail: dict[str, Any] | None = None) -> dict[str, Any]:
    """``sql.RECORD``'s parameters: one event of a ticket (None: of the window)."""
    return {"ticket_id": ticket_id, "action": action, "window_id": window_id, "actor": actor, "at": at,
            "detail": detail}


def write_records(connection: Connection, records: list[dict[str, Any]]) -> None:
    """Event rows in one statement, in their order (their ids keep it)."""
    if records:
        connection.execute(sql.RECORD, records)


def _rule(config: HallConfig, window: Window) -> Rule:
    rules = config.rules
    return Rule(priority_bound=rules.priority_bound, max_passed=rules.max_passed,
                max_extra_wait=timedelta(minutes=rules.max_extra_wait_minutes), favour=frozenset(window.favour))


def _candidates(rows: Iterable[Row[Any]]) -> list[Candidate]:
    """Waiting tickets (rows of ``sql.WAITING``'s columns) as the calling rule sees them. Unpacked by position: a
    call and an issue read the whole line, and reading each column by name cost ~2 µs a row."""
    return [Candidate(ticket_id, service, queue_at, issued_at, priority, appointment_id is not None, target_window)
            for ticket_id, service, queue_at, issued_at, priority, appointment_id, target_window in rows]


def _paces(rows: list[Row[Any]]) -> dict[int | None, timedelta]:
    """Each window's mean time per resident among the day's latest, and the hall's (key None) for the others."""
    spans: dict[int | None, list[timedelta]] = {}
    for window_id, called_at, finished_at in rows:
        for key in (window_id, None):
            spans.setdefault(key, []).append(finished_at - called_at)
    return {key: max(sum(values, timedelta()) / len(values), line.MIN_PACE) for key, values in spans.items()}
