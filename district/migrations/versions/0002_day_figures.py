"""Each hall's business days as mergeable parts, for the side-by-side figures (district/figures.py)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

SCHEMA = "district"


def upgrade() -> None:
    op.create_table(
        "day_figures",
        sa.Column("hall", sa.String(32), sa.ForeignKey(f"{SCHEMA}.halls.code"), primary_key=True),
        sa.Column("business_date", sa.Date(), primary_key=True),
        sa.Column("computed_on", sa.Date(), nullable=False),
        sa.Column("issued", sa.Integer(), nullable=False),
        sa.Column("served", sa.Integer(), nullable=False),
        sa.Column("waits", sa.JSON(), nullable=False),
        sa.Column("ratings", sa.JSON(), nullable=False),
        sa.Column("promised", sa.JSON(), nullable=False),
        sa.Column("complaints_received", sa.Integer(), nullable=False),
        sa.Column("complaints_upheld", sa.Integer(), nullable=False),
        sa.Column("extended_sessions", sa.Integer(), nullable=False),
        sa.Column("extended_served", sa.Integer(), nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    raise NotImplementedError("hallq does not migrate backwards: restore the backup taken before upgrading")
