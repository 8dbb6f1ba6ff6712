"""The district's tables: its halls, their tokens, its admins, its secrets

Revision ID: 0001
Revises:
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None

SCHEMA = "district"


def upgrade() -> None:
    op.create_table(
        "halls",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("through", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("as_of", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_seen_at", sa.DateTime(), nullable=True),
        sa.Column("config", sa.JSON(), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "hall_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("hall", sa.String(32), sa.ForeignKey(f"{SCHEMA}.halls.code"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        schema=SCHEMA,
    )
    op.create_index("ix_district_hall_tokens_hall", "hall_tokens", ["hall"], schema=SCHEMA)
    op.create_table(
        "district_users",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("display_name", sa.String(64), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("disabled_at", sa.DateTime(), nullable=True),
        sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0"),
        schema=SCHEMA,
    )
    op.create_table(
        "secrets",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.String(128), nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    raise NotImplementedError("hallq does not migrate backwards: restore the backup taken before upgrading")
