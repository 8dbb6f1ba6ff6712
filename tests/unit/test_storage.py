"""SQLite's transactions as server/db.py opens them: the BEGINs are Storage's own (an engine event listener would
cost every statement), so each kind of transaction is checked against a second, plain sqlite3 connection."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from server import db
from server.db import Storage
from tests.conftest import clear_database

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


class Syncs:
    """Every fdatasync the storage makes, with what had happened before it, on top of the real system call."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, steps: list[str]):
        self.files: list[str] = []
        self.steps = steps
        real = db._datasync

        def datasync(descriptor: int) -> None:
            self.files.append(os.readlink(f"/proc/self/fd/{descriptor}"))
            steps.append("synced")
            real(descriptor)

        monkeypatch.setattr(db, "_datasync", datasync)


def test_a_call_is_committed_then_told_then_on_disk(sqlite_storage: tuple[Storage, sqlite3.Connection],
                                                    monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """write_then: the screens are told of a committed change without waiting for the disk, and the caller (the
    clerk's answer) only after the WAL is synced, as SQLite's synchronous=FULL would have."""
    storage, other = sqlite_storage
    steps: list[str] = []
    syncs = Syncs(monkeypatch, steps)

    def tell() -> None:
        seen = other.execute("SELECT count(*) FROM window_states WHERE window_id = 99").fetchone()
        steps.append(f"told, seen by another connection: {seen[0]}")

    with storage.write_then(tell) as session:
        session.execute(text("INSERT INTO window_states (window_id, status) VALUES (99, 'closed')"))
        steps.append("written")
    assert steps == ["written", "told, seen by another connection: 1", "synced"]
    assert syncs.files == [str(tmp_path / "hallq.db-wal")]


def test_only_write_then_commits_unsynced(sqlite_storage: tuple[Storage, sqlite3.Connection],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Every other write keeps synchronous=FULL (SQLite syncs at its commit), and no sync is added to it."""
    storage, _other = sqlite_storage
    steps: list[str] = []
    Syncs(monkeypatch, steps)
    pragma = text("PRAGMA synchronous")
    with storage.write() as session:
        assert session.execute(pragma).scalar_one() == 2  # FULL
    with storage.write_then(lambda: None) as session:
        assert session.execute(pragma).scalar_one() == 1  # NORMAL, synced by write_then
    with storage.write() as session:  # the connection write_then used is not lent to other writes
        assert session.execute(pragma).scalar_one() == 2
    assert steps == ["synced"]


def test_a_failed_call_is_neither_told_nor_kept(sqlite_storage: tuple[Storage, sqlite3.Connection],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    storage, other = sqlite_storage
    steps: list[str] = []
    Syncs(monkeypatch, steps)
    with pytest.raises(RuntimeError), storage.write_then(lambda: steps.append("told")) as session:
        session.execute(text("INSERT INTO window_states (window_id, status) VALUES (99, 'closed')"))
        raise RuntimeError("nobody waiting")
    assert steps == []
    assert other.execute("SELECT count(*) FROM window_states WHERE window_id = 99").fetchone() == (0,)


def test_a_failed_telling_still_leaves_the_call_on_disk(sqlite_storage: tuple[Storage, sqlite3.Connection],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    storage, other = sqlite_storage
    steps: list[str] = []
    Syncs(monkeypatch, steps)

    def tell() -> None:
        raise OSError("a screen adapter failed")

    with pytest.raises(OSError), storage.write_then(tell) as session:
        session.execute(text("INSERT INTO window_states (window_id, status) VALUES (99, 'closed')"))
    assert steps == ["synced"]
    assert other.execute("SELECT count(*) FROM window_states WHERE window_id = 99").fetchone() == (1,)


def test_on_postgresql_write_then_is_a_write_then_the_telling(postgres_database: str) -> None:
    clear_database(postgres_database)
    storage = Storage(postgres_database)
    try:
        storage.create_schema()
        seen: list[int] = []
        with storage.write_then(lambda: seen.append(storage.first(WINDOWS, {})[0])) as session:  # type: ignore[index]
            session.execute(text("INSERT INTO window_states (window_id, status) VALUES (99, 'closed')"))
        assert seen == [1]
    finally:
        storage.dispose()
