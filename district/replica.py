"""Each hall's replica at the district: the hall's own tables, in a PostgreSQL schema of their own, made and
upgraded by the hall's own migrations (server/migrations), so a later hallq's schema change reaches the
replicas the same way it reaches the halls, and server/stats.py reads a replica exactly as it reads a hall.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from server import migrations


def replica_schema(code: str) -> str:
    """The schema of a hall's replica (a hall code is lower-case letters, digits, - and _)."""
    return f"hall_{code}"


def _quoted(code: str) -> str:
    return '"' + replica_schema(code).replace('"', '""') + '"'


def create_replica(engine: Engine, code: str) -> None:
    """Make the hall's schema if it is new, and bring its tables to this hallq's schema revision. The migrations
    run on a connection of their own whose search_path is the replica's schema: they (and Alembic's reading of
    the tables there) see that schema as the database's default."""
    with engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {_quoted(code)}"))
    url = make_url(engine.url.render_as_string(hide_password=False))
    own = create_engine(url, poolclass=NullPool, connect_args={"options": f"-c search_path={_quoted(code)}"})
    try:
        with own.begin() as connection:
            migrations.upgrade(connection)
    finally:
        own.dispose()


def search_path(session: Session, code: str) -> None:
    """Point the session's transaction at the hall's replica (the hall's models name no schema)."""
    session.execute(text(f"SET LOCAL search_path TO {_quoted(code)}"))


class ReplicaStorage:
    """A hall's replica read and written like the hall's own server/db.py Storage, on the district's engine."""

    def __init__(self, engine: Engine, code: str):
        self.code = code
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            search_path(session, self.code)
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            session.execute(text("SET TRANSACTION READ ONLY"))
            search_path(session, self.code)
            yield session
