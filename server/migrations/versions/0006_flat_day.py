"""A request costs the same late in a big day (issue 20): 今日已办 is counted per window and day as each 办结 commits
(window_days, filled here from the tickets already finished), and two indexes let the screens read the day's latest
finished tickets and latest calls from the end instead of walking the day or the history.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "window_days",
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("window_id", sa.Integer(), nullable=False),
        sa.Column("served", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("business_date", "window_id"),
    )
    op.execute("INSERT INTO window_days (business_date, window_id, served) "
               "SELECT business_date, window_id, count(*) FROM tickets "
               "WHERE status = 'done' AND window_id IS NOT NULL GROUP BY business_date, window_id")
    finished = sa.text("finished_at IS NOT NULL")
    op.create_index("ix_tickets_finished", "tickets", ["business_date", "finished_at"], sqlite_where=finished,
                    postgresql_where=finished)
    op.create_index("ix_events_action", "ticket_events", ["action", "at", "id"])


def downgrade() -> None:
    op.drop_index("ix_events_action", table_name="ticket_events")
    op.drop_index("ix_tickets_finished", table_name="tickets")
    op.drop_table("window_days")
