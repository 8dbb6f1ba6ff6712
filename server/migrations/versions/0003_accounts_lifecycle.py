"""Accounts over the years: disabled staff, sessions that end, devices last seen and revoked

Existing accounts stay enabled with session_epoch 0 (the value every session signed before this version carries);
existing devices have not been seen yet and are not revoked.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("disabled_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("last_seen_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("revoked_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("hallq does not migrate backwards: restore the backup taken before upgrading")
