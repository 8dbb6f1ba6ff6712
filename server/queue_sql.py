"""The statements the queue engine runs for every ticket and every call, built once.

Building a SQLAlchemy statement costs more than running it, and the ORM's unit of work costs more than both: issuing
a number and calling a resident run these prebuilt Core statements on the transaction's connection, each change
returning the row it made (RETURNING), so a call is a handful of round trips and no flush (docs/performance.md).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, bindparam, case, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from server.config import Window
from server.models import DailyCounter, ExtendedService, Ticket, TicketEvent, WindowState
from server.models import TicketStatus as S

TICKETS = Ticket.__table__
EVENTS = TicketEvent.__table__
WINDOW_STATES = WindowState.__table__


def next_number(dialect: str) -> Any:
    """Increment the (service, day) counter and return the new value: atomic on both backends."""
    insert_for = pg_insert if dialect == "postgresql" else sqlite_insert
    return (insert_for(DailyCounter).values(service=bindparam("service"), business_date=bindparam("day"), last=1)
            .on_conflict_do_update(index_elements=["service", "business_date"], set_={"last": DailyCounter.last + 1})
            .returning(DailyCounter.last))


NEW_TICKET = insert(TICKETS).returning(*TICKETS.c)
RECORD = insert(EVENTS)

#: issued in the current session of the calendar (上午/下午), for its cap; a transfer is not a new resident
SESSION_ISSUED = select(func.count()).select_from(Ticket).where(
    Ticket.service == bindparam("service"), Ticket.issued_at >= bindparam("start"),
    Ticket.issued_at <= bindparam("now"), Ticket.transferred_from.is_(None))

#: the window's row, locked for the rest of the transaction (PostgreSQL; SQLite holds the write lock already)
WINDOW = (select(WindowState.status, WindowState.clerk, WindowState.current_ticket_id)
          .where(WindowState.window_id == bindparam("window")).with_for_update())
SET_CURRENT = (update(WINDOW_STATES).where(WINDOW_STATES.c.window_id == bindparam("window"))
               .values(current_ticket_id=bindparam("ticket")))

#: calling the next resident finishes (办结) the one still at the window
FINISH_CURRENT = (update(TICKETS).where(TICKETS.c.id == bindparam("ticket"),
                                        TICKETS.c.status.in_((S.CALLED, S.SERVING)))
                  .values(status=S.DONE, finished_at=bindparam("now"),
                          started_at=func.coalesce(TICKETS.c.started_at, TICKETS.c.called_at))
                  .returning(*TICKETS.c))

#: waiting -> called only if still waiting: two windows can never both take one ticket
TAKE = (update(TICKETS).where(TICKETS.c.id == bindparam("ticket"), TICKETS.c.status == S.WAITING)
        .values(status=S.CALLED, called_at=bindparam("now"), window_id=bindparam("window"))
        .returning(*TICKETS.c))
#: 特呼: a waiting ticket, or a same-day no-show who came back; the recall count starts again
TAKE_OUT_OF_TURN = (update(TICKETS).where(TICKETS.c.id == bindparam("ticket"),
                                          TICKETS.c.status.in_((S.WAITING, S.NO_SHOW)))
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


class WindowQueries:
    """Who one window may call next: the statements are built once per window at start-up."""

    def __init__(self, window: Window):
        rank = case({code: i for i, code in enumerate(window.services)}, value=Ticket.service, else_=0)
        may_call = (Ticket.business_date == bindparam("day"), Ticket.status == S.WAITING,
                    or_(and_(Ticket.service.in_(window.services), Ticket.target_window.is_(None)),
                        Ticket.target_window == window.id))
        head = select(Ticket.id, Ticket.service, Ticket.queue_at, Ticket.priority, Ticket.appointment_id,
                      rank.label("rank")).limit(1)
        # the first regular ticket in line (a checked-in appointment before the others of its service, as
        # policy.Candidate.line_key) and the earliest priority ticket: all the policy needs to choose
        self.regular = head.where(*may_call, Ticket.priority.is_(None)).order_by(
            rank, Ticket.appointment_id.is_(None), Ticket.queue_at, Ticket.id)
        self.priority = head.where(*may_call, Ticket.priority.is_not(None)).order_by(rank, Ticket.queue_at, Ticket.id)
        # 延时服务: whoever came first, whatever the item or the tag
        self.arrival = (select(Ticket.id, Ticket.service, Ticket.queue_at, Ticket.priority)
                        .where(*may_call).order_by(Ticket.queue_at, Ticket.id).limit(1))
        # priority tickets that joined after a regular one and were already called: how often it was passed
        self.passed = select(func.count()).select_from(Ticket).where(
            Ticket.business_date == bindparam("day"), Ticket.priority.is_not(None), Ticket.called_at.is_not(None),
            Ticket.queue_at > bindparam("queue_at"), Ticket.service.in_(window.services))


# Who stands before a waiting ticket in its line (same day, service and target window): priority tickets, then
# checked-in appointments, then earlier arrivals (the order of call-next). This runs for every ticket the API returns.
_SAME_LINE = (Ticket.business_date == bindparam("day"), Ticket.status == S.WAITING,
              Ticket.service == bindparam("service"), Ticket.target_window.is_not_distinct_from(bindparam("target")))
_EARLIER = or_(Ticket.queue_at < bindparam("queue_at"),
               and_(Ticket.queue_at == bindparam("queue_at"), Ticket.id < bindparam("id")))
AHEAD_OF_REGULAR = select(func.count()).select_from(Ticket).where(
    *_SAME_LINE, or_(Ticket.priority.is_not(None), Ticket.appointment_id.is_not(None), _EARLIER))
AHEAD_OF_APPOINTMENT = select(func.count()).select_from(Ticket).where(
    *_SAME_LINE, or_(Ticket.priority.is_not(None), and_(Ticket.appointment_id.is_not(None), _EARLIER)))
AHEAD_OF_PRIORITY = select(func.count()).select_from(Ticket).where(
    *_SAME_LINE, Ticket.priority.is_not(None), _EARLIER)
