"""`hallq backup` / `hallq restore` in-process, on SQLite and PostgreSQL, and the database's file modes: one checked
file per backup, the newest N kept and nothing else touched, a bad or foreign file refused before the hall's
database is touched, and the database readable by its owner only."""

from __future__ import annotations

import os
import random
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from server.backup import BackupError, backup, restore
from server.cli import main
from server.db import Storage
from server.hall import Hall, Settings
from server.models import Ticket
from server.queue import QueueEngine
from tests.conftest import SHANGHAI, SMALL_HALL, scratch_postgres
from tests.old_hall import ROWS, head_revision, make_old_database, stored_rows

AT = datetime(2026, 12, 7, 2, 0, tzinfo=SHANGHAI)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of this test's own: a restore refuses while anyone else is connected, so connections another test
    left in the run's shared PostgreSQL database (until their engine is collected) must not count here."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hallq.db'}"
        return
    with scratch_postgres() as url:
        yield url


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def tickets(url: str) -> list[tuple[int, str, str]]:
    storage = Storage(url)
    try:
        with storage.read() as session:
            return [tuple(row) for row in session.execute(select(Ticket.id, Ticket.number, Ticket.status)
                                                          .order_by(Ticket.id))]
    finally:
        storage.dispose()


@pytest.fixture
def target(database_url: str, tmp_path: Path) -> Iterator[str]:
    """Where a backup is restored: a new database of the same kind."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored' / 'hallq.db'}"
        return
    with scratch_postgres() as url:
        yield url


@pytest.fixture
def umask() -> Iterator[None]:
    """The usual umask, under which files are world-readable unless made otherwise."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_backup_restored_into_a_new_database_has_every_ticket(engine: QueueEngine, storage: Storage,
                                                                database_url: str, target: str,
                                                                tmp_path: Path) -> None:
    engine.sign_in(1, "clerk1")
    for service in ("id-card", "hukou", "pension", "id-card"):
        engine.issue(service, None, "device:kiosk-1")
    engine.call_next(1, "clerk1")
    made = backup(database_url, tmp_path / "backups", AT)
    assert made.path.name == f"hallq-20261207-020000.{'db' if storage.is_sqlite else 'dump'}"
    assert (mode(made.path), mode(made.path.parent)) == (0o600, 0o700)
    assert [path.name for path in made.path.parent.iterdir()] == [made.path.name]  # no .part left behind
    engine.issue("pension", None, "device:kiosk-1")  # after the backup: not in it

    print(restore(made.path, target))
    assert tickets(target) == tickets(database_url)[:4]
    assert [status for _, _, status in tickets(target)] == ["called", "waiting", "waiting", "waiting"]


def test_only_the_newest_backups_are_kept_and_nothing_else_is_touched(storage: Storage, database_url: str,
                                                                      tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    others = ["notes.txt", "hallq-20200101-000000.db.bak", "hallq.db", "hallq-2020-01-01.db"]
    for name in others:
        (folder / name).write_text("not a backup")
    removed = []
    for day in range(5):
        removed += backup(database_url, folder, AT + timedelta(days=day), keep=3).removed
    names = [f"hallq-{AT + timedelta(days=day):%Y%m%d-%H%M%S}.{'db' if storage.is_sqlite else 'dump'}"
             for day in range(5)]
    assert [path.name for path in removed] == names[:2]
    assert sorted(path.name for path in folder.iterdir()) == sorted(others + names[2:])
    with pytest.raises(BackupError, match="--keep"):
        backup(database_url, folder, AT, keep=0)
    with pytest.raises(BackupError, match="已存在"):
        backup(database_url, folder, AT + timedelta(days=4))


@pytest.mark.parametrize("damage", ["truncated", "garbage", "not hallq's"])
def test_a_bad_backup_is_refused_and_the_hall_database_stays(engine: QueueEngine, storage: Storage,
                                                             database_url: str, tmp_path: Path, damage: str) -> None:
    engine.issue("id-card", None, "device:kiosk-1")
    good = backup(database_url, tmp_path / "backups", AT).path
    engine.issue("hukou", None, "device:kiosk-1")
    before = tickets(database_url)
    bad = tmp_path / good.name.replace("hallq-", "bad-")
    if damage == "truncated":
        bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif damage == "garbage":
        bad.write_bytes(good.read_bytes()[:16] + random.Random(7).randbytes(8192))  # the same garbage every run
    elif storage.is_sqlite:
        with closing(sqlite3.connect(bad)) as other:
            other.execute("CREATE TABLE notes (x)")
    else:
        pytest.skip("a foreign pg_dump is not told apart: the hall's own tables are made beside its tables")
    storage.dispose()  # the hall stopped
    with pytest.raises(BackupError, match=r"已损坏|不是 hallq|pg_restore 失败"):
        restore(bad, database_url, force=True)
    assert tickets(database_url) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(["backups", bad.name] + (
        ["hallq.db"] if storage.is_sqlite else []))


def test_restore_refuses_a_missing_file_a_served_database_and_an_existing_one_without_force(
        storage: Storage, database_url: str, tmp_path: Path) -> None:
    made = backup(database_url, tmp_path / "backups", AT).path
    with pytest.raises(BackupError, match="找不到备份文件"):
        restore(tmp_path / "nothing.db", database_url)
    storage.revision()  # the serving hall: its pooled connection stays open
    with pytest.raises(BackupError, match="正在使用"):
        restore(made, database_url, force=True)
    storage.dispose()  # the hall stopped
    with pytest.raises(BackupError, match="--force"):
        restore(made, database_url)
    assert "restored" in restore(made, database_url, force=True)
    wrong_kind = tmp_path / ("x.dump" if storage.is_sqlite else "x.db")
    wrong_kind.write_bytes(b"PGDMP" if storage.is_sqlite else b"SQLite format 3\x00")
    with pytest.raises(BackupError, match=r"不是 (SQLite|PostgreSQL) 备份"):
        restore(wrong_kind, database_url, force=True)


def test_an_older_hallq_backup_is_upgraded_on_restore(database_url: str, target: str, tmp_path: Path) -> None:
    make_old_database(database_url)
    made = backup(database_url, tmp_path / "backups", AT).path
    assert restore(made, target).endswith(f"(schema revision {head_revision()})")
    assert stored_rows(target) == ROWS


def test_without_pg_dump_the_error_names_the_package(postgres_database: str, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BackupError, match="postgresql-client"):
        backup(postgres_database, tmp_path / "backups", AT)


def test_the_database_and_its_wal_are_made_owner_only(tmp_path: Path, umask: None) -> None:
    config = tmp_path / "hall.toml"
    config.write_text(SMALL_HALL, encoding="utf-8")
    hall = Hall.open(Settings.resolve(config, tmp_path / "instance"))
    hall.engine.issue("id-card", None, "device:kiosk-1")
    database = tmp_path / "instance" / "hallq.db"
    files = [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
    assert [mode(path) for path in [tmp_path / "instance", *files]] == [0o700, 0o600, 0o600, 0o600]
    hall.storage.dispose()


def test_hallq_init_tightens_an_older_install(tmp_path: Path, umask: None) -> None:
    config = tmp_path / "hall.toml"
    config.write_text(SMALL_HALL, encoding="utf-8")
    instance = tmp_path / "instance"
    instance.mkdir()
    with sqlite3.connect(instance / "hallq.db") as older:  # as hallq 0.1 left it: 0644 under umask 022
        older.execute("PRAGMA journal_mode=WAL")
    assert (mode(instance), mode(instance / "hallq.db")) == (0o755, 0o644)
    assert main(["init", "--config", str(config), "--instance", str(instance)]) == 0
    assert (mode(instance), mode(instance / "hallq.db")) == (0o700, 0o600)
