"""A database as hallq 0.1 (commit 64c408b) left it in a hall: made by `create_all`, no alembic_version table, with
a day's records in every table. Revision 0001 makes exactly that schema (checked once against 64c408b's
create_all: identical SQLite DDL, identical PostgreSQL reflection), so it builds the old database here."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, create_engine, select, text

from server import migrations
from server.migrations import alembic_config

DAY = date(2026, 11, 30)
AT = datetime(2026, 11, 30, 1, 0)  # stored naive UTC: 09:00 in the hall

#: one or more rows per table, values as the database stores them (children after their parents)
ROWS: dict[str, list[dict[str, Any]]] = {
    "tickets": [
        {"id": 1, "number": "A001", "service": "id-card", "business_date": DAY, "status": "transferred",
         "priority": None, "queue_at": AT, "issued_at": AT, "called_at": datetime(2026, 11, 30, 1, 5),
         "started_at": datetime(2026, 11, 30, 1, 6), "finished_at": datetime(2026, 11, 30, 1, 9), "window_id": 1,
         "target_window": None, "recalls": 1, "channel": "kiosk", "transferred_from": None,
         "track_token": "t" * 32, "appointment_id": None},
        {"id": 2, "number": "A001", "service": "hukou", "business_date": DAY, "status": "done",
         "priority": "green", "queue_at": AT, "issued_at": datetime(2026, 11, 30, 1, 9),
         "called_at": datetime(2026, 11, 30, 1, 10), "started_at": datetime(2026, 11, 30, 1, 11),
         "finished_at": datetime(2026, 11, 30, 1, 20), "window_id": 3, "target_window": 3, "recalls": 0,
         "channel": "kiosk", "transferred_from": 1, "track_token": "t" * 32, "appointment_id": 7},
    ],
    "daily_counters": [{"service": "id-card", "business_date": DAY, "last": 1}],
    "ticket_events": [
        {"id": 1, "ticket_id": 1, "action": "issued", "window_id": None, "actor": "device:kiosk-1", "at": AT,
         "detail": {"number": "A001", "waiting_ahead": 0}},
        {"id": 2, "ticket_id": 2, "action": "finished", "window_id": 3, "actor": "clerk1",
         "at": datetime(2026, 11, 30, 1, 20), "detail": None},
    ],
    "window_states": [{"window_id": 3, "status": "open", "clerk": "clerk1", "current_ticket_id": 2,
                       "since": datetime(2026, 11, 30, 0, 55)}],
    "staff": [{"id": 1, "username": "clerk1", "display_name": "王小红", "staff_no": "1001", "role": "clerk",
               "password_hash": "scrypt$abc", "failed_logins": 2, "locked_until": None}],
    "devices": [{"id": 1, "name": "kiosk-1", "kind": "kiosk", "token_hash": "f" * 64}],
    "extended_services": [{"id": 1, "business_date": DAY, "started_at": datetime(2026, 11, 30, 9, 0),
                           "ended_at": datetime(2026, 11, 30, 9, 40), "waiting_at_start": 3, "served": 3,
                           "windows": [1, 3], "clerks": ["clerk1"], "anomalies": ["B004"]}],
    "evaluations": [{"ticket_id": 2, "window_id": 3, "clerk": "clerk1", "finished_at": datetime(2026, 11, 30, 1, 20),
                     "due_at": datetime(2026, 11, 30, 1, 21), "state": "rated", "level": "unsatisfied",
                     "reason": "等候时间长", "comment": "排队****久", "channel": "tablet",
                     "rated_at": datetime(2026, 11, 30, 1, 20, 30), "followup_due": date(2026, 12, 3),
                     "followup_closed_at": None, "followup_closed_by": None, "followup_note": None}],
    "cases": [{"id": 1, "ticket_id": 2, "window_id": 3, "clerk": "clerk1", "type": "promised",
               "recorded_at": datetime(2026, 11, 30, 1, 20), "due": date(2026, 12, 7),
               "materials": ["户口簿"], "reason": None, "closed_at": None, "closed_by": None}],
    "appointments": [{"id": 7, "code": "123456", "service": "hukou", "business_date": DAY, "slot": "09:00",
                      "slot_end": "09:30", "starts_at": AT, "kind": "window", "channel": "phone", "name": "张三",
                      "phone": "13800001234", "id_last6": "12345X", "notes": "", "status": "checked_in",
                      "reason": None, "assigned_to": None, "booked_by": "guide", "booked_at": datetime(2026, 11, 28),
                      "closed_at": None, "ticket_id": 2}],
    "duty_log": [{"id": 1, "business_date": DAY, "at": AT, "kind": "emergency", "text": "停电十分钟",
                  "author": "guide", "logged_at": datetime(2026, 11, 30, 1, 15)}],
    "enquiries": [{"id": 1, "business_date": DAY, "at": AT, "channel": "phone", "who": "李", "contact": "",
                   "subject": "医保转移", "answer": "带身份证来", "referred_to": "2号窗口", "author": "guide"}],
}


def make_old_database(url: str) -> None:
    """hallq 0.1's tables with ROWS in them, and no alembic_version."""
    engine = create_engine(url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0001")
        connection.execute(text("DROP TABLE alembic_version"))
        tables = MetaData()
        tables.reflect(connection)
        for name, rows in ROWS.items():
            connection.execute(tables.tables[name].insert(), rows)
            if connection.dialect.name == "postgresql" and "id" in rows[0]:  # as if the hall had numbered them
                connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), {len(rows)})"))
    engine.dispose()


def stored_rows(url: str) -> dict[str, list[dict[str, Any]]]:
    """The rows of ROWS as they are stored now, in ROWS's columns: what must survive an upgrade (rows the hall
    added since, such as its other windows' states, are left out)."""
    engine = create_engine(url)
    tables = MetaData()
    tables.reflect(engine)
    stored: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as connection:
        for name, rows in ROWS.items():
            table = tables.tables[name]
            key = [column.name for column in table.primary_key.columns]
            old = {tuple(row[column] for column in key) for row in rows}
            stored[name] = [{column: row[column] for column in rows[0]}
                            for row in connection.execute(select(table).order_by(*table.primary_key.columns)).mappings()
                            if tuple(row[column] for column in key) in old]
    engine.dispose()
    return stored


def head_revision() -> str:
    """The newest revision this version of hallq upgrades a database to."""
    head = ScriptDirectory(migrations.__path__[0]).get_current_head()
    assert head is not None
    return head
