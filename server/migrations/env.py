"""Alembic's environment. At run time Storage.create_schema hands over its connection (config.attributes) and the
revisions run inside its transaction; a developer's `alembic revision --autogenerate` (alembic.ini at the repository
root) connects to alembic.ini's database instead."""

from alembic import context
from sqlalchemy import Connection, engine_from_config, pool

from server.models import Base


def _migrate(connection: Connection) -> None:
    # SQLite cannot ALTER a constraint: batch mode rebuilds the table and copies its rows
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


given = context.config.attributes.get("connection")
if given is not None:
    _migrate(given)
else:
    engine = engine_from_config(context.config.get_section(context.config.config_ini_section, {}),
                                prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.begin() as connection:
        _migrate(connection)
