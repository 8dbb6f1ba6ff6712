"""SQLite's transactions as server/db.py opens them: the BEGINs are Storage's own (an engine event listener would
cost every statement), so each kind of transaction is checked against a second, plain sqlite3 connection."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from server.db import Storage

WINDOWS = text("SELECT count(*) FROM window_states")


@pytest.fixture
def sqlite_storage(tmp_path: Path) -> Iterator[tuple[Storage, sqlite3.Connection]]:
    """A new hall database, and another connection to it that never waits for a lock."""
    storage = Storage(f"sqlite:///{tmp_path / 'hallq.db'}")
    storage.create_schema()
    other = sqlite3.connect(tmp_path / "hallq.db", timeout=0, isolation_level=None)
    yield storage, other
    other.close()
    storage.dispose()


def test_a_write_holds_the_write_lock_from_its_first_statement(
        sqlite_storage: tuple[Storage, sqlite3.Connection]) -> None:
    """BEGIN IMMEDIATE: two writers never both read, then fail to upgrade their lock."""
    storage, other = sqlite_storage
    with storage.write() as session:
        session.execute(WINDOWS)  # a read first, as a call begins: the lock is held already
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    other.execute("BEGIN IMMEDIATE")  # and gives it back at the end
    other.execute("ROLLBACK")


def test_a_failed_write_leaves_nothing(sqlite_storage: tuple[Storage, sqlite3.Connection]) -> None:
    storage, other = sqlite_storage
    with pytest.raises(RuntimeError), storage.write() as session:
        session.execute(text("INSERT INTO window_states (window_id, status) VALUES (99, 'closed')"))
        raise RuntimeError("the request failed")
    assert other.execute("SELECT count(*) FROM window_states WHERE window_id = 99").fetchone() == (0,)


def test_a_read_sees_one_state_and_blocks_no_writer(sqlite_storage: tuple[Storage, sqlite3.Connection]) -> None:
    storage, other = sqlite_storage
    with storage.read() as session:
        before = session.execute(WINDOWS).scalar_one()
        other.execute("INSERT INTO window_states (window_id, status) VALUES (99, 'closed')")  # commits at once
        assert session.execute(WINDOWS).scalar_one() == before
    assert storage.first(WINDOWS, {})[0] == before + 1  # type: ignore[index]
