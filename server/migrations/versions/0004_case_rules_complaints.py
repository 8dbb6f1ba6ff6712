"""Cases as the manual asks (time points, 承诺时限 and extensions, the 报批件's two stages, 补齐, 复核) and the
complaint register (投诉)

Existing cases: ``chosen`` is read back from their ``case_recorded`` event (a default 即办件 said so in its detail);
an existing 报批件's date was the 3-working-day 上报 limit, so it becomes ``forward_due``, and a closed one's
``closed_at`` (the reply received) becomes ``approved_at`` — it stays closed: whether and when the resident was
answered was not recorded. Their 承诺件 keep their date, with no ``limit_due``: they are not counted as extended.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"

_MOMENTS = ("checked", "decided", "delivered", "supplemented", "forwarded", "approved", "reviewed")


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("chosen", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("limit_due", sa.Date(), nullable=True))
        batch.add_column(sa.Column("extensions", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("extension_reason", sa.String(length=200), nullable=True))
        for moment in _MOMENTS:
            batch.add_column(sa.Column(f"{moment}_at", sa.DateTime(), nullable=True))
            if moment != "reviewed":
                batch.add_column(sa.Column(f"{moment}_by", sa.String(length=64), nullable=True))
            if moment == "forwarded":
                batch.add_column(sa.Column("forward_due", sa.Date(), nullable=True))
            if moment == "approved":
                batch.add_column(sa.Column("answer_due", sa.Date(), nullable=True))
        batch.add_column(sa.Column("review_requested_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("review_due", sa.Date(), nullable=True))
        batch.add_column(sa.Column("reviewed_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("review_result", sa.String(length=200), nullable=True))
    _carry_over_cases()
    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("window_id", sa.Integer(), nullable=True),
        sa.Column("clerk", sa.String(length=64), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=32), nullable=False, server_default=""),
        sa.Column("contact", sa.String(length=32), nullable=False, server_default=""),
        sa.Column("request", sa.String(length=1000), nullable=False),
        sa.Column("handler", sa.String(length=64), nullable=True),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("answer", sa.String(length=1000), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("answered_by", sa.String(length=64), nullable=True),
        sa.Column("upheld", sa.Boolean(), nullable=True),
        sa.Column("accepted", sa.Boolean(), nullable=True),
        sa.Column("registered_by", sa.String(length=64), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id"),
    )
    op.create_index("ix_complaints_day", "complaints", ["business_date"])
    op.create_index("ix_complaints_open", "complaints", ["closed_at", "due"])


def _carry_over_cases() -> None:
    connection = op.get_bind()
    cases = sa.table("cases", sa.column("id", sa.Integer()), sa.column("ticket_id", sa.Integer()),
                     sa.column("type", sa.String()), sa.column("due", sa.Date()),
                     sa.column("closed_at", sa.DateTime()), sa.column("chosen", sa.Boolean()),
                     sa.column("forward_due", sa.Date()), sa.column("approved_at", sa.DateTime()))
    events = sa.table("ticket_events", sa.column("ticket_id", sa.Integer()), sa.column("action", sa.String()),
                      sa.column("detail", sa.JSON()))
    defaults = []
    for ticket_id, detail in connection.execute(sa.select(events.c.ticket_id, events.c.detail)
                                                .where(events.c.action == "case_recorded")):
        detail = json.loads(detail) if isinstance(detail, str) else detail
        if isinstance(detail, dict) and detail.get("default"):
            defaults.append(ticket_id)
    for start in range(0, len(defaults), 500):
        connection.execute(cases.update().where(cases.c.ticket_id.in_(defaults[start:start + 500]))
                           .values(chosen=False))
    connection.execute(cases.update().where(cases.c.type == "approval")
                       .values(forward_due=cases.c.due, due=None, approved_at=cases.c.closed_at))


def downgrade() -> None:
    raise NotImplementedError("hallq does not migrate backwards: restore the backup taken before upgrading")
