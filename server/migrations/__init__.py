"""The schema's history as Alembic revisions (versions/). They ship inside the package, so an installed hall
upgrades itself: Storage.create_schema brings the database to the newest revision at every start."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

from server.models import Base

#: hallq 0.1's schema (commit 64c408b), which its `Base.metadata.create_all` made without an alembic_version table
BASELINE = "0001"


class NewerDatabase(RuntimeError):
    """The database was upgraded by a newer hallq: this one does not know its schema and must not write to it."""

    def __init__(self, revision: str | None):
        super().__init__(f"数据库已由更新版本的 hallq 升级（结构版本 {revision}），本版本无法使用："
                         f"请安装该版本，或恢复升级前的备份 (database schema revision {revision} is newer than "
                         "this hallq)")


def alembic_config(connection: Connection) -> Config:
    """Alembic's settings without an alembic.ini: the revisions in this package, run on ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    config.attributes["connection"] = connection  # env.py migrates on it, inside the caller's transaction
    return config


def upgrade(connection: Connection) -> None:
    """Bring the database to the newest revision. A database with tables but no alembic_version was made by
    hallq 0.1: it is first stamped at the baseline, whose tables it already has. A new database gets the models'
    tables in one go, stamped at the newest revision: the same schema (tests/unit/test_migrations.py proves it),
    made in a fraction of the time, which every test's database saves."""
    config = alembic_config(connection)
    tables = set(inspect(connection).get_table_names())
    if "alembic_version" not in tables:
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
    return MigrationContext.configure(connection).get_current_revision()
