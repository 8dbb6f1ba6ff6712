"""The schema's history as Alembic revisions (versions/). They ship inside the package, so an installed hall
upgrades itself: Storage.create_schema brings the database to the newest revision at every start.

A database already at the newest revision (every start but the first after an upgrade) is recognised with one
plain query, without importing Alembic: with Mako and Pygments it would stay in every server process's memory
(~10 MB) for nothing."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text

from server.models import Base

if TYPE_CHECKING:
    from alembic.config import Config

#: hallq 0.1's schema (commit 64c408b), which its `Base.metadata.create_all` made without an alembic_version table
BASELINE = "0001"
#: the newest revision: each file of versions/ is named after its revision, "0006_flat_day.py" (tests/unit/
#: test_migrations.py holds this to Alembic's own head)
HEAD = max(path.name.partition("_")[0] for path in (Path(__file__).parent / "versions").glob("[0-9]*_*.py"))
#: Alembic's table of the database's revision
VERSION_TABLE = "alembic_version"


class NewerDatabase(RuntimeError):
    """The database was upgraded by a newer hallq: this one does not know its schema and must not write to it."""

    def __init__(self, revision: str | None):
        super().__init__(f"数据库已由更新版本的 hallq 升级（结构版本 {revision}），本版本无法使用："
                         f"请安装该版本，或恢复升级前的备份 (database schema revision {revision} is newer than "
                         "this hallq)")


def alembic_config(connection: Connection) -> Config:
    """Alembic's settings without an alembic.ini: the revisions in this package, run on ``connection``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    config.attributes["connection"] = connection  # env.py migrates on it, inside the caller's transaction
    return config


def upgrade(connection: Connection) -> None:
    """Bring the database to the newest revision; at it already, nothing is done (and Alembic is not loaded)."""
    if revision(connection) != HEAD:
        _upgrade(connection)


def _upgrade(connection: Connection) -> None:
    """A database with tables but no alembic_version was made by hallq 0.1: it is first stamped at the baseline,
    whose tables it already has. A new database gets the models' tables in one go, stamped at the newest revision:
    the same schema (tests/unit/test_migrations.py proves it), made in a fraction of the time, which every test's
    database saves."""
    from alembic import command
    from alembic.script import ScriptDirectory

    config = alembic_config(connection)
    tables = set(inspect(connection).get_table_names())
    if VERSION_TABLE not in tables:
        if "tickets" not in tables:
            Base.metadata.create_all(connection)
            command.stamp(config, "head")
            return
        command.stamp(config, BASELINE)
    known = {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}
    if (current := revision(connection)) not in known:
        raise NewerDatabase(current)
    command.upgrade(config, "head")


def revision(connection: Connection) -> str | None:
    """The database's revision, None before it has one (Alembic's own reading, in plain SQL)."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    return connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one_or_none()
