"""CI state of the hotfix PR's head.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hotfixes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ci_state", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("ci_detail", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hotfixes", schema=None) as batch_op:
        batch_op.drop_column("ci_detail")
        batch_op.drop_column("ci_state")
