"""延时服务 per session: several records a day, each named by its session

A record after every session's end (上午, 下午), the midday break included, instead of one per day.

Existing records keep every value; their `session` stays NULL: hallq 0.1 kept one record per day, started at the
day's closing time, and which session that closed is not stored anywhere (the calendar may have changed since).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

#: the name of 0001's UNIQUE (business_date): PostgreSQL named it; SQLite left it unnamed, and batch mode names it
#: by this convention when it reflects the table it rebuilds
_UNIQUE_DAY = {"postgresql": "extended_services_business_date_key", "sqlite": "uq_extended_services_business_date"}


def upgrade() -> None:
    name = _UNIQUE_DAY[op.get_bind().dialect.name]
    with op.batch_alter_table("extended_services",
                              naming_convention={"uq": "uq_%(table_name)s_%(column_0_name)s"}) as batch:
        batch.drop_constraint(name, type_="unique")
        batch.add_column(sa.Column("session", sa.String(), nullable=True))
        batch.create_index("ux_extended_session", ["business_date", "started_at"], unique=True)


def downgrade() -> None:
    raise NotImplementedError("hallq does not migrate backwards: restore the backup taken before upgrading")
