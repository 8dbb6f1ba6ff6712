"""The district schema's history as Alembic revisions (versions/), shipped in the package: `hallq district init`
and `run` bring schema ``district`` to the newest one, its version table in that schema too."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from district.models import SCHEMA

VERSION_TABLE = "alembic_version"


def upgrade(connection: Connection) -> None:
    """Bring schema ``district`` to the newest revision, inside the caller's transaction."""
    connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
