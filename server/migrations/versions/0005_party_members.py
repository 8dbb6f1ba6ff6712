"""党员 on staff accounts (场所设施标准 2.1.5: 党员服务岗, 党员“亮身份”): the window screen shows the badge by the
clerk's name. Existing accounts are not party members until the admin says so.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("party_member", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("party_member")
