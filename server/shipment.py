"""What a hall ships to its district, and how the district files it: the event log in order, with the current
state of the rows those events concern, no personal data.

The hall keeps working on its own (the district is a reader, never a server the hall depends on); the district
keeps a replica of each hall's own tables (district/replica.py) and computes every figure with the hall's own
code (server/stats.py). A batch is idempotent: events are keyed by the hall's own event id and filed once; rows
are the state as of the hall's newest event when it was read (``as_of``) and never replace a newer state, so a
replayed or delayed batch changes nothing.

Left behind at the hall: the ticket's tracking key, a case's free texts (materials, reasons, the 复核 result), a
complaint's complainant, contact, request and answer, staff passwords and login state, the current ticket of a
window (the board needs only whether it is open), appointments (their personal fields never leave the hall).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from sqlalchemy import Date, Table, func, select
from sqlalchemy.orm import Session

from server.clock import business_date
from server.models import CaseRecord, Complaint, ExtendedService, Staff, Ticket, TicketEvent, UTCDateTime, WindowState

#: the config tables a district needs to compute a hall's figures; the others hold addresses and secrets
FIGURES_TABLES = ("hall", "services", "windows", "queue", "calendar", "appointments", "evaluation", "cases",
                  "complaints", "assessment")


@dataclass(frozen=True)
class Shipped:
    """One table as shipped: the columns left at the hall, and what the district's replica holds in their place
    where the column may not be empty."""

    table: Table
    left_out: frozenset[str] = frozenset()
    blanks: dict[str, Any] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        return [c.name for c in self.table.columns if c.name not in self.left_out]


def _shipped(model: Any, blanks: dict[str, Any] | None = None, left_out: Iterable[str] = ()) -> Shipped:
    blanks = blanks or {}
    return Shipped(model.__table__, frozenset(left_out) | frozenset(blanks), blanks)


#: in the order the district files them (a row before the rows referring to it)
TABLES: dict[str, Shipped] = {
    "staff": _shipped(Staff, {"password_hash": ""}, ("failed_logins", "locked_until", "session_epoch")),
    "tickets": _shipped(Ticket, {"track_token": ""}),
    "cases": _shipped(CaseRecord, left_out=("materials", "reason", "extension_reason", "review_result")),
    "complaints": _shipped(Complaint, {"name": "", "contact": "", "request": ""}, ("answer",)),
    "extended_services": _shipped(ExtendedService),
    "window_states": _shipped(WindowState, {"current_ticket_id": None}),
}
EVENTS = TicketEvent.__table__


class ShipmentError(ValueError):
    """A batch the district cannot read: answered 400 with this code and message."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class Batch:
    hall: str
    #: the last event id the shipper believes the district holds; ``through`` the last one in this batch
    after: int
    through: int
    #: the hall's newest event id when the batch was read: the rows are the state as of then
    as_of: int
    events: list[dict[str, Any]]
    rows: dict[str, list[dict[str, Any]]]
    config: dict[str, Any]
    sent_at: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> Batch:
        if not isinstance(data, dict):
            raise ShipmentError("bad_batch", "批次须为 JSON 对象")
        try:
            batch = cls(hall=_text(data, "hall"), after=_count(data, "after"), through=_count(data, "through"),
                        as_of=_count(data, "as_of"), events=_list(data, "events"), rows=_rows(data),
                        config=_object(data, "config"), sent_at=_text(data, "sent_at"))
        except TypeError:
            raise ShipmentError("bad_batch", "批次字段不全或多余") from None
        ids = [event.get("id") if isinstance(event, dict) else None for event in batch.events]
        if any(not isinstance(i, int) or isinstance(i, bool) for i in ids) or ids != sorted(set(ids)) or \
                (ids and (ids[0] <= batch.after or ids[-1] != batch.through)) or \
                (not ids and batch.through != batch.after) or batch.through > batch.as_of:
            raise ShipmentError("bad_order", "批次中的事件须按编号递增，且在 after 与 through 之间")
        return batch


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ShipmentError("bad_batch", f"批次字段 {key} 须为非空文本")
    return value


def _count(data: dict[str, Any], key: str) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ShipmentError("bad_batch", f"批次字段 {key} 须为非负整数")
    return value


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if not isinstance(value, list):
        raise ShipmentError("bad_batch", f"批次字段 {key} 须为列表")
    return value


def _object(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise ShipmentError("bad_batch", f"批次字段 {key} 须为对象")
    return value


def _rows(data: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    rows = _object(data, "rows")
    unknown = set(rows) - set(TABLES)
    if unknown:
        raise ShipmentError("bad_batch", f"批次含未知的表：{'、'.join(sorted(unknown))}")
    for name, table_rows in rows.items():
        if not isinstance(table_rows, list) or not all(isinstance(row, dict) for row in table_rows):
            raise ShipmentError("bad_batch", f"表 {name} 的行须为对象列表")
    return rows


# ---------------------------------------------------------------------------------------------- the hall's side

def figures_config(path: str | Path) -> dict[str, Any]:
    """The parts of config.toml the district needs to compute the hall's figures, as JSON data."""
    with open(path, "rb") as handle:
        data = tomllib.load(handle)
    return _plain({key: value for key, value in data.items() if key in FIGURES_TABLES})


def _plain(value: Any) -> Any:
    """TOML's dates and times as the strings config.toml also accepts."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


class Gaps:
    """An id missing from the log may be a transaction still running in another process (PostgreSQL hands out
    ids before commit): a batch stops before it until it has been missing for ``settle``, then it is taken for a
    rolled-back id and passed over. Keeps the first time each gap was seen."""

    def __init__(self, settle: timedelta = timedelta(seconds=10)):
        self.settle = settle
        self._seen: dict[int, datetime] = {}

    def usable(self, after: int, ids: list[int], now: datetime) -> int:
        """How many of ``ids`` (ascending, all > after) may be shipped now."""
        expected = after + 1
        for taken, event_id in enumerate(ids):
            if event_id != expected and now - self._seen.setdefault(expected, now) < self.settle:
                self._forget_below(after)
                return taken
            expected = event_id + 1
        self._forget_below(expected)
        return len(ids)

    def _forget_below(self, first: int) -> None:
        self._seen = {k: v for k, v in self._seen.items() if k >= first}


def collect(session: Session, *, hall: str, config: dict[str, Any], after: int, limit: int, now: datetime,
            gaps: Gaps, zone: tzinfo) -> Batch:
    """One batch: up to ``limit`` events after ``after`` and the rows they concern, read in one transaction."""
    as_of = session.scalar(select(func.max(TicketEvent.id))) or 0
    rows = session.execute(select(EVENTS).where(EVENTS.c.id > after).order_by(EVENTS.c.id).limit(limit)).all()
    rows = rows[:gaps.usable(after, [row.id for row in rows], now)]
    events = [_json(row._mapping) for row in rows]
    complaint_ids = {e["detail"]["complaint"] for e in events
                     if isinstance(e["detail"], dict) and isinstance(e["detail"].get("complaint"), int)}
    ticket_ids = {e["ticket_id"] for e in events if e["ticket_id"] is not None}
    complaints = _read(session, "complaints", TABLES["complaints"].table.c.id.in_(complaint_ids)) + _read(
        session, "complaints", TABLES["complaints"].table.c.ticket_id.in_(ticket_ids),
        TABLES["complaints"].table.c.id.not_in(complaint_ids))
    ticket_ids |= {c["ticket_id"] for c in complaints if c["ticket_id"] is not None}
    tickets = _tickets(session, ticket_ids)
    known = {t["id"] for t in tickets}
    for event in events:  # a ticket `hallq purge` removed: its events still count, without the row
        if event["ticket_id"] is not None and event["ticket_id"] not in known:
            event["ticket_id"] = None
    today = business_date(now, zone)
    days = {business_date(datetime.fromisoformat(e["at"]), zone) for e in events} | {today, today - timedelta(1)}
    return Batch(
        hall=hall, after=after, through=events[-1]["id"] if events else after, as_of=max(as_of, after),
        events=events, config=config, sent_at=now.isoformat(),
        rows={"staff": _read(session, "staff"), "tickets": tickets,
              "cases": _read(session, "cases", TABLES["cases"].table.c.ticket_id.in_(known)),
              "complaints": complaints,
              "extended_services": _read(session, "extended_services",
                                         TABLES["extended_services"].table.c.business_date.in_(days)),
              "window_states": _read(session, "window_states")})


def _tickets(session: Session, wanted: set[int]) -> list[dict[str, Any]]:
    """The tickets, and the rows they were transferred from (a replica's row refers to its predecessor)."""
    found: dict[int, dict[str, Any]] = {}
    while wanted:
        rows = _read(session, "tickets", TABLES["tickets"].table.c.id.in_(wanted))
        found.update((row["id"], row) for row in rows)
        wanted = {row["transferred_from"] for row in rows if row["transferred_from"] is not None} - set(found)
    return sorted(found.values(), key=lambda row: row["id"])


def _read(session: Session, name: str, *where: Any) -> list[dict[str, Any]]:
    shipped = TABLES[name]
    columns = [shipped.table.c[c] for c in shipped.columns]
    key = shipped.table.primary_key.columns.values()[0]
    return [_json(row._mapping) for row in session.execute(select(*columns).where(*where).order_by(key))]


def _json(row: Any) -> dict[str, Any]:
    return {key: value.isoformat() if isinstance(value, date | datetime) else value for key, value in row.items()}


# ----------------------------------------------------------------------------------------- the district's side

def apply(session: Session, batch: Batch, *, through: int, as_of: int) -> tuple[int, int]:
    """File a batch in the hall's replica (the session's search_path is the replica's schema): the events the
    district lacks, then the rows unless it holds a newer state. Returns the new (through, as_of). The caller
    has checked ``batch.after <= through`` (else the district lacks events: a gap)."""
    newer = batch.as_of >= as_of
    for name, shipped in TABLES.items():  # an older state only fills in rows the replica lacks
        _upsert(session, shipped, batch.rows.get(name, []), replace=newer)
    as_of = max(as_of, batch.as_of)
    fresh = [event for event in batch.events if event["id"] > through]
    if fresh:
        _insert(session, EVENTS, [_typed(EVENTS, event, EVENTS.c.keys()) for event in fresh])
        through = fresh[-1]["id"]
    return through, as_of


def _upsert(session: Session, shipped: Shipped, rows: list[dict[str, Any]], replace: bool) -> None:
    if not rows:
        return
    columns = shipped.columns
    values = [{**shipped.blanks, **_typed(shipped.table, row, columns)} for row in rows]
    insert = _dialect_insert(session)(shipped.table).values(values)
    keys = [c.name for c in shipped.table.primary_key.columns]
    session.execute(insert.on_conflict_do_update(
        index_elements=keys, set_={c: insert.excluded[c] for c in columns if c not in keys})
        if replace else insert.on_conflict_do_nothing())


def _insert(session: Session, table: Table, values: list[dict[str, Any]]) -> None:
    session.execute(_dialect_insert(session)(table).values(values).on_conflict_do_nothing())


def _dialect_insert(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def _typed(table: Table, row: dict[str, Any], columns: Iterable[str]) -> dict[str, Any]:
    """A shipped row's values as its columns take them; a field missing or malformed is the batch's fault."""
    typed = {}
    for name in columns:
        if name not in row:
            raise ShipmentError("bad_row", f"表 {table.name} 的行缺少字段 {name}")
        value, kind = row[name], table.c[name].type
        try:
            if value is not None and isinstance(kind, UTCDateTime):
                value = datetime.fromisoformat(value)
            elif value is not None and isinstance(kind, Date):
                value = date.fromisoformat(value)
        except (TypeError, ValueError):
            raise ShipmentError("bad_row", f"表 {table.name} 的字段 {name} 不是有效的时间：{value!r}") from None
        typed[name] = value
    return typed
