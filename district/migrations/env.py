"""Alembic's environment for the district schema: run on the connection district/migrations hands over, with the
version table in schema ``district`` (the halls' replicas keep theirs in their own schemas)."""

from alembic import context

from district.migrations import VERSION_TABLE
from district.models import SCHEMA, Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, version_table=VERSION_TABLE,
                  version_table_schema=SCHEMA, include_schemas=True)
with context.begin_transaction():
    context.run_migrations()
