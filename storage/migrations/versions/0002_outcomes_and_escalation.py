"""Overrides, early endings and escalation progress on hotfixes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hotfixes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("override_by", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("override_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("ended_by", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("end_reason", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("approval_requested_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("escalation_step", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("hotfixes", schema=None) as batch_op:
        batch_op.drop_column("escalation_step")
        batch_op.drop_column("approval_requested_at")
        batch_op.drop_column("end_reason")
        batch_op.drop_column("ended_by")
        batch_op.drop_column("override_reason")
        batch_op.drop_column("override_by")
