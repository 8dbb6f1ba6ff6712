"""`hallq backup` and `hallq restore`: one consistent file of the whole hall, taken while it serves.

SQLite: the online backup API copies the database in one read transaction, so the file is the state at one
instant even while kiosks keep issuing (WAL lets them write meanwhile). PostgreSQL: `pg_dump --format=custom`.
A backup is written under a hidden name and renamed once complete and checked, so a half-written file never looks
like a backup; only files named like a backup (hallq-YYYYmmdd-HHMMSS.db / .dump) are ever rotated away.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from contextlib import closing, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from server.db import SQLITE_COMPANIONS, Storage, private_file

#: backups kept by default: two weeks of daily ones
KEEP = 14
BACKUP_NAME = re.compile(r"hallq-\d{8}-\d{6}\.(db|dump)")
_SQLITE_MAGIC = b"SQLite format 3\x00"
_DUMP_MAGIC = b"PGDMP"


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message says why, in Chinese and English."""


@dataclass(frozen=True)
class Made:
    path: Path
    removed: list[Path] = field(default_factory=list)

    def text(self) -> str:
        gone = "".join(f"\nremoved old backup {path.name}" for path in self.removed)
        return f"backup written: {self.path} ({self.path.stat().st_size} bytes){gone}"


def backup(url: str, folder: Path, now: datetime, keep: int = KEEP) -> Made:
    """Write one backup of the database at ``url`` into ``folder`` (made owner-only), named by ``now`` (the hall's
    local time), then delete all but the newest ``keep`` backups there."""
    if keep < 1:
        raise BackupError("--keep 至少为 1 (--keep must be 1 or more)")
    database = make_url(url)
    sqlite = database.get_backend_name() == "sqlite"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = folder / f"hallq-{now:%Y%m%d-%H%M%S}.{'db' if sqlite else 'dump'}"
    if target.exists():
        raise BackupError(f"备份文件已存在 (a backup of this second exists): {target}")
    part = folder / f".{target.name}.part"
    private_file(part)
    try:
        if sqlite:
            _copy_sqlite(_sqlite_file(database), part)
        else:
            _dump_postgresql(database, part)
        _fsync(part)
        part.replace(target)
    finally:
        part.unlink(missing_ok=True)
    _fsync(folder)
    return Made(target, _rotate(folder, keep))


def restore(file: Path, url: str, force: bool = False) -> str:
    """Bring the stopped hall's database at ``url`` back to the backup ``file``; an older hallq's backup is
    upgraded to this version's schema. Returns what was done."""
    if not file.is_file():
        raise BackupError(f"找不到备份文件 (no such backup file): {file}")
    database = make_url(url)
    if database.get_backend_name() == "sqlite":
        _restore_sqlite(file, _sqlite_file(database), force)
    else:
        _restore_postgresql(file, database, force)
    storage = Storage(url)
    try:
        storage.create_schema()  # PostgreSQL: an older hallq's dump is upgraded here (SQLite's copy already was)
        revision = storage.revision()
    finally:
        storage.dispose()
    return f"restored {file} into {database.render_as_string(hide_password=True)} (schema revision {revision})"


def _sqlite_file(database: URL) -> Path:
    if not database.database or database.database == ":memory:":
        raise BackupError("内存数据库无法备份 (an in-memory database cannot be backed up or restored)")
    return Path(database.database)


def _copy_sqlite(source: Path, part: Path) -> None:
    """The whole database in one step: a stepwise copy restarts whenever the serving hall writes, so under a
    steady stream of tickets it might never end."""
    if not source.is_file():
        raise BackupError(f"找不到数据库 (no database at) {source}: 请先运行 hallq init (run hallq init first)")
    with closing(sqlite3.connect(source, timeout=30)) as reading, closing(sqlite3.connect(part)) as copy:
        reading.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        _check_sqlite(copy, part)


def _check_sqlite(connection: sqlite3.Connection, file: Path) -> None:
    try:
        result = [row[0] for row in connection.execute("PRAGMA integrity_check")]
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"备份文件已损坏 (the backup is corrupt): {file}: {exc}") from None
    if result != ["ok"]:
        raise BackupError(f"备份文件已损坏 (the backup is corrupt): {file}: {'; '.join(result[:3])}")
    if "tickets" not in tables:
        raise BackupError(f"不是 hallq 的数据库 (not a hallq database): {file}")


def _restore_sqlite(file: Path, target: Path, force: bool) -> None:
    """Check and upgrade a copy beside the target, then swap it in with one rename: the hall's database is
    either untouched or the backup, never half of each."""
    if not _starts_with(file, _SQLITE_MAGIC):
        raise BackupError(f"不是 SQLite 备份 (not an SQLite backup; the hall uses SQLite): {file}")
    if target.exists():
        _refuse_if_served(target)
        if not force:
            raise BackupError(f"数据库已存在 (the database exists): {target}; 用 --force 覆盖 (--force replaces it)")
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    part = target.with_name(f".{target.name}.restoring")
    _remove_sqlite(part)
    private_file(part)
    try:
        with open(file, "rb") as source, open(part, "wb") as copy:
            shutil.copyfileobj(source, copy)
        with closing(sqlite3.connect(part)) as connection:
            _check_sqlite(connection, file)
        upgraded = Storage(f"sqlite:///{part}")
        try:
            upgraded.create_schema()
        finally:
            upgraded.dispose()
        _fsync(part)
        for end in SQLITE_COMPANIONS:  # the old database's -wal would otherwise be replayed onto the backup
            Path(f"{target}{end}").unlink(missing_ok=True)
        part.replace(target)
    finally:
        _remove_sqlite(part)
    _fsync(target.parent)


def _refuse_if_served(target: Path) -> None:
    """A serving hall keeps its connections open; an exclusive lock is then refused at once. Restoring under it
    would be lost: it goes on writing to the file it has open."""
    with closing(sqlite3.connect(target, timeout=0, isolation_level=None)) as probe:
        try:
            probe.execute("PRAGMA locking_mode=EXCLUSIVE")
            probe.execute("BEGIN EXCLUSIVE")
            probe.execute("SELECT count(*) FROM sqlite_master").fetchone()
            probe.execute("COMMIT")
        except sqlite3.OperationalError:
            raise BackupError(f"数据库正在使用 (the database is in use): {target}: "
                              "请先停止 hallq run (stop hallq run first)") from None


def _remove_sqlite(path: Path) -> None:
    for name in (str(path), *(f"{path}{end}" for end in SQLITE_COMPANIONS)):
        Path(name).unlink(missing_ok=True)


def _dump_postgresql(database: URL, part: Path) -> None:
    with open(part, "wb") as out:
        _pg("pg_dump", database, "--format=custom", stdout=out)


def _restore_postgresql(file: Path, database: URL, force: bool) -> None:
    if not _starts_with(file, _DUMP_MAGIC):
        raise BackupError(f"不是 PostgreSQL 备份 (not a pg_dump custom-format backup; the hall uses PostgreSQL): "
                          f"{file}")
    try:
        _pg("pg_restore", None, "--list", str(file), stdout=subprocess.DEVNULL)
    except BackupError as exc:
        raise BackupError(f"备份文件已损坏 (the backup is corrupt): {file}: {exc}") from None
    storage = Storage(database.render_as_string(hide_password=False))
    try:
        with storage.engine.connect() as connection:
            others = connection.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                             "current_database() AND pid <> pg_backend_pid()")).scalar_one()
            tables = connection.execute(text("SELECT to_regclass('tickets') IS NOT NULL")).scalar_one()
    finally:
        storage.dispose()
    if others:
        raise BackupError(f"数据库正在使用 (the database is in use: {others} other connections): "
                          "请先停止 hallq run (stop hallq run first)")
    if tables and not force:
        raise BackupError("数据库已有数据 (the database holds a hall); 用 --force 覆盖 (--force replaces it)")
    _pg("pg_restore", database, "--clean", "--if-exists", "--single-transaction", "--no-owner", "--no-privileges",
        str(file), stdout=subprocess.DEVNULL)


def _pg(program: str, database: URL | None, *args: str, stdout: int | object) -> None:
    """Run a PostgreSQL client program on ``database``; the password goes in PGPASSWORD, out of the process list."""
    binary = shutil.which(program)
    if binary is None:
        raise BackupError(f"找不到 {program}：请安装 postgresql-client (apt-get install postgresql-client) "
                          f"({program} not found: install the postgresql-client package)")
    env = dict(os.environ)
    command = [binary, *args]
    if database is not None:
        if database.password:
            env["PGPASSWORD"] = str(database.password)
        libpq = database.set(drivername="postgresql", password=None)
        command.insert(1, f"--dbname={libpq.render_as_string(hide_password=False)}")
    result = subprocess.run(command, stdout=stdout, stderr=subprocess.PIPE, text=False, env=env, check=False)
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip()
        raise BackupError(f"{program} 失败 ({program} failed): {message}")


def _starts_with(file: Path, magic: bytes) -> bool:
    with open(file, "rb") as head:
        return head.read(len(magic)) == magic


def _rotate(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups in ``folder``: only files named like hallq's own."""
    backups = sorted(path for path in folder.iterdir() if BACKUP_NAME.fullmatch(path.name) and path.is_file())
    removed = backups[:-keep]
    for path in removed:
        path.unlink()
    return removed


def _fsync(path: Path) -> None:
    """A backup is meant to survive a power cut taken right after it was reported written."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        with suppress(OSError):  # some file systems refuse fsync on a folder
            os.fsync(descriptor)
    finally:
        os.close(descriptor)
