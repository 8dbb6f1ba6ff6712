"""An installed hall takes the next version without losing a record: Storage.create_schema upgrades a database as
hallq 0.1 left it, on SQLite and PostgreSQL; a new database gets the same schema the revisions make."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.exc import DatabaseError, IntegrityError

from server.auth import Accounts
from server.cli import main
from server.clock import ManualClock
from server.config import HallConfig
from server.db import Storage
from server.events import EventBus
from server.migrations import HEAD, alembic_config
from server.models import Base, ExtendedService, WindowDay
from server.queue import QueueEngine
from tests.conftest import SMALL_HALL, clear_database
from tests.live import ROOT
from tests.old_hall import DAY, ROWS, make_old_database, stored_rows


def _head(storage: Storage) -> str | None:
    with storage.engine.connect() as connection:
        return ScriptDirectory.from_config(alembic_config(connection)).get_current_head()


def _differences(storage: Storage) -> list[Any]:
    """What Alembic's autogenerate would still change to reach the models: nothing, when the schema is right."""
    with storage.engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), Base.metadata)


def _schema(url: str) -> dict[str, str]:
    """Every table's columns, keys, constraints and indexes with their names, as the database reports them (column
    order aside: a column a revision adds comes last)."""
    engine = create_engine(url)
    found = inspect(engine)

    def by_name(items: list[Any]) -> str:  # types and partial indexes' WHERE as their SQL
        return json.dumps(sorted(items, key=lambda item: str(item["name"])), default=str, sort_keys=True)

    schema = {table: by_name(found.get_columns(table)) + by_name([found.get_pk_constraint(table)])
              + by_name(found.get_foreign_keys(table)) + by_name(found.get_unique_constraints(table))
              + by_name(found.get_indexes(table)) for table in found.get_table_names()}
    engine.dispose()
    return schema


def test_an_older_hall_keeps_every_record_and_takes_several_extended_records_a_day(database_url: str) -> None:
    make_old_database(database_url)
    storage = Storage(database_url)
    storage.create_schema()
    try:
        assert stored_rows(database_url) == ROWS
        assert storage.revision() == _head(storage)
        assert _differences(storage) == []
        storage.create_schema()  # every start: nothing to do, nothing lost
        assert stored_rows(database_url) == ROWS
        morning = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)  # 12:00 in the hall
        with storage.write() as session:
            session.add(ExtendedService(business_date=DAY, session="上午", started_at=morning))
        with pytest.raises(IntegrityError), storage.write() as session:
            session.add(ExtendedService(business_date=DAY, session="上午", started_at=morning))
        with storage.read() as session:  # the old record has no session name: hallq 0.1 did not keep one
            assert [record.session for record in session.query(ExtendedService).order_by(ExtendedService.id)
                    ] == [None, "上午"]
    finally:
        storage.dispose()


def test_a_new_database_has_the_schema_the_revisions_make(database_url: str) -> None:
    """create_schema makes a new database with create_all (fast): it must equal running every revision, and the
    upgraded older hall's, names included, so the next revision finds the same constraints in every hall."""
    engine = create_engine(database_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
    engine.dispose()
    by_revisions = _schema(database_url)
    clear_database(database_url)
    make_old_database(database_url)
    Storage(database_url).create_schema()
    upgraded = _schema(database_url)
    clear_database(database_url)
    storage = Storage(database_url)
    storage.create_schema()
    try:
        assert _schema(database_url) == by_revisions == upgraded
        assert _differences(storage) == [] and storage.revision() == _head(storage)
    finally:
        storage.dispose()


#: what `hallq run` imports, then its database's check at start-up; prints the revision and the Alembic parts loaded
_STARTS = """import sys
import server.app, server.cli
from server.db import Storage
storage = Storage(sys.argv[1])
storage.create_schema()
print(storage.revision(), sorted({name.partition(".")[0] for name in sys.modules} & {"alembic", "mako", "pygments"}))
"""


def test_a_hall_at_the_newest_revision_starts_without_loading_alembic(storage: Storage, database_url: str) -> None:
    """Alembic with Mako and Pygments would take ~8 MB of every server process's memory: a database at the newest
    revision (every start but the first after an upgrade) is recognised with a plain query, against HEAD, which is
    Alembic's own head."""
    assert HEAD == storage.revision() == _head(storage)
    started = subprocess.run([sys.executable, "-c", _STARTS, database_url], cwd=ROOT, capture_output=True, text=True,
                             check=True, timeout=60)
    assert started.stdout.split() == [HEAD, "[]"]


def test_an_upgrade_that_fails_leaves_the_older_hall_as_it_was(database_url: str) -> None:
    make_old_database(database_url)
    engine = create_engine(database_url)
    with engine.begin() as connection:  # a name 0002 needs is taken: its index cannot be made
        connection.execute(text("CREATE INDEX ux_extended_session ON tickets (number)"))
    engine.dispose()
    before = _schema(database_url)
    storage = Storage(database_url)
    try:
        with pytest.raises(DatabaseError):
            storage.create_schema()
        assert _schema(database_url) == before  # not even stamped: no alembic_version
        assert stored_rows(database_url) == ROWS
    finally:
        storage.dispose()


def test_a_database_a_newer_hallq_upgraded_is_refused_in_chinese(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    storage = Storage(f"sqlite:///{tmp_path / 'hallq.db'}")
    storage.create_schema()
    with storage.write() as session:
        session.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    storage.dispose()
    config = tmp_path / "hall.toml"
    config.write_text(SMALL_HALL, encoding="utf-8")
    assert main(["init", "--config", str(config), "--instance", str(tmp_path)]) == 2
    assert "数据库已由更新版本的 hallq 升级（结构版本 0099）" in capsys.readouterr().err


def test_0004_reads_back_the_default_cases_and_splits_the_old_approval_date(database_url: str) -> None:
    """A default 即办件 said so only in its event; an old 报批件's date was the 上报 limit (now ``forward_due``), its
    closing the reply received (now ``approved_at``, still closed)."""
    make_old_database(database_url)
    engine = create_engine(database_url)
    with engine.begin() as connection:  # as 0003 left it
        command.stamp(alembic_config(connection), "0001")
        command.upgrade(alembic_config(connection), "0003")
        replied = datetime(2026, 12, 2, 2, 0)
        connection.execute(text("INSERT INTO tickets (id, number, service, business_date, status, queue_at, issued_at, "
                                "recalls, channel, track_token) VALUES (3, 'A002', 'id-card', :day, 'done', :at, "
                                ":at, 0, 'kiosk', :token), (4, 'A003', 'id-card', :day, 'done', :at, :at, 0, "
                                "'kiosk', :token)"), {"day": DAY, "at": replied, "token": "u" * 32})
        connection.execute(text("INSERT INTO cases (id, ticket_id, window_id, clerk, type, recorded_at, due, "
                                "closed_at, closed_by) VALUES (2, 3, 1, 'clerk1', 'immediate', :at, NULL, NULL, NULL), "
                                "(3, 4, 1, 'clerk1', 'approval', :at, :due, :at, 'clerk1')"),
                           {"at": replied, "due": DAY})
        connection.execute(text("INSERT INTO ticket_events (id, ticket_id, action, actor, at, detail) VALUES "
                                "(3, 3, 'case_recorded', 'clerk1', :at, :detail)"),
                           {"at": replied, "detail": json.dumps({"type": "immediate", "default": True})})
    engine.dispose()
    storage = Storage(database_url)
    storage.create_schema()
    try:
        with storage.read() as session:
            rows = {row.id: row for row in session.execute(text(
                "SELECT id, chosen, due, forward_due, approved_at, closed_at, extensions FROM cases ORDER BY id"))}
        assert [bool(rows[i].chosen) for i in (1, 2, 3)] == [True, False, True]
        assert str(rows[3].forward_due) == str(DAY) and rows[3].due is None
        assert rows[3].approved_at == rows[3].closed_at is not None
        assert rows[1].due is not None and rows[1].forward_due is None and rows[1].extensions == 0
        assert stored_rows(database_url)["cases"][0]["due"] == ROWS["cases"][0]["due"]
    finally:
        storage.dispose()


def test_0005_makes_the_staff_of_an_older_hall_not_party_members_until_the_admin_says(database_url: str) -> None:
    """A hall as 0004 left it: its staff keep everything and are not 党员 until the admin marks them."""
    make_old_database(database_url)
    engine = create_engine(database_url)
    with engine.begin() as connection:
        command.stamp(alembic_config(connection), "0001")
        command.upgrade(alembic_config(connection), "0004")
        assert "party_member" not in {c["name"] for c in inspect(connection).get_columns("staff")}
    engine.dispose()
    storage = Storage(database_url)
    storage.create_schema()
    try:
        assert storage.revision() == _head(storage)
        assert stored_rows(database_url)["staff"] == ROWS["staff"]
        accounts = Accounts(storage, ManualClock(datetime(2026, 12, 7, 2, 0, tzinfo=UTC)))
        assert [(m["username"], m["party_member"]) for m in accounts.roster()] == [("clerk1", False)]
        accounts.update_staff("clerk1", party_member=True)
        assert accounts.roster()[0]["party_member"] is True
    finally:
        storage.dispose()


def test_0006_counts_what_each_window_of_an_older_hall_already_finished(database_url: str,
                                                                          small_hall: HallConfig) -> None:
    """A hall as 0005 left it: 今日已办 of its days is carried into window_days from the tickets finished (one 办结
    at 3号窗口 that day; the transferred ticket does not count), and counting goes on from there."""
    make_old_database(database_url)
    engine = create_engine(database_url)
    with engine.begin() as connection:
        command.stamp(alembic_config(connection), "0001")
        command.upgrade(alembic_config(connection), "0005")
        assert "window_days" not in inspect(connection).get_table_names()
    engine.dispose()
    storage = Storage(database_url)
    storage.create_schema()
    try:
        assert storage.revision() == _head(storage)
        with storage.read() as session:
            assert session.execute(select(WindowDay.window_id, WindowDay.business_date, WindowDay.served)
                                   ).all() == [(3, DAY, 1)]
        clock = ManualClock(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))  # 10:00 in the hall, the same day
        queue = QueueEngine(storage, small_hall, clock, EventBus())
        assert {w["id"]: w["served_today"] for w in queue.windows()} == {1: 0, 2: 0, 3: 1, 4: 0}
        queue.issue("hukou", None, "device:kiosk-1")
        queue.call_next(3, "clerk1")
        queue.finish(3, "clerk1")  # counted on top of the day's carried figure
        assert {w["id"]: w["served_today"] for w in queue.windows()}[3] == 2
    finally:
        storage.dispose()
