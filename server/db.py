"""Engine and sessions for SQLite (default) and PostgreSQL.

SQLite runs in WAL mode and every writing transaction starts with BEGIN IMMEDIATE, so two writers never
both read then fail to upgrade their lock. Under gevent nothing may yield inside a transaction: the
queue engine does no I/O between BEGIN and COMMIT other than the database itself.

A call's transaction (``write_then``) commits without waiting for the disk, publishes, then syncs the WAL before
its caller answers: the screens do not wait for the disk, the clerk still does.

The BEGIN is sent when a session's transaction takes its connection (the sessions' "after_begin"), not by an
engine "begin" listener: any engine listener makes SQLAlchemy dispatch its events around every statement (~10 µs
each, 17 statements a call).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Executable, Row, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from server import migrations

#: PostgreSQL advisory lock held while the schema is migrated ("hallq" in ASCII)
_MIGRATION_LOCK = 0x68616C6C71
#: SQLite's companion files: they hold recent writes, so the same personal data as the database itself
SQLITE_COMPANIONS = ("-wal", "-shm")


class Storage:
    def __init__(self, url: str):
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.sqlite_file is not None:
            private_file(self.sqlite_file)  # -wal and -shm take the database file's mode when SQLite makes them
        self.engine = _sqlite_engine(url) if self.is_sqlite else create_engine(
            url, pool_size=10, max_overflow=20, pool_pre_ping=True)
        self._writer = _sessions(self.engine, "BEGIN IMMEDIATE" if self.is_sqlite else None)
        self._reader = _sessions(self.engine, "BEGIN" if self.is_sqlite else None)
        #: SQLite on disk: connections that commit without syncing, for ``write_then`` (a pool of their own: the
        #: synchronous setting stays with a connection, and no other write may borrow one)
        self._unsynced = _sqlite_engine(url, synchronous="NORMAL") if self.sqlite_file is not None else None
        self._unsynced_writer = _sessions(self._unsynced, "BEGIN IMMEDIATE") if self._unsynced else None
        #: SQLite runs a statement outside BEGIN in its own transaction already
        self._one_statement = self.engine if self.is_sqlite else self.engine.execution_options(
            isolation_level="AUTOCOMMIT")

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def sqlite_file(self) -> Path | None:
        """The database file, for SQLite on disk (None for PostgreSQL and in-memory databases)."""
        name = self.url.database
        return Path(name) if self.is_sqlite and name and name != ":memory:" else None

    def make_private(self) -> list[Path]:
        """Make the SQLite database and its -wal/-shm files readable by the owner only (they hold residents'
        personal data and password hashes); returns the files whose mode changed. Databases made before hallq
        created them owner-only are tightened by ``hallq init``."""
        if self.sqlite_file is None:
            return []
        changed = []
        for path in (self.sqlite_file, *(Path(f"{self.sqlite_file}{end}") for end in SQLITE_COMPANIONS)):
            with suppress(FileNotFoundError):
                if path.stat().st_mode & 0o077:
                    path.chmod(0o600)
                    changed.append(path)
        return changed

    def create_schema(self) -> None:
        """Bring the database to the newest schema (server/migrations), in one transaction, at every start: a new
        database gets it at once, an older hallq's database the revisions it lacks, keeping its rows."""
        with self.engine.begin() as connection:
            if self.is_sqlite:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            else:  # two processes starting at once (hallq init, the server) migrate one by one
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            migrations.upgrade(connection)

    def revision(self) -> str | None:
        """The schema revision the database is at (server/migrations/versions), None before create_schema."""
        with self._one_statement.connect() as connection:
            return migrations.revision(connection)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One writing transaction: committed on success, rolled back on any exception."""
        with self._writer() as session, session.begin():
            yield session

    @contextmanager
    def write_then(self, after: Callable[[], None]) -> Iterator[Session]:
        """One writing transaction, then ``after()`` (its events published), then the commit on disk.

        SQLite's commit otherwise waits for the disk (synchronous=FULL: 0.5–1 ms on this VM, more on a hall PC's
        eMMC), and the screens with it. Here the transaction commits unsynced, ``after`` runs (the call goes out),
        and the WAL is synced before this returns, so before the clerk is answered, as SQLite's FULL would have.
        A power cut between the two loses the call as if it had never been made, though the screens showed it;
        a crash of the process loses nothing (the WAL is in the OS's hands). PostgreSQL: an ordinary commit, then
        ``after()``. Nothing runs after a failed transaction.
        """
        if self._unsynced_writer is None:
            with self.write() as session:
                yield session
            after()
            return
        with self._unsynced_writer() as session, session.begin():
            yield session
        try:
            after()
        finally:
            self._sync_wal()

    def _sync_wal(self) -> None:
        """The WAL on disk, as SQLite syncs it at a FULL commit (the file's data, through a descriptor of ours)."""
        try:
            descriptor = os.open(f"{self.sqlite_file}-wal", os.O_RDONLY)
        except FileNotFoundError:  # checkpointed and removed by the last connection's close: synced by then
            return
        try:
            _datasync(descriptor)
        finally:
            os.close(descriptor)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._reader() as session, session.begin():
            yield session

    def first(self, statement: Executable, parameters: dict[str, Any]) -> Row[Any] | None:
        """The first row of one SELECT, outside a transaction: a single statement reads a consistent state by
        itself, and the BEGIN/COMMIT around it cost more than the lookup (done on every request)."""
        with self._one_statement.connect() as connection:
            return connection.execute(statement, parameters).first()

    def dispose(self) -> None:
        self.engine.dispose()
        if self._unsynced is not None:
            self._unsynced.dispose()


def private_file(path: Path) -> None:
    """Create ``path`` empty and readable by its owner only, unless it exists (its mode is then left alone) or its
    folder does not (SQLite then says so when it connects)."""
    with suppress(FileExistsError, FileNotFoundError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _sessions(engine: Engine, begin: str | None) -> sessionmaker[Session]:
    """Sessions whose transactions start with ``begin`` at their first statement (SQLite: the driver, set to
    autocommit, sends none; COMMIT and ROLLBACK are its own). None: the driver begins by itself (PostgreSQL)."""
    sessions = sessionmaker(engine, expire_on_commit=False)
    if begin is not None:
        event.listen(sessions, "after_begin",
                     lambda _session, _transaction, connection: connection.exec_driver_sql(begin))
    return sessions


def write_private(path: Path, data: bytes) -> None:
    """An instance file owner-only, under a hidden name first, synced, then renamed: a file under its own name is
    whole (an archive, the district position)."""
    hidden = path.with_name(f".{path.name}.part")
    descriptor = os.open(hidden, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(hidden, path)


#: fdatasync where the OS has it (Linux), fsync elsewhere
_datasync = getattr(os, "fdatasync", os.fsync)


def _sqlite_engine(url: str, synchronous: str = "FULL") -> Engine:
    """``synchronous``: FULL (a commit waits for the disk: a ticket the kiosk was answered for survives power loss)
    or NORMAL (``Storage.write_then``'s connections, synced by it)."""
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                           pool_size=10, max_overflow=20)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # the sessions begin (_sessions)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return engine
