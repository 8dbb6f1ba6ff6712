"""The statements the queue engine runs for every ticket and every call, built once.

Building a SQLAlchemy statement costs more than running it, and the ORM's unit of work costs more than both: issuing
a number and calling a resident run these prebuilt Core statements on the transaction's connection, each change
returning the row it made (RETURNING), so a call is a handful of round trips and no flush (docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, func, insert, literal, or_, select, union_all, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from server.config import Window
from server.models import DailyCounter, ExtendedService, Ticket, TicketEvent, WindowDay, WindowState
from server.models import TicketStatus as S

TICKETS = Ticket.__table__
EVENTS = TicketEvent.__table__
WINDOW_STATES = WindowState.__table__


def among(column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """``column IN (values)`` for values known when the statement is built, each bound once: a plain list's IN is
    expanded again at every execution (~20 µs of a statement's ~60)."""
    return column.in_([literal(value, column.type) for value in values])


def _insert_for(dialect: str) -> Any:
    return pg_insert if dialect == "postgresql" else sqlite_insert


def next_number(dialect: str) -> Any:
    """Increment the (service, day) counter and return the new value: atomic on both backends."""
    return (_insert_for(dialect)(DailyCounter).values(service=bindparam("service"), business_date=bindparam("day"),
                                                      last=1)
            .on_conflict_do_update(index_elements=["service", "business_date"], set_={"last": DailyCounter.last + 1})
            .returning(DailyCounter.last))


def count_served(dialect: str) -> Any:
    """One more 办结 at the window today (今日已办), in the 办结's transaction."""
    return (_insert_for(dialect)(WindowDay).values(window_id=bindparam("window"), business_date=bindparam("day"),
                                                   served=1)
            .on_conflict_do_update(index_elements=["window_id", "business_date"],
                                   set_={"served": WindowDay.served + 1}))


#: 今日已办 of every window that has finished someone today
SERVED_TODAY = select(WindowDay.window_id, WindowDay.served).where(WindowDay.business_date == bindparam("day"))


NEW_TICKET = insert(TICKETS).returning(*TICKETS.c)
RECORD = insert(EVENTS)

#: issued in the current session of the calendar (上午/下午), for its cap; a transfer is not a new resident. A
#: number's queue_at is its issue time (only a transfer's row keeps an earlier one): with the day and every status
#: spelled out, the count reads ix_tickets_queue's ranges of this item and session, not the day's or the history's
SESSION_ISSUED = select(func.count()).select_from(Ticket).where(
    Ticket.business_date == bindparam("day"), among(Ticket.status, S.ALL), Ticket.service == bindparam("service"),
    Ticket.queue_at >= bindparam("start"), Ticket.queue_at <= bindparam("now"), Ticket.transferred_from.is_(None))

#: the window's row, locked for the rest of the transaction (PostgreSQL; SQLite holds the write lock already)
WINDOW = (select(WindowState.status, WindowState.clerk, WindowState.current_ticket_id)
          .where(WindowState.window_id == bindparam("window")).with_for_update())
SET_CURRENT = (update(WINDOW_STATES).where(WINDOW_STATES.c.window_id == bindparam("window"))
               .values(current_ticket_id=bindparam("ticket")))

#: calling the next resident finishes (办结) the one still at the window
FINISH_CURRENT = (update(TICKETS).where(TICKETS.c.id == bindparam("ticket"),
                                        among(TICKETS.c.status, (S.CALLED, S.SERVING)))
                  .values(status=S.DONE, finished_at=bindparam("now"),
                          started_at=func.coalesce(TICKETS.c.started_at, TICKETS.c.called_at))
                  .returning(*TICKETS.c))

#: waiting -> called only if still waiting: two windows can never both take one ticket
TAKE = (update(TICKETS).where(TICKETS.c.id == bindparam("ticket"), TICKETS.c.status == S.WAITING)
        .values(status=S.CALLED, called_at=bindparam("now"), window_id=bindparam("window"))
        .returning(*TICKETS.c))
#: 特呼: a waiting ticket, or a same-day no-show who came back; the recall count starts again
TAKE_OUT_OF_TURN = (update(TICKETS).where(TICKETS.c.id == bindparam("ticket"),
                                          among(TICKETS.c.status, (S.WAITING, S.NO_SHOW)))
                    .values(status=S.CALLED, called_at=bindparam("now"), window_id=bindparam("window"), recalls=0)
                    .returning(*TICKETS.c))
#: a paper number today: its latest row (a transfer continues the number on a new one)
BY_NUMBER = (select(*TICKETS.c).where(TICKETS.c.business_date == bindparam("day"),
                                      TICKETS.c.number == bindparam("number"))
             .order_by(TICKETS.c.id.desc()).limit(1))

#: PostgreSQL: calls take turns, as they do on SQLite (whose BEGIN IMMEDIATE holds the one write lock): each clerk
#: then chooses from the queue as the previous call left it, and the ticket chosen is always still free
CALLING_TURN = select(func.pg_advisory_xact_lock(0x68616C6C))  # any constant: "hall"

EXTENDED_ACTIVE = select(ExtendedService.id).where(ExtendedService.business_date == bindparam("day"),
                                                   ExtendedService.ended_at.is_(None)).limit(1)


#: what the calling rule needs of a waiting ticket (policy.Candidate), in the order queue._candidates unpacks
_CANDIDATE = (Ticket.id, Ticket.service, Ticket.queue_at, Ticket.issued_at, Ticket.priority, Ticket.appointment_id,
              Ticket.target_window)

#: every waiting ticket of the day in order of arrival: the line a resident's place is played over (line.py)
WAITING = (select(*_CANDIDATE).where(Ticket.business_date == bindparam("day"), Ticket.status == S.WAITING)
           .order_by(Ticket.queue_at, Ticket.id))

#: the calls that may have passed a waiting ticket: called tickets that came after the earliest one still waiting
CALLS_SINCE = select(Ticket.window_id, Ticket.queue_at, Ticket.id, Ticket.called_at).where(
    Ticket.business_date == bindparam("day"), Ticket.called_at.is_not(None), Ticket.window_id.is_not(None),
    Ticket.queue_at >= bindparam("since"))

#: the windows at work: who is signed in, and since when the resident at the window has been there
DESKS = (select(WindowState.window_id, WindowState.status, WindowState.clerk, Ticket.called_at)
         .outerjoin(Ticket, Ticket.id == WindowState.current_ticket_id))

#: the day's latest residents seen to the end at a window: each window's pace (time from call to the next call)
PACE_SAMPLE = 60
RECENT_SERVICE = (select(Ticket.window_id, Ticket.called_at, Ticket.finished_at)
                  .where(Ticket.business_date == bindparam("day"), Ticket.finished_at.is_not(None),
                         Ticket.called_at.is_not(None), Ticket.window_id.is_not(None))
                  .order_by(Ticket.finished_at.desc()).limit(PACE_SAMPLE))


def _latest(action: str, count: int) -> Any:
    """The latest ``count`` events of one action since the day began, newest first: read backwards along
    ix_events_action in its order (no sort), stopping at the day's start; one action at a time, as an index orders
    one action's rows only. No condition on the ticket here: PostgreSQL, which cannot know how many of today's rows
    match one, would rather collect and sort every event of the day."""
    return (select(TicketEvent.id, TicketEvent.at, TicketEvent.window_id, TicketEvent.action, TicketEvent.ticket_id)
            .where(TicketEvent.action == action, TicketEvent.at >= bindparam("since"))
            .order_by(TicketEvent.at.desc(), TicketEvent.id.desc()).limit(count).subquery())


def recent_calls(count: int) -> Any:
    """The latest ``count`` calls and recalls made since the business day began, newest first, with their numbers,
    for the screens' list (a number of the day before called after midnight is one of today's calls)."""
    called, recalled = _latest("called", count), _latest("recalled", count)
    both = union_all(select(called), select(recalled)).subquery()
    return (select(both.c.at, both.c.window_id, both.c.action, Ticket.number)
            .join(Ticket, Ticket.id == both.c.ticket_id)
            .order_by(both.c.at.desc(), both.c.id.desc()).limit(count))


def window_waiting(window: Window) -> Any:
    """The tickets one window may call, in order of arrival: built once per window at start-up."""
    return WAITING.where(or_(and_(among(Ticket.service, window.services), Ticket.target_window.is_(None)),
                             Ticket.target_window == window.id))


@dataclass(frozen=True)
class CallingLine:
    """What a call at one window reads of its line (server/policy.py ``choose_next``): the first waiting resident,
    the first of each kind that may go ahead of earlier arrivals (绿色通道, 预约, the window's favoured items), and
    the line up to the last of those. Nobody behind them can change the choice, so a call reads a few rows, not
    the whole line (~5 µs a waiting resident on every call)."""

    first: Any
    #: the first of each kind, in one statement (a round trip and ~60 µs of SQLAlchemy a kind saved)
    heads: Any
    until: Any

    @classmethod
    def of(cls, window: Window) -> CallingLine:
        line = window_waiting(window)
        plain = and_(Ticket.priority.is_(None), Ticket.appointment_id.is_(None))
        kinds = [Ticket.priority.is_not(None), and_(Ticket.appointment_id.is_not(None), Ticket.priority.is_(None))]
        if window.favour:
            kinds.append(and_(plain, among(Ticket.service, window.favour)))
        until = or_(Ticket.queue_at < bindparam("until_at"),
                    and_(Ticket.queue_at == bindparam("until_at"), Ticket.id <= bindparam("until_id")))
        heads = union_all(*(select(line.where(kind).limit(1).subquery()) for kind in kinds))
        return cls(line.limit(1), heads, line.where(until))
