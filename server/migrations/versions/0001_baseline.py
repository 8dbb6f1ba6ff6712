"""The baseline: hallq 0.1's schema

As hallq 0.1 (commit 64c408b) made it with `Base.metadata.create_all`: halls installed before revisions existed have
exactly these tables and are stamped here (server/migrations/__init__.py). UTCDateTime columns are plain DateTime in
the database. Frozen, as every revision: never edit one that has shipped, add the next.

Revision ID: 0001
Revises:
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table("daily_counters",
        sa.Column("service", sa.String(length=32), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("service", "business_date")
    )
    op.create_table("devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("token_hash")
    )
    op.create_table("duty_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.String(length=1000), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("logged_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id")
    )
    op.create_index("ix_duty_log_day", "duty_log", ["business_date", "at"], unique=False)
    op.create_table("enquiries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("who", sa.String(length=32), nullable=False),
        sa.Column("contact", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("answer", sa.String(length=1000), nullable=False),
        sa.Column("referred_to", sa.String(length=100), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id")
    )
    op.create_index("ix_enquiries_day", "enquiries", ["business_date", "at"], unique=False)
    op.create_table("extended_services",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("waiting_at_start", sa.Integer(), nullable=False),
        sa.Column("served", sa.Integer(), nullable=False),
        sa.Column("windows", sa.JSON(), nullable=False),
        sa.Column("clerks", sa.JSON(), nullable=False),
        sa.Column("anomalies", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("business_date")
    )
    op.create_table("staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=64), nullable=False),
        sa.Column("staff_no", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username")
    )
    op.create_table("tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=8), nullable=False),
        sa.Column("service", sa.String(length=32), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=True),
        sa.Column("queue_at", sa.DateTime(), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("called_at", sa.DateTime(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("window_id", sa.Integer(), nullable=True),
        sa.Column("target_window", sa.Integer(), nullable=True),
        sa.Column("recalls", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("transferred_from", sa.Integer(), nullable=True),
        sa.Column("track_token", sa.String(length=32), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["transferred_from"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("id")
    )
    op.create_index("ix_tickets_number", "tickets", ["business_date", "number"], unique=False)
    op.create_index("ix_tickets_queue", "tickets", ["business_date", "status", "service", "queue_at"], unique=False)
    op.create_index("ix_tickets_track", "tickets", ["track_token"], unique=False)
    op.create_index("ux_tickets_number", "tickets", ["business_date", "number"], unique=True,
                    sqlite_where=sa.text("transferred_from IS NULL"),
                    postgresql_where=sa.text("transferred_from IS NULL"))
    op.create_table("appointments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=6), nullable=False),
        sa.Column("service", sa.String(length=32), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("slot", sa.String(length=5), nullable=False),
        sa.Column("slot_end", sa.String(length=5), nullable=True),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("id_last6", sa.String(length=6), nullable=True),
        sa.Column("notes", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("assigned_to", sa.String(length=64), nullable=True),
        sa.Column("booked_by", sa.String(length=64), nullable=False),
        sa.Column("booked_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
    )
    op.create_index("ix_appointments_day", "appointments", ["business_date", "slot"], unique=False)
    op.create_index("ix_appointments_due", "appointments", ["status", "starts_at"], unique=False)
    op.create_index("ix_appointments_phone", "appointments", ["phone", "business_date"], unique=False)
    op.create_index("ux_appointments_active", "appointments", ["phone", "service", "business_date"], unique=True,
                    sqlite_where=sa.text("status IN ('booked', 'checked_in')"),
                    postgresql_where=sa.text("status IN ('booked', 'checked_in')"))
    op.create_table("cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("window_id", sa.Integer(), nullable=False),
        sa.Column("clerk", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("materials", sa.JSON(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
    )
    op.create_index("ix_cases_open", "cases", ["type", "closed_at"], unique=False)
    op.create_table("evaluations",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("window_id", sa.Integer(), nullable=False),
        sa.Column("clerk", sa.String(length=64), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=24), nullable=True),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("comment", sa.String(length=200), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("rated_at", sa.DateTime(), nullable=True),
        sa.Column("followup_due", sa.Date(), nullable=True),
        sa.Column("followup_closed_at", sa.DateTime(), nullable=True),
        sa.Column("followup_closed_by", sa.String(length=64), nullable=True),
        sa.Column("followup_note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("ticket_id")
    )
    op.create_index("ix_evaluations_followup", "evaluations", ["followup_due"], unique=False)
    op.create_index("ix_evaluations_state", "evaluations", ["state", "window_id"], unique=False)
    op.create_table("ticket_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("window_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("id")
    )
    op.create_index("ix_events_at", "ticket_events", ["at"], unique=False)
    op.create_index("ix_events_ticket", "ticket_events", ["ticket_id"], unique=False)
    op.create_table("window_states",
        sa.Column("window_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("clerk", sa.String(length=64), nullable=True),
        sa.Column("current_ticket_id", sa.Integer(), nullable=True),
        sa.Column("since", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["current_ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("window_id")
    )


def downgrade() -> None:
    raise NotImplementedError("hallq does not migrate backwards: restore the backup taken before upgrading")
